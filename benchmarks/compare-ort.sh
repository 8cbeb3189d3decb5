#!/usr/bin/env bash
# mnv3's CPU backend vs ONNX Runtime, side by side in one JVM, on the same random weights.
# Usage: benchmarks/compare-ort.sh [--models large,small] [--batches 1,8,32] [--threads 2] [--rounds 5] [--seconds 2] [--profile | --profile-batch N] [--report DIR]
# Prints each round's ratio ours/ORT and a table of their median, min and max, with the CPU model and vector ISA.
# With --threads 1 also the ratio of CPU time per image (robust when other processes load the machine).
# --report DIR writes DIR/results.json, results.csv and report.html (charts), as ./mnv3 bench --report does.
# MNV3_JAVA_OPTS adds JVM options, e.g. -Dmnv3.cpu.vectorBits=256 to run our kernels at 256 bits.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source tools/env.sh
mnv3_setup
work="$root/build/ort"
mkdir -p "$work"
jar="$root/benchmarks/target/benchmarks.jar"
if [[ ! -f "$jar" ]] || [[ -n "$(find java benchmarks/src -newer "$jar" -name '*.java' -print -quit)" ]]; then
    echo "building ..." >&2
    ./mvnw -q -B -DskipTests package -pl benchmarks -am >&2
fi
read -ra java_opts <<< "${MNV3_JAVA_OPTS:-}" # split as ./mnv3 splits it
java=("$JAVA_HOME/bin/java" "${java_opts[@]}" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
for model in large small; do
    if [[ ! -f "$work/$model.onnx" ]]; then
        echo "exporting $model to ONNX with the same weights ..." >&2
        "${java[@]}" -cp "$jar" dev.mnv3.bench.WriteWeights "$model" "$work/$model.safetensors"
        "$MNV3_PYTHON" benchmarks/export_onnx.py --model "$model" --weights "$work/$model.safetensors" --out "$work/$model.onnx" >&2
    fi
done
report=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    if [[ "${args[i]}" == --report ]]; then report="${args[i + 1]:-}"; fi
done
"${java[@]}" -cp "$jar" dev.mnv3.bench.OrtComparison --onnx-dir "$work" "$@"
# the page: drawn by mnv3 from the results.json the comparison wrote
if [[ -n "$report" ]]; then ./mnv3 bench --report "$report" --from "$report/results.json"; fi
