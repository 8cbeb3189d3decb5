#!/usr/bin/env bash
# The one-shot GPU check (DESIGN.md §4). Run on the GPU machine from the repository root, with
# .device/ from benchmarks/gpu/pack.sh beside it; finishes within 10 minutes:
#
#   kit        the jlink-ed JDK, the jars and the JUnit launcher are here
#   python     a python3 with torch + torchvision; its pip nvidia/* dirs go on LD_LIBRARY_PATH
#   gpu        the CUDA backend opens the GPU (the first step that needs one; stops the check if not)
#   reference  torchvision on the GPU makes the weights, inputs and expected outputs used below
#   junit      the GPU tests (kernels, cuDNN convs, whole network vs the CPU, torchvision parity)
#   crosscheck mnv3 crosscheck, Large and Small, CUDA against the CPU reference, same weights
#   parity     mnv3 run --backend cuda against torchvision's logits on the same weights and input
#   memcheck   compute-sanitizer --tool memcheck on a small inference
#   bench      throughput: mnv3 at each precision, with and without CUDA graphs, vs PyTorch eager
#              FP32, eager FP16 channels_last and torch.compile, batch 1/8/64/256; the table and
#              the goal ratios are printed last
#
# Every step has a timeout; a failed step is recorded and the check goes on. Exit status 0 only
# when every step passed. With $OUT set, the log, the summary and the reports are written there.
set -u

SELF=$(readlink -f "$0")
KIT=${MNV3_KIT:-.device}
export MNV3_CHECK_WORK=${MNV3_CHECK_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/mnv3-check.XXXXXX")}
WORK=$MNV3_CHECK_WORK

# Each step runs as `device-check.sh --step FUNCTION` under timeout(1), which cannot run shell
# functions; what the steps share is set up here, in the parent and in every step alike.
if [ -x "$KIT/jdk/bin/java" ]; then JAVA=$KIT/jdk/bin/java
elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then JAVA=$JAVA_HOME/bin/java
else JAVA=java; fi
JAVA_OPTS=(--enable-native-access=ALL-UNNAMED -Xmx8g)
LIBCP=$(ls "$KIT"/lib/mnv3-*.jar 2>/dev/null | tr '\n' ':')
TESTCP=$LIBCP$(ls "$KIT"/test/*.jar 2>/dev/null | tr '\n' ':')
MNV3=("$JAVA" "${JAVA_OPTS[@]}" -jar "$KIT/mnv3.jar")
PYTHON=${MNV3_PYTHON:-python3}
SITE=${MNV3_SITE_PACKAGES:-}

# ---- the steps

check_kit() {
    local missing=0 f
    [ -f tools/reference/make_reference.py ] || { echo "run me from the repository root (tools/reference is missing here)"; return 1; }
    for f in "$KIT/mnv3.jar" "$KIT/mnv3_kernels.fatbin" "$KIT"/lib/mnv3-cuda-*.jar \
             "$KIT"/lib/junit-platform-console-standalone-*.jar "$KIT"/test/mnv3-cuda-*-tests.jar; do
        if [ -f "$f" ]; then echo "found $f"; else echo "MISSING $f (run benchmarks/gpu/pack.sh first)"; missing=1; fi
    done
    "$JAVA" -version 2>&1 | head -1
    "$JAVA" -version 2>&1 | grep -q 'version "25' || { echo "$JAVA is not Java 25"; return 1; }
    [ -f "$KIT/MANIFEST.txt" ] && head -1 "$KIT/MANIFEST.txt"
    return $missing
}

find_python() {
    local py found=""
    for py in ${MNV3_PYTHON:-} python3 /usr/bin/python3 /usr/local/bin/python3 /opt/conda/bin/python3; do
        command -v "$py" >/dev/null 2>&1 || continue
        if "$py" -c 'import torch, torchvision' >/dev/null 2>&1; then found=$py; break; fi
    done
    [ -n "$found" ] || { echo "no python3 that imports torch and torchvision (set MNV3_PYTHON)"; return 1; }
    local site
    site=$("$found" -c 'import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))')
    "$found" -c 'import sys, torch, torchvision; print("python", sys.version.split()[0], "torch", torch.__version__,
        "torchvision", torchvision.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
        "gpu", torch.cuda.is_available())'
    local d libs=""
    for d in "$site"/nvidia/cudnn/lib "$site"/nvidia/cu13/lib "$site"/nvidia/*/lib; do
        [ -d "$d" ] && case ":$libs:" in *":$d:"*) ;; *) libs=$libs${libs:+:}$d ;; esac
    done
    echo "site-packages $site; pip CUDA libraries: ${libs:-none}"
    printf '%s\n%s\n%s\n' "$found" "$site" "$libs" > "$WORK/python.env"
}

probe_gpu() {
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    "$JAVA" "${JAVA_OPTS[@]}" -cp "$LIBCP" dev.mnv3.cuda.CudaInfo
}

# torchvision on the GPU (strict FP32): weights, input and every node's expected output
make_references() {
    "$PYTHON" tools/reference/make_reference.py --model large --batch 2 --size 224x224 --seed 7 --device cuda --out "$WORK/large" &&
    "$PYTHON" tools/reference/make_reference.py --model small --batch 2 --size 224x224 --seed 8 --device cuda --out "$WORK/small" &&
    "$PYTHON" tools/reference/make_reference.py --model small --batch 1 --size 224x224 --seed 9 --device cuda --out "$WORK/small1"
}

# the module's tests: the @Tag("gpu") ones and the rest, which must pass here too
junit() {
    "$JAVA" "${JAVA_OPTS[@]}" -jar "$(ls "$KIT"/lib/junit-platform-console-standalone-*.jar | head -1)" execute \
        --class-path "$TESTCP" --select-package dev.mnv3.cuda --reports-dir "$LOGDIR/junit" --details=tree --disable-banner
}

weights() { [ -f "$WORK/$1/weights.safetensors" ] && echo "--weights=$WORK/$1/weights.safetensors"; }

# FP32 for both models, then FP16 and BF16 for Large: each node against the CPU reference, within
# the precision's tolerance (dev.mnv3.core.backend.Precision)
crosscheck() {
    local rc=0 p
    "${MNV3[@]}" crosscheck --model large $(weights large) --batch 2 --size 224x224 --backend cuda || rc=1
    "${MNV3[@]}" crosscheck --model small $(weights small) --batch 2 --size 224x224 --backend cuda || rc=1
    for p in fp16 bf16; do
        "${MNV3[@]}" crosscheck --model large $(weights large) --batch 2 --size 224x224 --backend cuda --precision $p || rc=1
    done
    return $rc
}

parity() {
    local m rc=0
    for m in large small; do
        [ -f "$WORK/$m/expected.safetensors" ] || { echo "no torchvision reference for $m (see the reference step)"; return 1; }
        "${MNV3[@]}" run --model "$m" --weights "$WORK/$m/weights.safetensors" --input "$WORK/$m/input.safetensors" \
            --output "$WORK/$m/ours.safetensors" --backend cuda || { rc=1; continue; }
        "$PYTHON" benchmarks/gpu/compare_logits.py "$WORK/$m/expected.safetensors" "$WORK/$m/ours.safetensors" || rc=1
    done
    # FP16: our error beside PyTorch's own FP16 error, same weights and input
    "${MNV3[@]}" run --model large --weights "$WORK/large/weights.safetensors" --input "$WORK/large/input.safetensors" \
        --output "$WORK/large/ours16.safetensors" --backend cuda --precision fp16 &&
        "$PYTHON" benchmarks/gpu/half_error.py "$WORK/large" "$WORK/large/ours16.safetensors" --model large || rc=1
    return $rc
}

memcheck() {
    local cs=${MNV3_COMPUTE_SANITIZER:-} d
    if [ -z "$cs" ]; then
        cs=$(command -v compute-sanitizer || true)
        for d in /usr/local/cuda/bin /usr/local/cuda-*/bin /opt/cuda/bin "${SITE:-/nonexistent}"/nvidia/*/compute-sanitizer \
                 "${SITE:-/nonexistent}"/nvidia/*/bin; do
            [ -z "$cs" ] && [ -x "$d/compute-sanitizer" ] && cs=$d/compute-sanitizer
        done
    fi
    [ -n "$cs" ] || { echo "compute-sanitizer not found (PATH, /usr/local/cuda*/bin, /opt/cuda/bin, pip nvidia/*; set MNV3_COMPUTE_SANITIZER)"; return 1; }
    [ -f "$WORK/small1/weights.safetensors" ] || { echo "no batch-1 reference input (see the reference step)"; return 1; }
    "$cs" --version | tail -1
    "$cs" --tool memcheck --error-exitcode 99 --print-limit 20 "${MNV3[@]}" run --model small \
        --weights "$WORK/small1/weights.safetensors" --input "$WORK/small1/input.safetensors" \
        --output "$WORK/small1/ours.safetensors" --backend cuda
}

# The benchmark table: mnv3 at each precision x CUDA graphs on/off (one JVM each, batch sizes 1, 8,
# 64 and 256 in turn), then torch_bench.py's peers (eager FP32, eager FP16 channels_last, and
# torch.compile of that), on the same card in the same step. mnv3 may use half the step's time
# (a run that would not fit is recorded as skipped), PyTorch everything left but 15 s (its
# --deadline skips what would not fit; a timeout backs it up). Every point that fails or is
# skipped becomes a JSON line with "error", listed under the table; the rest goes on. The step
# fails when a mnv3 point has no result or torch_bench.py did not finish, not when only some
# PyTorch points failed (torch.compile missing, say).
BENCH_BATCHES="1 8 64 256"
bench() {
    local limit=${MNV3_STEP_LIMIT:-240} t0=$SECONDS rc=0 sec=${MNV3_BENCH_SECONDS:-1} warm=0.5
    # a run: the JVM, the CUDA context, cuDNN and the weights (a few seconds), then per batch size
    # a plan, the warm-up and the timed seconds
    local ours_end=$(( t0 + limit / 2 )) per_run
    per_run=$(awk -v s="$sec" -v w="$warm" 'BEGIN { printf "%d", 4 * (s + w + 1) + 15 }')
    local graphs p b left st why limit_run
    : > "$WORK/ours.json"
    for graphs in true false; do
        for p in fp32 fp16 tf32 bf16; do
            left=$(( ours_end - SECONDS ))
            st=skipped
            limit_run=$(( left < per_run ? left : per_run ))
            if [ "$left" -ge 12 ]; then
                echo "-- mnv3 bench --precision $p $([ $graphs = false ] && echo --no-cuda-graphs) (timeout ${limit_run}s)"
                timeout --kill-after=5 "$limit_run" "${MNV3[@]}" bench --model large --backend cuda \
                    --precision "$p" $([ $graphs = false ] && echo --no-cuda-graphs) --batch "${BENCH_BATCHES// /,}" \
                    --size 224x224 --seconds "$sec" --warmup "$warm" --json --show-kernels > "$WORK/run.json" 2> "$WORK/run.err"
                st=$?
                cat "$WORK/run.json"
                grep -Ev '^bench .* batch [0-9]+ +[0-9]+%$' "$WORK/run.err" >&2
                cat "$WORK/run.json" >> "$WORK/ours.json"
            fi
            [ "$st" = 0 ] || rc=1
            case $st in
                0) continue ;;
                skipped) why="skipped: ${left}s left of mnv3's share of the bench step" ;;
                124|137) why="no result: mnv3 bench timed out after ${limit_run}s" ;;
                *) why="no result: mnv3 bench exit $st: $(sed -n 's/^mnv3: //p' "$WORK/run.err" | head -1 | cut -c1-200 |
                        sed 's/[\\"]/\\&/g; s/[[:cntrl:]]//g')" ;;
            esac
            for b in $BENCH_BATCHES; do
                [ "$st" != skipped ] && grep -q "\"batch\":$b," "$WORK/run.json" && continue
                printf '{"model":"large","backend":"cuda","precision":"%s","cuda_graphs":%s,"batch":%s,"error":"%s"}\n' \
                    "$p" "$graphs" "$b" "$why" | tee -a "$WORK/ours.json"
            done
        done
    done
    # several request threads at once, each on its own stream (CudaModel's lanes): one more column
    left=$(( ours_end - SECONDS ))
    if [ "$left" -ge 12 ]; then
        limit_run=$(( left < per_run ? left : per_run ))
        echo "-- mnv3 bench --precision fp16 --clients 4 (timeout ${limit_run}s)"
        timeout --kill-after=5 "$limit_run" "${MNV3[@]}" bench --model large --backend cuda --precision fp16 --clients 4 \
            --batch 8,64 --size 224x224 --seconds "$sec" --warmup "$warm" --json 2> "$WORK/run.err" | tee -a "$WORK/ours.json"
        [ "${PIPESTATUS[0]}" = 0 ] || { rc=1; grep '^mnv3:' "$WORK/run.err" >&2; }
    fi
    local deadline=$(( limit - (SECONDS - t0) - 15 ))
    echo "-- torch_bench.py (--deadline ${deadline}s)"
    if [ "$deadline" -lt 20 ]; then
        echo '{"source":"torch_bench.py","error":"skipped: no time left in the bench step"}' | tee "$WORK/torch.json"
        st=skipped
    else
        timeout --kill-after=3 $(( deadline + 5 )) "$PYTHON" benchmarks/gpu/torch_bench.py --model large \
            --batch $BENCH_BATCHES --size 224x224 --seconds "$sec" --warmup "$warm" --deadline "$deadline" | tee "$WORK/torch.json"
        st=${PIPESTATUS[0]}
    fi
    # exit 1: some PyTorch points failed or were skipped (listed under the table): not mnv3's failure
    case $st in
        skipped) rc=1 ;;
        0|1) ;;
        124|137) rc=1; echo "{\"source\":\"torch_bench.py\",\"error\":\"timed out after $(( deadline + 5 ))s\"}" | tee -a "$WORK/torch.json" ;;
        *) rc=1; echo "{\"source\":\"torch_bench.py\",\"error\":\"exit $st (see the log)\"}" | tee -a "$WORK/torch.json" ;;
    esac
    cat "$WORK/ours.json" "$WORK/torch.json" > "$LOGDIR/throughput.json"
    return $rc
}

# ---- running them

START=$SECONDS
BUDGET=${MNV3_CHECK_BUDGET:-570}   # seconds for everything; each step gets what is left, capped
export LOGDIR=${OUT:-${TMPDIR:-/tmp}/mnv3-device-check}
LOG=$LOGDIR/device-check.log
RESERVE=0                          # seconds kept back for the steps after the current one
declare -a NAMES=() RESULTS=() NOTES=()

if [ "${1:-}" = --step ]; then shift; "$@"; exit $?; fi

log() { printf '%s\n' "$@" | tee -a "$LOG"; }
record() { NAMES+=("$1"); RESULTS+=("$2"); NOTES+=("$3"); log "== $1: $2${3:+ ($3)}"; }

# step NAME MAX_SECONDS FUNCTION: runs it with a timeout, output to the terminal and the log
step() {
    local name=$1 max=$2; shift 2
    local left=$(( BUDGET - (SECONDS - START) - RESERVE ))
    local limit=$(( max < left ? max : left ))
    if [ "$limit" -lt 10 ]; then record "$name" FAIL "no time left of the ${BUDGET}s budget"; return 1; fi
    log "" "== $name (timeout ${limit}s)"
    local t0=$SECONDS
    MNV3_STEP_LIMIT=$limit timeout --kill-after=10 "$limit" bash "$SELF" --step "$@" 2>&1 | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    local took="$(( SECONDS - t0 ))s"
    if [ "$rc" -eq 0 ]; then record "$name" PASS "$took"; return 0; fi
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then record "$name" FAIL "timed out after ${limit}s"; return 1; fi
    record "$name" FAIL "exit $rc after $took"
    return 1
}

finish() {
    local i passed=0 failed=0 summary=$LOGDIR/summary.txt
    {
        echo "== summary: mnv3 GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(( SECONDS - START ))s, ${GPU_NAME:-no usable GPU}"
        for i in "${!NAMES[@]}"; do
            printf '  %-11s %-4s %s\n' "${NAMES[$i]}" "${RESULTS[$i]}" "${NOTES[$i]}"
            [ "${RESULTS[$i]}" = PASS ] && passed=$((passed + 1))
            [ "${RESULTS[$i]}" = FAIL ] && failed=$((failed + 1))
        done
        echo "$passed passed, $failed failed"
        if [ -n "${THROUGHPUT:-}" ]; then echo; echo "$THROUGHPUT"; fi
    } > "$summary"
    log "" && tee -a "$LOG" < "$summary"
    rm -rf "$WORK"
    [ "$failed" -eq 0 ]
    exit $?
}

mkdir -p "$LOGDIR"
: > "$LOG"
log "mnv3 GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), logs in $LOGDIR"
step kit 30 check_kit
step python 60 find_python
if [ -f "$WORK/python.env" ]; then
    { read -r PYTHON; read -r SITE; read -r PIPLIBS; } < "$WORK/python.env"
    export MNV3_PYTHON=$PYTHON MNV3_SITE_PACKAGES=$SITE
    [ -n "$PIPLIBS" ] && export LD_LIBRARY_PATH=$PIPLIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
if ! step gpu 60 probe_gpu; then
    log "" "NO USABLE GPU: the CUDA backend cannot run on this machine (the reason is above); GPU steps skipped."
    for s in reference junit crosscheck parity memcheck bench; do record "$s" SKIP "no GPU"; done
    finish
fi
GPU_NAME=$("$JAVA" "${JAVA_OPTS[@]}" -cp "$LIBCP" dev.mnv3.cuda.CudaInfo 2>/dev/null | sed -n 's/^CUDA backend available: \([^(]*\) (.*/\1/p')

# RESERVE keeps back, for the steps after one, what they need at the least: bench gets at least
# 180 s (up to 240 s) whenever the steps before it end in time.
RESERVE=420 step reference 90 make_references
RESERVE=270 step junit 240 junit
RESERVE=240 step crosscheck 120 crosscheck
RESERVE=220 step parity 90 parity
RESERVE=180 step memcheck 150 memcheck
step bench 240 bench
THROUGHPUT=$("$PYTHON" benchmarks/gpu/throughput_table.py "$WORK/ours.json" "$WORK/torch.json" 2>&1 || true)
finish
