#!/usr/bin/env bash
# A Spark standalone cluster on this machine for mnv3 batch: a Master and one or more Workers, each
# its own JVM on JDK 25, started from the Spark jars the spark module resolves (no Spark download).
#
#   tools/spark-cluster.sh start [--workers N] [--cores C] [--memory M]   # default: 1 Worker, 2 cores, 2g
#   ./mnv3 batch --master spark://127.0.0.1:7077 ...
#   tools/spark-cluster.sh stop
#
# Everything lives under $MNV3_SPARK_DIR (default /tmp/mnv3-spark-$USER): a SPARK_HOME whose jars/
# links to the module's Spark jars, logs/, the Workers' work/ and pid files. Ports: Master 7077
# (MNV3_SPARK_PORT), its UI 8080 (MNV3_SPARK_UI_PORT); all on 127.0.0.1 unless MNV3_SPARK_HOST says
# otherwise.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/tools/env.sh"
dir="${MNV3_SPARK_DIR:-/tmp/mnv3-spark-${USER:-$(id -un)}}"
host="${MNV3_SPARK_HOST:-127.0.0.1}"
port="${MNV3_SPARK_PORT:-7077}"
ui_port="${MNV3_SPARK_UI_PORT:-8080}"

usage() {
    sed -n '4,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# Spark's own launcher builds each JVM's command (classpath, the JDK module options Spark needs)
# as spark-class does: NUL-separated arguments
command_of() {
    local -a cmd=()
    local arg
    # the launcher writes its messages, a NUL and a newline, then the command
    while IFS= read -r -d '' arg; do arg="${arg#$'\n'}"; [[ -n "$arg" ]] && cmd+=("$arg"); done < <("$JAVA_HOME/bin/java" -Xmx128m -cp "$dir/home/jars/*" org.apache.spark.launcher.Main "$@")
    [[ ${#cmd[@]} -gt 0 ]] || { echo "spark-cluster: Spark's launcher gave no command for $1" >&2; exit 1; }
    printf '%s\0' "${cmd[@]}"
}

launch() { # NAME CLASS ARGS...: starts a daemon JVM, its pid in NAME.pid, its output in logs/NAME.log
    local name="$1"; shift
    local -a cmd=()
    local arg
    while IFS= read -r -d '' arg; do cmd+=("$arg"); done < <(command_of "$@")
    nohup "${cmd[@]}" >"$dir/logs/$name.log" 2>&1 </dev/null &
    echo $! >"$dir/$name.pid"
}

listening() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

start() {
    local workers=1 cores=2 memory=2g
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --workers) workers="$2"; shift 2 ;;
            --cores) cores="$2"; shift 2 ;;
            --memory) memory="$2"; shift 2 ;;
            *) usage ;;
        esac
    done
    if ! JAVA_HOME="$(mnv3_find_java25)"; then
        echo "spark-cluster: needs JDK 25 or newer (mnv3's classes run in the executors): set JAVA_HOME" >&2
        exit 1
    fi
    export JAVA_HOME
    if listening "$port"; then
        echo "spark-cluster: something already listens on $host:$port (a cluster started before? tools/spark-cluster.sh stop)" >&2
        exit 1
    fi
    local cp="$root/java/spark/target/spark.classpath"
    if [[ ! -f "$cp" ]]; then
        echo "spark-cluster: building the spark module (lists Spark's jars; downloads Spark the first time) ..." >&2
        (cd "$root" && ./mvnw -q -B -DskipTests package -pl java/spark -am) >&2
    fi
    rm -rf "$dir/home"
    mkdir -p "$dir/home/jars" "$dir/logs" "$dir/work"
    local jar
    while IFS= read -r -d ':' jar; do [[ -n "$jar" ]] && ln -sf "$jar" "$dir/home/jars/"; done < <(tr -d '\n' <"$cp"; printf ':')
    export SPARK_HOME="$dir/home" SPARK_SCALA_VERSION=2.13 SPARK_LOG_DIR="$dir/logs" SPARK_LOCAL_IP="$host"

    launch master org.apache.spark.deploy.master.Master --host "$host" --port "$port" --webui-port "$ui_port"
    for _ in $(seq 100); do listening "$port" && break; sleep 0.2; done
    listening "$port" || { echo "spark-cluster: the Master did not start; see $dir/logs/master.log" >&2; exit 1; }
    local i
    for i in $(seq "$workers"); do
        launch "worker-$i" org.apache.spark.deploy.worker.Worker --host "$host" --cores "$cores" --memory "$memory" \
            --work-dir "$dir/work" --webui-port 0 "spark://$host:$port"
    done
    for _ in $(seq 150); do
        [[ "$(grep -l 'Successfully registered with master' "$dir"/logs/worker-*.log 2>/dev/null | wc -l)" -ge "$workers" ]] && break
        sleep 0.2
    done
    if [[ "$(grep -l 'Successfully registered with master' "$dir"/logs/worker-*.log 2>/dev/null | wc -l)" -lt "$workers" ]]; then
        echo "spark-cluster: a Worker did not register with the Master; see $dir/logs/" >&2
        exit 1
    fi
    echo "spark://$host:$port  ($workers Worker(s) of $cores cores and $memory; UI http://$host:$ui_port; logs $dir/logs)"
}

stop() {
    local f pid stopped=0
    for f in "$dir"/worker-*.pid "$dir"/master.pid; do
        [[ -f "$f" ]] || continue
        pid="$(cat "$f")"
        if kill "$pid" 2>/dev/null; then
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            stopped=$((stopped + 1))
        fi
        rm -f "$f"
    done
    echo "spark-cluster: stopped $stopped JVM(s)"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) stop ;;
    *) usage ;;
esac
