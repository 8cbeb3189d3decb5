#!/usr/bin/env bash
# The one-shot GPU check. Run on the GPU machine from the repository root, with .device/ (the kit
# from benchmarks/gpu/pack.sh) beside it:
#
#   OUT=/some/dir benchmarks/gpu/device-check.sh              every step, at most 400 s in all
#   benchmarks/gpu/device-check.sh --plan                     the steps, their time limits and the total
#   OUT=/some/dir benchmarks/gpu/device-check.sh --only parity,bench   rerun chosen steps after a fix
#
# Steps, cheapest and most telling first (--plan prints them with their limits):
#   driver     the NVIDIA driver's release and the CUDA version it supports, each card and its compute
#              capability (nvidia-smi, then CudaInfo --driver), before anything loads our kernels;
#              without a driver, or with one too old for them, the check stops here and says why
#   kit        the jlink-ed JDK, the jars and the JUnit launcher are here
#   python     a python3 with torch + torchvision; its pip nvidia/* dirs go on LD_LIBRARY_PATH
#   gpu        library discovery and versions: the CUDA backend opens the GPU and loads our kernels
#              (without a usable GPU the check stops here and says why)
#   kernels    every kernel of ours alone against a CPU oracle (FP32 NCHW and FP16/BF16 NHWC)
#   cudnn      one cuDNN convolution with every algorithm candidate the plans may time and keep
#   reference  torchvision on the GPU writes the weights, inputs and expected outputs used below
#   network    the whole network against the CPU reference, node by node, every precision; CUDA
#              graphs, concurrent callers, torchvision parity (the rest of the GPU tests)
#   crosscheck mnv3 crosscheck, Large at every precision and Small at FP32, with cuDNN and without
#   parity     mnv3 run --backend cuda (with cuDNN and without) against torchvision's logits, same weights and input
#   memcheck   compute-sanitizer memcheck on small inferences, our kernels alone (skipped where the tool is absent)
#   bench      every mnv3 throughput point in one JVM (one CUDA start-up), with cuDNN and without
#   torch      PyTorch eager FP32, eager FP16 channels_last and torch.compile, same card
# The throughput table and the goal ratios are printed last, after the log is searched for "capture
# failed": a CUDA graph that silently fell back to eager launches fails the check (step graphs).
#
# Each step runs in its own process group under its time limit and is killed whole, with anything
# it left behind, when the limit passes; a failed step is recorded and the check goes on.
# $OUT/summary.json and summary.txt are rewritten after every step (name, status, seconds, limit,
# note, key figures), so a run cut off at any point still reports everything before it. $OUT also
# receives device-check.log (everything, the tests' trees included) and throughput.json: four files
# (the device machine returns at most eight). Exit status 0 only when no step failed.
# MNV3_LIMITS="torch=200,bench=90" changes limits (a targeted rerun has time).
set -u

SELF=$(readlink -f "$0")
KIT=${MNV3_KIT:-.device}
# what the steps pass on to each other; kept between runs, so that --only finds the references
export MNV3_CHECK_WORK=${MNV3_CHECK_WORK:-.device-work}
WORK=$MNV3_CHECK_WORK
export LOGDIR=${OUT:-${TMPDIR:-/tmp}/mnv3-device-check}
FIGURES=$WORK/figures # not under $OUT: what comes back from the device machine is counted in files

STEPS=(driver kit python gpu kernels cudnn reference network crosscheck parity memcheck bench torch)
declare -A LIMIT=([driver]=10 [kit]=5 [python]=15 [gpu]=20 [kernels]=30 [cudnn]=15 [reference]=25 [network]=90
                  [crosscheck]=45 [parity]=30 [memcheck]=25 [bench]=60 [torch]=30)
BUDGET=400    # the most the limits may add up to: a second, targeted run must fit in the device time
GRACE=5       # seconds between TERM and KILL for a step past its limit
IFS=, read -r -a overrides <<< "${MNV3_LIMITS:-}"
for o in "${overrides[@]}"; do
    [[ $o =~ ^([a-z]+)=([0-9]+)$ && -n ${LIMIT[${BASH_REMATCH[1]}]:-} ]] ||
        { echo "MNV3_LIMITS: '$o' is not STEP=SECONDS with a step of: ${STEPS[*]}" >&2; exit 2; }
    LIMIT[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
done

# What every step needs, set up alike in the parent and in each step's own process.
if [ -x "$KIT/jdk/bin/java" ]; then JAVA=$KIT/jdk/bin/java
elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then JAVA=$JAVA_HOME/bin/java
else JAVA=java; fi
# the CPU side of every comparison runs the vector kernels, as `mnv3` itself does
JAVA_OPTS=(--enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx8g)
LIBCP=$(ls "$KIT"/lib/mnv3-*.jar 2>/dev/null | tr '\n' ':')
TESTCP=$LIBCP$(ls "$KIT"/test/*.jar 2>/dev/null | tr '\n' ':')
MNV3=("$JAVA" "${JAVA_OPTS[@]}" -jar "$KIT/mnv3.jar")
PYTHON=${MNV3_PYTHON:-python3}
SITE=${MNV3_SITE_PACKAGES:-}
if [ -f "$WORK/python.env" ]; then
    { read -r PYTHON; read -r SITE; read -r PIPLIBS; } < "$WORK/python.env"
    export MNV3_PYTHON=$PYTHON MNV3_SITE_PACKAGES=$SITE
    [ -n "$PIPLIBS" ] && export LD_LIBRARY_PATH=$PIPLIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

# A key figure of the running step, for summary.json: figure KEY VALUE
figure() { printf '%s\t%s\n' "$1" "$2" >> "$FIGURES/${MNV3_STEP:-check}"; }

# ---- the steps

# What the driver says, before anything loads our kernels: nvidia-smi's view, then the backend's
# (the driver's release, the CUDA version it supports, every card and its compute capability, and
# whether it can run kernels built with the kit's CUDA).
probe_driver() {
    if command -v nvidia-smi >/dev/null; then
        local smi cuda
        smi=$(nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader 2>&1 | head -4)
        cuda=$(nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -1)
        echo "nvidia-smi: ${cuda:-CUDA version not shown}"
        echo "$smi" | sed 's/^/nvidia-smi: /'
        figure nvidia_smi "$(head -1 <<< "$smi"), ${cuda:-}"
    else
        echo "nvidia-smi: not here"
    fi
    [ -x "$JAVA" ] || command -v "$JAVA" >/dev/null || { echo "no Java to ask the driver with ($JAVA): run benchmarks/gpu/pack.sh"; return 1; }
    local info rc
    info=$("$JAVA" "${JAVA_OPTS[@]}" -cp "$LIBCP" dev.mnv3.cuda.exec.CudaInfo --driver) # the JVM's warnings go to the log
    rc=$?
    echo "$info"
    figure driver "$(head -1 <<< "$info")"
    [ $rc = 0 ] || figure problem "$(grep -m1 '^CUDA backend unavailable' <<< "$info" || tail -1 <<< "$info")"
    return $rc
}

check_kit() {
    local missing=0 f
    [ -f tools/reference/make_reference.py ] || { echo "run me from the repository root (tools/reference is missing here)"; return 1; }
    for f in "$KIT/mnv3.jar" "$KIT"/lib/mnv3-cuda-*.jar \
             "$KIT"/lib/junit-platform-console-standalone-*.jar "$KIT"/test/mnv3-cuda-*-tests.jar; do
        if [ -f "$f" ]; then echo "found $f"; else echo "MISSING $f (run benchmarks/gpu/pack.sh first)"; missing=1; fi
    done
    "$JAVA" -version 2>&1 | head -1
    "$JAVA" -version 2>&1 | grep -q 'version "25' || { echo "$JAVA is not Java 25"; return 1; }
    [ -f "$KIT/MANIFEST.txt" ] && head -1 "$KIT/MANIFEST.txt" && figure kit "$(head -1 "$KIT/MANIFEST.txt")"
    return $missing
}

find_python() {
    local py found=""
    for py in ${MNV3_PYTHON:-} python3 /usr/bin/python3 /usr/local/bin/python3 /opt/conda/bin/python3; do
        command -v "$py" >/dev/null 2>&1 || continue
        if "$py" -c 'import torch, torchvision' >/dev/null 2>&1; then found=$py; break; fi
    done
    [ -n "$found" ] || { echo "no python3 that imports torch and torchvision (set MNV3_PYTHON)"; return 1; }
    local site versions
    { read -r site; read -r versions; } < <("$found" -c 'import os, sys, torch, torchvision
print(os.path.dirname(os.path.dirname(torch.__file__)))
print("python", sys.version.split()[0], "torch", torch.__version__, "torchvision", torchvision.__version__, "cuda",
      torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "gpu", torch.cuda.is_available())')
    echo "$versions"
    figure versions "$versions"
    local d libs=""
    for d in "$site"/nvidia/cudnn/lib "$site"/nvidia/cu13/lib "$site"/nvidia/*/lib; do
        [ -d "$d" ] && case ":$libs:" in *":$d:"*) ;; *) libs=$libs${libs:+:}$d ;; esac
    done
    echo "site-packages $site; pip CUDA libraries: ${libs:-none}"
    printf '%s\n%s\n%s\n' "$found" "$site" "$libs" > "$WORK/python.env"
}

probe_gpu() {
    local info rc
    info=$("$JAVA" "${JAVA_OPTS[@]}" -cp "$LIBCP" dev.mnv3.cuda.exec.CudaInfo) # stderr (the JVM's warnings) goes to the log
    rc=$?
    echo "$info"
    figure cuda "$(grep -m1 '^CUDA backend' <<< "$info" || tail -1 <<< "$info")"
    return $rc
}

# the module's tests of one kind: junit_tests NAME CLASS... Their record is the tree in the log: XML
# reports would need java.xml in the kit's JDK (4 MiB) and three files per step out of $OUT.
junit_tests() {
    local name=$1 selectors=() c out
    shift
    for c in "$@"; do selectors+=(--select-class "dev.mnv3.cuda.$c"); done
    out=$("$JAVA" "${JAVA_OPTS[@]}" -jar "$(ls "$KIT"/lib/junit-platform-console-standalone-*.jar | head -1)" execute \
        --class-path "$TESTCP" "${selectors[@]}" --details=tree --disable-banner \
        --details-theme=ascii 2>&1)
    local rc=$?
    echo "$out"
    figure tests "$(grep -Eo '[0-9]+ tests (successful|failed|aborted|skipped)' <<< "$out" | paste -sd, -)"
    return $rc
}

kernels() { junit_tests kernels KernelsGpuTest NhwcKernelsGpuTest InputKernelsGpuTest; }
cudnn() { junit_tests cudnn CudnnConvGpuTest; }
network() { junit_tests network CudaModelGpuTest HostIoGpuTest CaptureSafetyGpuTest DriverOnlyTest FakeCudaTest HostIoTest \
    DeviceChoiceTest UnavailableBackendTest; }

# torchvision on the GPU (strict FP32): weights, input and every node's expected output
make_references() {
    "$PYTHON" tools/reference/make_reference.py --model large --batch 2 --size 224x224 --seed 7 --device cuda --out "$WORK/large" &&
    "$PYTHON" tools/reference/make_reference.py --model small --batch 2 --size 224x224 --seed 8 --device cuda --out "$WORK/small" &&
    "$PYTHON" tools/reference/make_reference.py --model small --batch 1 --size 224x224 --seed 9 --device cuda --out "$WORK/small1"
}

weights() { [ -f "$WORK/$1/weights.safetensors" ] && echo "--weights=$WORK/$1/weights.safetensors"; }

# every node against the CPU reference within the precision's tolerance (dev.mnv3.core.backend.Precision), with
# cuDNN and with the driver alone: Large at every precision, Small at FP32, one reference run per model
crosscheck() {
    local rc=0 m p out
    for m in large/fp32,tf32,fp16,bf16 small/fp32; do
        p=${m#*/}
        m=${m%/*}
        out=$("${MNV3[@]}" crosscheck --model "$m" $(weights "$m") --batch 2 --size 224x224 --backend cuda --precision "$p" \
            --cudnn auto,off 2>&1) || rc=1
        echo "$out"
        # one figure per table: its heading's precision and cuDNN use, its summary line
        awk -v m="$m" '/ vs cpu-reference, batch /{n = split($0, h, ", "); key = m "-" h[n-1] "-" h[n]}
                       /nodes (pass|FAIL)/{printf "%s\t%s\n", key, $0}' <<< "$out" >> "$FIGURES/$MNV3_STEP"
    done
    return $rc
}

parity() {
    local m rc=0 out
    local d ours
    for m in large small; do
        [ -f "$WORK/$m/expected.safetensors" ] || { echo "no torchvision reference for $m (see the reference step)"; return 1; }
        ours=()
        for d in auto off; do
            "${MNV3[@]}" run --model "$m" --weights "$WORK/$m/weights.safetensors" --input "$WORK/$m/input.safetensors" \
                --output "$WORK/$m/ours-cudnn-$d.safetensors" --backend cuda --cudnn $d && ours+=("$WORK/$m/ours-cudnn-$d.safetensors")
        done
        [ ${#ours[@]} = 2 ] || rc=1
        [ ${#ours[@]} -gt 0 ] || continue
        out=$("$PYTHON" benchmarks/gpu/compare_logits.py "$WORK/$m/expected.safetensors" "${ours[@]}") || rc=1
        echo "$out"
        figure "$m" "$out"
    done
    # FP16: our error beside PyTorch's own FP16 error, same weights and input
    out=$("${MNV3[@]}" run --model large --weights "$WORK/large/weights.safetensors" --input "$WORK/large/input.safetensors" \
        --output "$WORK/large/ours16.safetensors" --backend cuda --precision fp16 &&
        "$PYTHON" benchmarks/gpu/half_error.py "$WORK/large" "$WORK/large/ours16.safetensors" --model large) || rc=1
    echo "$out"
    figure large-fp16 "$(tail -1 <<< "$out")"
    return $rc
}

# compute-sanitizer where it exists (pip-installed CUDA has none: then the step is SKIP, not FAIL), on our
# kernels alone (--cudnn off): what it can blame on us. cuDNN's use of our buffers is checked by FakeCudaTest's
# descriptor checks; API errors are not reported (cuDNN probes the runtime and handles what it provokes).
memcheck() {
    local cs=${MNV3_COMPUTE_SANITIZER:-} d p rc=0
    if [ -z "$cs" ]; then
        cs=$(command -v compute-sanitizer || true)
        for d in /usr/local/cuda/bin /usr/local/cuda-*/bin /opt/cuda/bin "${SITE:-/nonexistent}"/nvidia/*/compute-sanitizer \
                 "${SITE:-/nonexistent}"/nvidia/*/bin; do
            [ -z "$cs" ] && [ -x "$d/compute-sanitizer" ] && cs=$d/compute-sanitizer
        done
    fi
    if [ -z "$cs" ]; then
        echo "compute-sanitizer is not available here (PATH, /usr/local/cuda*/bin, /opt/cuda/bin, pip nvidia/*; set MNV3_COMPUTE_SANITIZER)"
        return 3 # not available: SKIP
    fi
    [ -f "$WORK/small1/weights.safetensors" ] || { echo "no batch-1 reference input (see the reference step)"; return 1; }
    "$cs" --version | tail -1
    for p in fp32 fp16; do
        echo "-- memcheck, Small at $p"
        "$cs" --tool memcheck --report-api-errors no --error-exitcode 99 --print-limit 20 "${MNV3[@]}" run --model small \
            --weights "$WORK/small1/weights.safetensors" --input "$WORK/small1/input.safetensors" \
            --output "$WORK/small1/ours-$p.safetensors" --backend cuda --precision $p --cudnn off --no-cuda-graphs
        local st=$?
        figure "$p" "exit $st"
        [ $st = 0 ] || rc=1
    done
    return $rc
}

# Every mnv3 point in one JVM: each precision with CUDA graphs on and off at batch 1, 8, 64 and
# 256, FP16 with four concurrent clients (each on its own stream) at 8 and 64, and each precision
# with graphs on and the driver alone (no cuDNN).
BENCH_BATCHES="1 8 64 256"
bench() {
    local sec=${MNV3_BENCH_SECONDS:-0.4} warm=0.2 st
    "${MNV3[@]}" bench --model large --backend cuda --size 224x224 --seconds "$sec" --warmup "$warm" --json --show-kernels \
        --sweep "precision=fp32,fp16,tf32,bf16 graphs=on,off batch=${BENCH_BATCHES// /,}" \
        --sweep "precision=fp16 graphs=on clients=4 batch=8,64" \
        --sweep "precision=fp32,fp16,tf32,bf16 graphs=on cudnn=off batch=${BENCH_BATCHES// /,}" > "$WORK/ours.json" 2> "$WORK/ours.err"
    st=$?
    cat "$WORK/ours.json"
    grep -Ev '^bench .*[0-9]+%$' "$WORK/ours.err" >&2
    figure points "$(grep -c images_per_second "$WORK/ours.json") measured, $(grep -c '"error"' "$WORK/ours.json") failed"
    return $st
}

torch() {
    local deadline=$(( ${MNV3_STEP_LIMIT:-40} - 8 )) st
    "$PYTHON" benchmarks/gpu/torch_bench.py --model large --batch $BENCH_BATCHES --size 224x224 --seconds 0.5 --warmup 0.25 \
        --deadline "$deadline" | tee "$WORK/torch.json"
    st=${PIPESTATUS[0]}
    figure points "$(grep -c images_per_second "$WORK/torch.json") measured, $(grep -c '"error"' "$WORK/torch.json") failed or skipped"
    # exit 1: some PyTorch points failed or did not fit (torch.compile missing, say): listed under the table, not mnv3's failure
    [ "$st" = 1 ] && return 0
    return "$st"
}

declare -A RUNS=([driver]=probe_driver [kit]=check_kit [python]=find_python [gpu]=probe_gpu [kernels]=kernels [cudnn]=cudnn
                 [reference]=make_references [network]=network [crosscheck]=crosscheck [parity]=parity
                 [memcheck]=memcheck [bench]=bench [torch]=torch)

# ---- running them

if [ "${1:-}" = --step ]; then
    export MNV3_STEP_TOKEN=$3 # what this step starts carries it, so that reap finds what outlives the step
    mkdir -p "$FIGURES" "$WORK"
    "${RUNS[$2]}"
    exit $?
fi

plan() {
    local s total=0
    printf '%-11s %6s\n' step limit
    for s in "${STEPS[@]}"; do
        printf '%-11s %5ss\n' "$s" "${LIMIT[$s]}"
        total=$(( total + LIMIT[$s] ))
    done
    printf '%-11s %5ss (at most %ss)\n' total "$total" "$BUDGET"
}

ONLY=""
case "${1:-}" in
    --plan) plan; exit 0 ;;
    --only) ONLY=,${2:?--only needs STEP[,STEP...]},; shift 2 ;;
    -h|--help) sed -n '2,/^set -u/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac
for s in ${ONLY//,/ }; do
    [ -n "${LIMIT[$s]:-}" ] || { echo "--only: no step '$s' (steps: ${STEPS[*]})" >&2; exit 2; }
done

START=$SECONDS
LOG=$LOGDIR/device-check.log
declare -a NAMES=() RESULTS=() TIMES=() NOTES=()
STOPPED=""

log() { printf '%s\n' "$@" | tee -a "$LOG"; }

# J = the JSON string of $1. No command substitution: summary.json is rewritten after every step,
# and a fork per field made that quadratic in the steps.
json() {
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\t'/ }
    s=${s//$'\n'/\\n}
    s=${s//[[:cntrl:]]/}
    J="\"$s\""
}

# summary.json: the steps so far, each with its key figures
write_summary() {
    local i first=1 k v out="$LOGDIR/summary.json" started gpu stopped name status note
    json "$STARTED"; started=$J
    json "${GPU_NAME:-}"; gpu=$J
    json "$STOPPED"; stopped=$J
    {
        printf '{"check":"mnv3 GPU check","started":%s,"seconds":%d,"gpu":%s,"stopped":%s,"steps":[' \
            "$started" $(( SECONDS - START )) "$gpu" "$stopped"
        for i in "${!NAMES[@]}"; do
            [ $first = 1 ] || printf ','
            first=0
            json "${NAMES[$i]}"; name=$J
            json "${RESULTS[$i]}"; status=$J
            json "${NOTES[$i]}"; note=$J
            printf '\n  {"name":%s,"status":%s,"seconds":%s,"limit":%s,"note":%s,"figures":{' "$name" "$status" "${TIMES[$i]}" \
                "${LIMIT[${NAMES[$i]}]:-0}" "$note"
            if [ -f "$FIGURES/${NAMES[$i]}" ]; then
                local f=1
                while IFS=$'\t' read -r k v; do
                    [ $f = 1 ] || printf ','
                    f=0
                    json "$k"; printf '%s:' "$J"
                    json "$v"; printf '%s' "$J"
                done < "$FIGURES/${NAMES[$i]}"
            fi
            printf '}}'
        done
        printf '\n]}\n'
    } > "$out.tmp" && mv "$out.tmp" "$out"
}

# summary.txt: one line per step so far, then the counts (and, at the end, the throughput table)
write_summary_text() {
    local i passed=0 failed=0 skipped=0
    {
        echo "== summary: mnv3 GPU check, $STARTED, $(( SECONDS - START ))s, ${GPU_NAME:-no usable GPU}"
        for i in "${!NAMES[@]}"; do
            printf '  %-11s %-4s %4ss  %s\n' "${NAMES[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}" "${NOTES[$i]}"
            case ${RESULTS[$i]} in PASS) passed=$((passed + 1)) ;; FAIL) failed=$((failed + 1)) ;; *) skipped=$((skipped + 1)) ;; esac
        done
        echo "$passed passed, $failed failed, $skipped skipped${STOPPED:+; stopped: $STOPPED}"
        if [ -n "${1:-}" ]; then echo; echo "$1"; fi
    } > "$LOGDIR/summary.txt.tmp" && mv "$LOGDIR/summary.txt.tmp" "$LOGDIR/summary.txt"
    FAILED=$failed
}

record() {
    NAMES+=("$1"); RESULTS+=("$2"); TIMES+=("$3"); NOTES+=("$4")
    log "== $1: $2${4:+ ($4)}"
    write_summary
    write_summary_text
}

# Kills what a step left running: its process group, and anything that carries its token (a
# process that started a session of its own escapes the group, not its environment).
reap() {
    local pgid=$1 token=$2 f p
    kill -KILL -- "-$pgid" 2>/dev/null
    for f in $(grep -lz "^MNV3_STEP_TOKEN=$token\$" /proc/[0-9]*/environ 2>/dev/null); do
        p=${f#/proc/}
        kill -KILL "${p%/environ}" 2>/dev/null
    done
}

# step NAME: runs it in a process group of its own under its limit; records PASS, FAIL or SKIP
step() {
    local name=$1 limit=${LIMIT[$1]} token="mnv3-$$-$1-$RANDOM" t0=$SECONDS timed_out=0 rc
    log "" "== $name (limit ${limit}s)"
    rm -f "$FIGURES/$name"
    MNV3_STEP=$name MNV3_STEP_LIMIT=$limit setsid bash "$SELF" --step "$name" "$token" > >(tee -a "$LOG") 2>&1 < /dev/null &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if (( SECONDS - t0 >= limit )); then
            timed_out=1
            kill -TERM -- "-$pid" 2>/dev/null
            local g=0
            while (( g < GRACE * 5 )) && kill -0 "$pid" 2>/dev/null; do sleep 0.2; g=$(( g + 1 )); done
            break
        fi
        sleep 0.2
    done
    wait "$pid" 2>/dev/null
    rc=$?
    reap "$pid" "$token"
    local took=$(( SECONDS - t0 ))
    if [ $timed_out = 1 ]; then record "$name" FAIL "$took" "killed at its ${limit}s limit"; return 1; fi
    case $rc in
        0) record "$name" PASS "$took" "" ;;
        3) [ "$name" = memcheck ] && { record "$name" SKIP "$took" "compute-sanitizer not available"; return 0; }
           record "$name" FAIL "$took" "exit $rc" ;;
        *) record "$name" FAIL "$took" "exit $rc" ;;
    esac
    [ $rc = 0 ]
}

# A CUDA graph capture that failed leaves the pass running eagerly, with right results: only the
# log says so. Any such line fails the check, even when every step passed.
check_graphs() {
    local n first
    n=$(grep -c "capture failed" "$LOG")
    first=$(grep -m1 "capture failed" "$LOG" | cut -c1-300)
    if [ "$n" -gt 0 ]; then record graphs FAIL 0 "$n log lines say a CUDA graph capture failed; the first: $first"
    else record graphs PASS 0 "no \"capture failed\" in the log"; fi
}

finish() {
    local table=""
    if [ -f "$WORK/ours.json" ] || [ -f "$WORK/torch.json" ]; then
        cat "$WORK/ours.json" "$WORK/torch.json" > "$LOGDIR/throughput.json" 2>/dev/null
        table=$("$PYTHON" benchmarks/gpu/throughput_table.py "$WORK/ours.json" "$WORK/torch.json" 2>&1)
        # the same points in mnv3 bench --report's format: mnv3 bench --report DIR --from results.json draws the page
        "$PYTHON" benchmarks/gpu/results_json.py "$LOGDIR/results.json" "$WORK/ours.json" "$WORK/torch.json" || true
    fi
    write_summary_text "$table"
    log "" && tee -a "$LOG" < "$LOGDIR/summary.txt"
    write_summary
    [ "$FAILED" -eq 0 ]
    exit $?
}

wanted() { [ -z "$ONLY" ] || [[ $ONLY == *",$1,"* ]]; }

[ -z "$ONLY" ] && rm -rf "$WORK"   # a whole run starts afresh; --only keeps the references
mkdir -p "$LOGDIR" "$WORK" "$FIGURES"
rm -f "$FIGURES"/*
: > "$LOG"
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "mnv3 GPU check, $STARTED, $(uname -n), ${ONLY:+only ${ONLY//,/ }, }logs in $LOGDIR"
log "$(plan)"
write_summary

# driver, kit, python and gpu always run: the others need what they find (a rerun re-reads them cheaply)
stop() {
    STOPPED=$1
    log "" "$2"
    for s in "${STEPS[@]:$3}"; do wanted "$s" && record "$s" SKIP 0 "$4"; done
    finish
}
step driver || stop "no driver for our kernels: $(sed -n '/^problem\t/{s/^problem\t//; s/; looked in:$/ (where it looked is in the log)/; p}' \
        "$FIGURES/driver" 2>/dev/null | head -1)" \
    "NO DRIVER FOR OUR KERNELS: no NVIDIA driver here, or one too old, or no usable GPU (the reason is above); nothing else runs." \
    1 "no driver"
step kit
step python
if [ -f "$WORK/python.env" ]; then
    { read -r PYTHON; read -r SITE; read -r PIPLIBS; } < "$WORK/python.env"
    export MNV3_PYTHON=$PYTHON MNV3_SITE_PACKAGES=$SITE
    [ -n "$PIPLIBS" ] && export LD_LIBRARY_PATH=$PIPLIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
step gpu || stop "no usable GPU: $(sed -n 's/^cuda\t//p' "$FIGURES/gpu" 2>/dev/null | head -1)" \
    "NO USABLE GPU: the CUDA backend cannot run on this machine (the reason is above); the GPU steps are skipped." 4 "no GPU"
GPU_NAME=$(sed -n 's/^cuda\tCUDA backend available: \([^(]*\) (.*/\1/p' "$FIGURES/gpu" | head -1)

# a step that reads the references gets them made first when a rerun has none
if [ -n "$ONLY" ] && [ ! -f "$WORK/small1/weights.safetensors" ] && { wanted crosscheck || wanted parity || wanted memcheck; }; then
    ONLY=$ONLY,reference,
fi
for s in "${STEPS[@]:4}"; do
    wanted "$s" && step "$s"
done
check_graphs
finish
