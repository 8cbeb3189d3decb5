#!/usr/bin/env bash
# How fast mnv3 is from a fresh JVM (issue 32): `info`, `classify` of one JPEG, of 300 and of 1,200
# (Small, cpu, batch 8, --output), and the time until `serve` says it is ready, for each JVM
# option set given, alternating them round by round; then the first batches of a fresh model one
# by one (FirstBatches) for each. The images are made once with make_images.py (outside the repository).
# Usage: benchmarks/classify/first.sh [--images DIR] [--rounds 2] [OPTS ...]
#   each OPTS is one quoted set of JVM options, e.g. '' '-Dmnv3.cpu.warmStart=true' (default: both)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
images=/tmp/mnv3-classify-images rounds=2 sets=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --images) images="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        *) sets+=("$1"); shift ;;
    esac
done
[[ ${#sets[@]} -gt 0 ]] || sets=("" "-Dmnv3.cpu.warmStart=true")
source tools/env.sh
source benchmarks/classify/images.sh
mnv3_setup
work="$(mktemp -d /tmp/mnv3-first.XXXXXX)"
trap 'rm -rf "$work"' EXIT
bench_images "$images" 1200 "$work/1200"
mkdir -p "$work/1" "$work/300"
find "$work/1200" -name '*.jpg' | sort | head -n 1 | while read -r f; do ln -s "$(readlink "$f")" "$work/1/"; done
find "$work/1200" -name '*.jpg' | sort | head -n 300 | while read -r f; do ln -s "$(readlink "$f")" "$work/300/"; done

./mnv3 --version >/dev/null # builds the CLI when sources changed
jar=java/cli/target/mnv3.jar
weights="$work/small.safetensors"
"$JAVA_HOME/bin/java" -cp "$jar" benchmarks/src/main/java/dev/mnv3/bench/WriteWeights.java small "$weights"
java=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector)
# seconds: wall seconds of a command, its stdout in $work/out and stderr in $work/err
seconds() {
    local s e
    s=$(date +%s.%N)
    "$@" >"$work/out" 2>"$work/err" || { echo "failed: $* ($(tail -1 "$work/err"))" >&2; return 1; }
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }'
}
rate() { sed -n 's/.* \([0-9.]*\) images\/s .*/\1/p' "$work/out"; }
# ready OPTS...: seconds from the launch of serve until it says it is ready
ready() {
    local s e pid
    s=$(date +%s.%N)
    "${java[@]}" -Xmx2g "$@" -jar "$jar" serve --model small --weights "$weights" --host 127.0.0.1 --http-port 0 --grpc-port 0 --probe-port 0 \
        >"$work/serve" 2>&1 &
    pid=$!
    for _ in $(seq 1 1500); do grep -q "ready:" "$work/serve" && break; sleep 0.02; done
    e=$(date +%s.%N)
    kill -TERM "$pid"; wait "$pid" || true
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }'
}

bench_machine
echo
echo "| round | JVM options | info s | classify 1 s | 300: img/s | 1,200: img/s | serve ready s | classify 1 / info | 300 / 1,200 |"
echo "|---|---|---|---|---|---|---|---|---|"
for round in $(seq 1 "$rounds"); do
    for set in "${sets[@]}"; do
        read -ra opts <<< "$set"
        run=("${java[@]}" "${opts[@]}" -jar "$jar")
        i=$(seconds "${run[@]}" info --model small)
        c1=$(seconds "${run[@]}" classify --model small --weights "$weights" "$work/1")
        seconds "${run[@]}" classify --model small --weights "$weights" --no-progress --output "$work/r.jsonl" "$work/300" >/dev/null
        r300=$(rate)
        seconds "${run[@]}" classify --model small --weights "$weights" --no-progress --output "$work/r.jsonl" "$work/1200" >/dev/null
        r1200=$(rate)
        s=$(ready "${opts[@]}")
        echo "| $round | ${set:-(none)} | $i | $c1 | $r300 | $r1200 | $s | $(awk -v a="$c1" -v b="$i" 'BEGIN { printf "%.2f", a / b }') |" \
            "$(awk -v a="$r300" -v b="$r1200" 'BEGIN { printf "%.2f", a / b }') |"
    done
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "first batches of 8 at 224x224 from a fresh JVM, ms each (* ran the vector kernels):"
for set in "${sets[@]}"; do
    read -ra opts <<< "$set"
    echo "${set:-(none)}: $("${java[@]}" "${opts[@]}" -cp "$jar" benchmarks/src/main/java/dev/mnv3/bench/FirstBatches.java "$weights" 20 8 \
        2> >(grep -v 'Using incubator modules' >&2))"
done
