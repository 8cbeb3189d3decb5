#!/usr/bin/env bash
# mnv3 classify over a directory of JPEGs (decoding included) against mnv3 bench for the same
# model, backend and batch, alternating the two, then where classify's CPU time goes.
# --jpeg imageio,turbo runs classify once per JPEG decoder (-Dmnv3.jpeg) in each round, and
# PipelineCost measures each in turn with their ratio.
# The images are made once with make_images.py (outside the repository, /tmp by default).
# Usage: benchmarks/classify/run.sh [--images DIR] [--count 1000] [--models small,large] [--batch 8]
#                                   [--rounds 2] [--seconds 10] [--backend cpu] [--threads 0] [--decode-threads 0]
#                                   [--jpeg auto]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
images=/tmp/mnv3-classify-images count=1000 models=small,large batch=8 rounds=2 seconds=10 backend=cpu threads=0 decoders=0 jpeg=auto
while [[ $# -gt 0 ]]; do
    case "$1" in
        --images) images="$2" ;;
        --count) count="$2" ;;
        --models) models="$2" ;;
        --batch) batch="$2" ;;
        --rounds) rounds="$2" ;;
        --seconds) seconds="$2" ;;
        --backend) backend="$2" ;;
        --threads) threads="$2" ;;
        --decode-threads) decoders="$2" ;;
        --jpeg) jpeg="$2" ;;
        *) echo "unknown option $1 (see the usage at the top of $0)" >&2; exit 2 ;;
    esac
    shift 2
done
source tools/env.sh
source benchmarks/classify/images.sh
mnv3_setup
work="$(mktemp -d /tmp/mnv3-classify-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

list="$work/images"
bench_images "$images" "$count" "$list"

./mnv3 --version >/dev/null # builds the CLI when sources changed
jar=java/cli/target/mnv3.jar
java=("$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
# run [-Dprop=value ...] ARGS...: the CLI, with JVM system properties first
run() {
    local props=()
    while [[ "${1:-}" == -D* ]]; do props+=("$1"); shift; done
    "${java[@]}" "${props[@]}" -jar "$jar" "$@" 2> >(grep -v 'Using incubator modules' >&2)
}

bench_machine
echo
echo "| round | model | batch | jpeg | bench img/s | classify img/s (decode included) | classify / bench |"
echo "|---|---|---|---|---|---|---|"
for round in $(seq 1 "$rounds"); do
    for model in ${models//,/ }; do
        weights="$work/$model.safetensors"
        [[ -f "$weights" ]] || "${java[@]}" -cp "$jar" benchmarks/src/main/java/dev/mnv3/bench/WriteWeights.java "$model" "$weights"
        b=$(run bench --model "$model" --backend "$backend" --threads "$threads" --batch "$batch" --seconds "$seconds" \
            --warmup 2 --json | sed -n 's/.*"images_per_second":\([0-9.]*\).*/\1/p')
        for decoder in ${jpeg//,/ }; do
            c=$(run -Dmnv3.jpeg="$decoder" classify --model "$model" --backend "$backend" --threads "$threads" \
                --decode-threads "$decoders" --batch "$batch" --weights "$weights" --output "$work/results.jsonl" --no-progress \
                "$list" | sed -n 's/.* \([0-9.]*\) images\/s .*/\1/p')
            echo "| $round | $model | $batch | $decoder | $b | $c | $(awk -v c="$c" -v b="$b" 'BEGIN { printf "%.2f", c / b }') |"
        done
    done
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "where the CPU time goes (benchmarks/src/main/java/dev/mnv3/bench/PipelineCost.java, 300 images, 2 rounds after a warm-up):"
for model in ${models//,/ }; do
    "${java[@]}" -cp "$jar" benchmarks/src/main/java/dev/mnv3/bench/PipelineCost.java "$list" 300 "$model" "$batch" \
        "$threads" "$decoders" 2 "$jpeg" 2> >(grep -v 'Using incubator modules' >&2)
done
