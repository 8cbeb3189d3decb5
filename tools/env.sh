# Sourced by ./test and .ci/run: finds JDK 25 and a python3 with PyTorch + torchvision,
# installing Debian's python3-torchvision when it is missing and we may (root or sudo).

mnv3_find_java25() {
    local d v
    for d in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk-arm64 /usr/lib/jvm/java-25-openjdk-amd64; do
        [[ -n "$d" && -x "$d/bin/java" ]] || continue
        v=$("$d/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
        if [[ "${v%%.*}" -ge 25 ]]; then echo "$d"; return 0; fi
    done
    return 1
}

mnv3_has_torch() {
    "$1" -c 'import torch, torchvision' >/dev/null 2>&1
}

# libjpeg-turbo's TurboJPEG (libturbojpeg.so.0): optional, JPEGs decode through javax.imageio
# without it, but the tests of the fast path (TurboJpegTest) need it. Installs Debian's
# libturbojpeg0 when it is missing and we may (root or sudo); never fails.
mnv3_install_turbojpeg() {
    if /sbin/ldconfig -p 2>/dev/null | grep -q 'libturbojpeg\.so\.0 '; then return 0; fi
    local sudo=""
    [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
    if command -v apt-get >/dev/null && { [[ -z "$sudo" ]] || sudo -n true 2>/dev/null; }; then
        echo "installing Debian's libturbojpeg0 (libjpeg-turbo, the fast JPEG decoder) ..." >&2
        { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libturbojpeg0 >&2 ||
            { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
              $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libturbojpeg0 >&2; }; } ||
            echo "could not install libturbojpeg0: JPEGs decode through javax.imageio, TurboJpegTest is skipped" >&2
    fi
    return 0
}

# Sets JAVA_HOME and MNV3_PYTHON, or explains what is missing and returns 1.
mnv3_setup() {
    if ! JAVA_HOME="$(mnv3_find_java25)"; then
        echo "needs JDK 25 or newer: set JAVA_HOME (looked in \$JAVA_HOME and /usr/lib/jvm)" >&2
        return 1
    fi
    export JAVA_HOME
    mnv3_install_turbojpeg
    local py
    for py in "${MNV3_PYTHON:-}" /usr/bin/python3 python3; do
        if [[ -n "$py" ]] && mnv3_has_torch "$py"; then export MNV3_PYTHON="$py"; return 0; fi
    done
    echo "installing Debian's python3-torchvision (the PyTorch reference for the parity tests) ..." >&2
    local sudo=""
    [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
    if command -v apt-get >/dev/null && { [[ -z "$sudo" ]] || sudo -n true 2>/dev/null; }; then
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
            $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torchvision >&2
    fi
    if mnv3_has_torch /usr/bin/python3; then export MNV3_PYTHON=/usr/bin/python3; return 0; fi
    echo "no python3 with torch and torchvision: install python3-torchvision (apt) or set MNV3_PYTHON" >&2
    return 1
}

# Runs JAVA ARGS... with stderr kept to the program's own lines: the JVM prints "WARNING: Using
# incubator modules: jdk.incubator.vector" first on every start with --add-modules
# jdk.incubator.vector (the CPU backend's Vector API), and no JVM option turns it off. Only that
# exact first line is dropped; the rest passes through as it comes (progress bars included).
# TERM, HUP and INT reach java as TERM (its shutdown hooks remove partial output files); the
# return status is java's.
mnv3_java_quiet() {
    local java="$1" pid status
    shift
    "$java" "$@" 0<&0 2> >(trap '' INT; _mnv3_drop_incubator_warning >&2) &
    pid=$!
    trap 'kill -TERM "$pid" 2>/dev/null' TERM HUP INT
    while true; do
        if wait "$pid"; then status=0; else status=$?; fi
        kill -0 "$pid" 2>/dev/null || break # wait returns early when a trapped signal arrives
    done
    trap - TERM HUP INT
    wait || true # the filter passes on what java wrote last
    return "$status"
}

_mnv3_drop_incubator_warning() {
    local first
    if IFS= read -r first; then
        [[ "$first" == "WARNING: Using incubator modules: jdk.incubator.vector" ]] || printf '%s\n' "$first"
    elif [[ -n "$first" ]]; then
        printf '%s' "$first" # a first line without a newline: pass it on as it was
    fi
    exec cat
}
