#!/usr/bin/env bash
# mnv3 batch (Spark local[2]) against mnv3 classify (one process) over the same directory of JPEGs,
# same model, backend, batch and weights, decoding included in both, alternating the two.
# Reports images/s of the whole command (JVM and Spark start-up included) and of the work alone
# (classify's own rate; batch's job after Spark started), and their ratios.
# The images are made once with benchmarks/classify/make_images.py (640x480 JPEGs, outside the repository).
# Usage: benchmarks/batch/run.sh [--images DIR] [--count 300] [--models small,large] [--batch 8] [--rounds 2]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
images=/tmp/mnv3-classify-images count=300 models=small,large batch=8 rounds=2
while [[ $# -gt 0 ]]; do
    case "$1" in
        --images) images="$2" ;;
        --count) count="$2" ;;
        --models) models="$2" ;;
        --batch) batch="$2" ;;
        --rounds) rounds="$2" ;;
        *) echo "unknown option $1 (see the usage at the top of $0)" >&2; exit 2 ;;
    esac
    shift 2
done
source tools/env.sh
source benchmarks/classify/images.sh
mnv3_setup
work="$(mktemp -d /tmp/mnv3-batch-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
list="$work/images"
bench_images "$images" "$count" "$list"
./mnv3 --version >/dev/null && ./mnv3 batch --version >/dev/null # builds both when sources changed
java=("$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector)

bench_machine
echo
echo "| round | model | images | classify img/s: command / work | batch local[2] img/s: command / job | batch / classify: command / work |"
echo "|---|---|---|---|---|---|"
now() { date +%s.%N; }
for round in $(seq 1 "$rounds"); do
    for model in ${models//,/ }; do
        weights="$work/$model.safetensors"
        [[ -f "$weights" ]] || "${java[@]}" -cp java/cli/target/mnv3.jar benchmarks/src/main/java/dev/mnv3/bench/WriteWeights.java "$model" "$weights" 2>/dev/null
        t0=$(now)
        c=$(./mnv3 classify --model "$model" --batch "$batch" --weights "$weights" --output "$work/c.jsonl" --no-progress "$list" \
            | sed -n 's/.* \([0-9.]*\) images\/s .*/\1/p')
        t1=$(now)
        rm -rf "$work/out"
        line=$(./mnv3 batch --model "$model" --batch "$batch" --weights "$weights" --input "$list" --output "$work/out" \
            --format parquet --master 'local[2]' --no-progress)
        t2=$(now)
        job=$(sed -n 's/.*the job alone \([0-9.]*\) s.*/\1/p' <<< "$line")
        awk -v r="$round" -v m="$model" -v n="$count" -v c="$c" -v tc="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" \
            -v tb="$(awk -v a="$t1" -v b="$t2" 'BEGIN{print b-a}')" -v j="$job" 'BEGIN {
            cc = n / tc; bc = n / tb; bj = n / j
            printf "| %d | %s | %d | %.1f / %.1f | %.1f / %.1f | %.2f / %.2f |\n", r, m, n, cc, c, bc, bj, bc / cc, bj / c }'
    done
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
