#!/usr/bin/env bash
# mnv3's CPU backend vs ONNX Runtime, side by side on the same random weights: in one JVM, or with
# --processes each engine in a fresh JVM of its own per round.
# Usage: benchmarks/compare-ort.sh [--isa native,avx2] [--models large,small] [--batches 1,8,32] [--threads 2] [--rounds 5] [--seconds 2] [--processes] [--profile | --profile-batch N] [--report DIR]
# Prints each round's ratio ours/ORT, both engines' images per second and our heap KB per run (MBs mean a JVM whose
# C2 left some kernel running the Vector API's Java fallback), and a table of their median, min and max,
# with the CPU model and vector ISA and how long each engine's warm-up took. Each engine warms up until steady, as ./mnv3 bench does by default.
# In one JVM the two alternate in rounds of --seconds each; --processes starts, every round, one JVM for ours and
# one for ORT (the order alternating), each warmed up afresh, so neither's JIT, heap or threads touch the other's.
# --isa avx2 runs our side with -XX:UseAVX=2 (C2 emits AVX2 at most, 256-bit vectors) against ORT at its own
# best ISA: a conservative AVX2 figure on an AVX-512 machine. Each ISA is its own JVM and its own table.
# With --threads 1 also the ratio of CPU time per image (robust when other processes load the machine).
# --profile compares every layer with ORT's own profiler (in one JVM: not with --processes).
# --report DIR writes DIR/results.json, results.csv and report.html (charts), as ./mnv3 bench --report does.
# MNV3_JAVA_OPTS adds JVM options, e.g. -Dmnv3.cpu.vectorBits=256 to run our kernels at 256 bits.
set -euo pipefail
if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
    sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
    exit 0
fi
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
isas=native
args=()
while (($#)); do
    case "$1" in
        --isa) [[ $# -ge 2 ]] || { echo "--isa needs a value: native, avx2 or both, comma-separated" >&2; exit 2; }
               isas="$2"; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
IFS=, read -ra isa_list <<< "$isas"
for isa in "${isa_list[@]}"; do
    [[ "$isa" == native || "$isa" == avx2 ]] || { echo "--isa takes native and avx2, got '$isa'" >&2; exit 2; }
done
report=""
for ((i = 0; i < ${#args[@]}; i++)); do
    if [[ "${args[i]}" == --report ]]; then report="${args[i + 1]:-}"; fi
done
if [[ -n "$report" && ${#isa_list[@]} -gt 1 ]]; then
    echo "--report writes one ISA's results: give --isa native or --isa avx2 with it" >&2
    exit 2
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
for isa in "${isa_list[@]}"; do
    isa_opts=()
    [[ "$isa" == avx2 ]] && isa_opts=(-XX:UseAVX=2)
    "${java[@]}" ${isa_opts[@]+"${isa_opts[@]}"} -cp "$jar" dev.mnv3.bench.OrtComparison --onnx-dir "$work" ${args[@]+"${args[@]}"}
done
# the page: drawn by mnv3 from the results.json the comparison wrote
if [[ -n "$report" ]]; then ./mnv3 bench --report "$report" --from "$report/results.json"; fi
