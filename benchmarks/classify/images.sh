# Sourced by benchmarks/classify/run.sh and benchmarks/batch/run.sh, which measure over the same
# photo-like JPEGs and report the machine the same way.

# bench_images IMAGES COUNT LIST: writes COUNT 640x480 JPEGs into IMAGES once (make_images.py, outside
# the repository), then links the first COUNT in name order into the directory LIST.
bench_images() {
    local images="$1" count="$2" list="$3"
    if [[ "$(find "$images" -maxdepth 1 -name '*.jpg' 2>/dev/null | wc -l)" -lt "$count" ]]; then
        echo "writing $count 640x480 JPEGs into $images ..." >&2
        "$MNV3_PYTHON" benchmarks/classify/make_images.py "$images" --count "$count"
    fi
    mkdir -p "$list"
    find "$images" -maxdepth 1 -name '*.jpg' | sort | head -n "$count" | while read -r f; do ln -s "$f" "$list/"; done
}

# bench_machine: the CPU, its vector ISA and the load average, the lines every CPU figure goes with.
bench_machine() {
    echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) processors, ISA: $(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || (grep -qw avx2 /proc/cpuinfo && echo AVX2 || echo 'no AVX2'))"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
}
