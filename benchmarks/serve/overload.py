#!/usr/bin/env python3
"""`mnv3 serve` under overload: many JSON clients with 3 MB bodies at once, and liveness meanwhile.

For each server build (this tree's ./mnv3, or jars given with --jar LABEL=PATH, run in turn and
the rounds alternated: A B A B), it starts `serve --model M` with its defaults on loopback and:

1. overload: hey sends --requests JSON requests of one [1,3,224,224] image (about 3 MB of text)
   over --clients connections at once, while a probe GETs /v2/health/live every --probe-ms on a
   fresh connection (as kubelet does), on the REST port, on serve's --probe-port, or on each in turn
   (--probe-ports main,probe: one row per port); it reports the answers by status, the requests hey got no answer to (reset,
   EOF, timeout: dropped), the liveness p50/p99/max, and failures{reason="internal"} from /metrics;
2. throughput: hey at --throughput-clients connections for --seconds, JSON then binary tensor
   data (the same image), and JSON's share of binary's rate;
3. SIGTERM, and the exit status.

To find what a slow probe waits on, the server logs its safepoints (every stop-the-world pause: GC
and others) and each probe slower than --slow-ms is lined up with them: the table gives how many
probes were slow and how many of those spent at least half their time in a pause. Beside the probe,
a C program (wakeup.c, built with cc) sleeps 10 ms again and again and records how late it wakes:
the scheduler's own latency under the same load, which no server can answer under.

    benchmarks/serve/overload.py                                    # this tree, 2 rounds
    benchmarks/serve/overload.py --jar before=/tmp/main.jar --jar after=java/cli/target/mnv3.jar
    benchmarks/serve/overload.py --jar g1=J.jar --jar zgc=J.jar --jvm zgc=-XX:+UseZGC --overload-seconds 20
    benchmarks/serve/overload.py --overload-seconds 22 --probe-ms 50 --probe-ports main,probe   # REST port against probe port

Needs hey (tools/serve-test-clients.sh installs it) and Python 3's standard library.
"""
import argparse
import datetime
import http.client
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

from common import require_hey, Server, cpu_description, hey, metric_values, mnv3_command, say


def bodies(size, work):
    """One image [1,3,size,size] as KServe JSON (numbers printed as Python prints doubles) and as binary tensor data."""
    rnd = random.Random(1)
    values = [struct.unpack("<f", struct.pack("<f", rnd.gauss(0.0, 1.0)))[0] for _ in range(3 * size * size)]
    shape = [1, 3, size, size]
    json_path, bin_path = os.path.join(work, "request.json"), os.path.join(work, "request.bin")
    with open(json_path, "w") as f:
        json.dump({"inputs": [{"name": "input", "datatype": "FP32", "shape": shape, "data": values}]}, f)
    raw = struct.pack("<%df" % len(values), *values)
    header = json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": shape,
                                     "parameters": {"binary_data_size": len(raw)}}]}).encode()
    with open(bin_path, "wb") as f:
        f.write(header + raw)
    return json_path, bin_path, len(header)


class LivenessProbe(threading.Thread):
    """GET /v2/health/live every interval on a new connection, to each of ports in turn (named: {name: port}); latencies in ms
    by port name (a failure counts as the timeout)."""

    def __init__(self, ports, interval, timeout=10.0):
        super().__init__(daemon=True)
        self.ports, self.interval, self.timeout = ports, interval, timeout
        self.latencies, self.failures, self.starts = ({name: [] for name in ports} for _ in range(3))
        self.stopping = threading.Event()

    def run(self):
        names = list(self.ports)
        n = 0
        while not self.stopping.is_set():
            name = names[n % len(names)]
            n += 1
            start = time.monotonic()
            self.starts[name].append(time.time())
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.ports[name], timeout=self.timeout)
                c.request("GET", "/v2/health/live")
                status = c.getresponse().status
                c.close()
                if status != 200:
                    self.failures[name].append("status %d" % status)
            except OSError as e:
                self.failures[name].append(type(e).__name__)
            self.latencies[name].append((time.monotonic() - start) * 1000)
            self.stopping.wait(max(0.0, self.interval - (time.monotonic() - start)))

    def summary(self, name):
        v = sorted(self.latencies[name]) or [float("nan")]
        return {"probes": len(self.latencies[name]), "p50": v[len(v) // 2], "p99": v[min(len(v) - 1, int(len(v) * 0.99))],
                "max": v[-1], "probe_failures": len(self.failures[name])}


def safepoints(log):
    """The stop-the-world pauses in a -Xlog:safepoint log decorated with utctime: (start, end) in epoch seconds."""
    pauses = []
    if not os.path.exists(log):
        return pauses
    with open(log) as f:
        for line in f:
            m = re.match(r"\[([^\]]+)\].*Safepoint \"[^\"]*\".*Total: (\d+) ns", line)
            if m:
                end = time_of(m.group(1))
                pauses.append((end - int(m.group(2)) / 1e9, end))
    return pauses


def time_of(utc):
    """Epoch seconds of a JVM log's utctime decoration, e.g. 2026-12-07T15:04:05.123+0000."""
    return datetime.datetime.strptime(utc, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def attribute(probe, name, pauses, slow_ms):
    """How many probes of port name were slower than slow_ms, and how many of those spent at least half their time in a pause."""
    slow = in_pause = 0
    for start, ms in zip(probe.starts[name], probe.latencies[name]):
        if ms <= slow_ms:
            continue
        slow += 1
        end = start + ms / 1000
        paused = sum(max(0.0, min(end, b) - max(start, a)) for a, b in pauses)
        if paused * 1000 >= ms / 2:
            in_pause += 1
    return slow, in_pause


class Wakeup:
    """wakeup.c running beside the probe: how late the scheduler wakes a thread that needs nothing else."""

    def __init__(self, work):
        exe = os.path.join(work, "wakeup")
        if not os.path.exists(exe):
            cc = shutil.which("cc") or shutil.which("gcc")
            if not cc:
                sys.exit("a C compiler (cc) is needed for the wake-up probe")
            subprocess.run([cc, "-O2", "-o", exe, os.path.join(os.path.dirname(os.path.abspath(__file__)), "wakeup.c")], check=True)
        self.proc = subprocess.Popen([exe, "10"], stdout=subprocess.PIPE, text=True)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        n, p50, p99, top = self.proc.communicate()[0].split()
        return {"wake_n": int(n), "wake_p50": float(p50), "wake_p99": float(p99), "wake_max": float(top)}


def renice_bulk(pid, nice, prefixes=("mnv3-cpu-", "mnv3-batcher-", "mnv3-work-")):
    """Lowers the priority of the server's bulk threads (the model's, the batcher's, the parsing ones) by nice: how much of the
    liveness tail is theirs. pid is the JVM, or the launcher whose child it is."""
    def children(p):
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        if f.read().rsplit(")", 1)[1].split()[1] == str(p):
                            out.append(int(d))
                except OSError:
                    pass
        return out
    todo, count = [pid], 0
    while todo:
        p = todo.pop()
        todo += children(p)
        for tid in os.listdir("/proc/%d/task" % p) if os.path.isdir("/proc/%d/task" % p) else []:
            try:
                with open("/proc/%d/task/%s/comm" % (p, tid)) as f:
                    if f.read().startswith(prefixes):
                        os.setpriority(os.PRIO_PROCESS, int(tid), os.getpriority(os.PRIO_PROCESS, int(tid)) + nice)
                        count += 1
            except OSError:
                pass
    return count


def internal_failures(base):
    m = metric_values(base, "mnv3_request_failures_total")
    return sum(v for k, v in m.items() if 'reason="internal"' in k)


def run_build(label, jar, args, work, json_body, bin_body, header_length, round_):
    extra = [o for j in args.jvm if j.split("=", 1)[0] == label for o in j.split("=", 1)[1].split()]
    pause_log = os.path.join(work, "safepoints-%s-%d.log" % (label.replace(" ", "_"), round_))
    extra.append("-Xlog:safepoint:file=%s:utctime" % pause_log)
    env = None
    if jar:
        command = mnv3_command(jar)
        command[1:1] = extra
    else:
        command = mnv3_command(None)
        env = dict(os.environ, MNV3_JAVA_OPTS=" ".join([os.environ.get("MNV3_JAVA_OPTS", "")] + extra).strip())
    if args.server_cpus:
        command = ["taskset", "-c", args.server_cpus] + command
    server = Server(command, ["--model", args.model] + args.serve_arg, args.port, os.path.join(work, "serve-%s.log" % label), env)
    url = server.base + "/v2/models/%s/infer" % args.model
    bin_headers = ["Inference-Header-Content-Length: %d" % header_length]
    row = {"build": label}
    try:
        hey(url, bin_body, 4, headers=bin_headers, seconds=args.warmup)
        hey(url, json_body, 4, content_type="application/json", seconds=args.warmup)
        if args.renice_bulk.get(label):  # after the warm-up, which starts the parsing threads
            n = renice_bulk(server.proc.pid, args.renice_bulk[label])
            say("%s: %d bulk threads reniced by %d" % (label, n, args.renice_bulk[label]))
        # liveness with the server idle: on a shared machine its tail is the machine's, the yardstick for the one under load
        ports = {name: {"main": args.port, "probe": args.port + 2}[name] for name in args.probe_ports}
        idle = LivenessProbe(ports, args.probe_ms / 1000)
        idle.start()
        time.sleep(args.idle_seconds)
        idle.stopping.set()
        idle.join()
        say("%s: overload, %s of JSON over %d connections ..." % (
            label, "%g s" % args.overload_seconds if args.overload_seconds else "%d requests" % args.requests, args.clients))
        probe = LivenessProbe(ports, args.probe_ms / 1000)
        wakeup = Wakeup(work)
        probe.start()
        start = time.monotonic()
        r = hey(url, json_body, args.clients, content_type="application/json", timeout=args.timeout, cpus=args.hey_cpus,
                **({"seconds": args.overload_seconds} if args.overload_seconds else {"requests": args.requests}))
        row["overload_s"] = time.monotonic() - start
        probe.stopping.set()
        probe.join()
        row.update(wakeup.stop())
        pauses = safepoints(pause_log)
        row["pause_max"] = max((b - a for a, b in pauses), default=0) * 1000
        row["live"] = {}
        for name in ports:
            live = probe.summary(name)
            live["slow"], live["slow_in_pause"] = attribute(probe, name, pauses, args.slow_ms)
            live["idle_p50"], live["idle_p99"] = idle.summary(name)["p50"], idle.summary(name)["p99"]
            row["live"][name] = live
        row["codes"], row["errors"] = r["codes"], r["errors"]
        row["answered"] = sum(r["codes"].values())
        row["dropped"] = sum(r["errors"].values())
        row["json_p50"], row["json_p99"] = r["p50"], r["p99"]
        row["internal"] = internal_failures(server.base)
        say("%s: throughput at %d clients, JSON and binary ..." % (label, args.throughput_clients))
        j = hey(url, json_body, args.throughput_clients, content_type="application/json", seconds=args.seconds, timeout=args.timeout,
                cpus=args.hey_cpus)
        b = hey(url, bin_body, args.throughput_clients, headers=bin_headers, seconds=args.seconds, timeout=args.timeout,
                cpus=args.hey_cpus)
        row["json_rps"], row["bin_rps"] = j["served_rps"], b["served_rps"]
        row["tp_non200"] = {k: v for d in (j, b) for k, v in d["codes"].items() if k != "200"}
    finally:
        row["exit"] = server.stop()
    say("%s: %s" % (label, json.dumps(row)))
    return row


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jar", action="append", default=[], metavar="LABEL=PATH", help="a server build to run (default: ./mnv3)")
    p.add_argument("--model", default="large")
    p.add_argument("--serve-arg", action="append", default=[], help="another serve option, e.g. --serve-arg=--threads=2")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--overload-seconds", type=float, help="send the overload for this long instead of --requests")
    p.add_argument("--jvm", action="append", default=[], metavar="LABEL=OPTIONS",
                   help="more JVM options for the build LABEL, e.g. --jvm zgc=-XX:+UseZGC (one build may be named twice)")
    p.add_argument("--renice-bulk", action="append", default=[], metavar="LABEL=N",
                   help="raise the nice value of build LABEL's model, batcher and parsing threads by N once it is ready")
    p.add_argument("--hey-cpus", help="run hey on these processors only (taskset -c), e.g. 1")
    p.add_argument("--server-cpus", help="run the server on these processors only (taskset -c), e.g. 0")
    p.add_argument("--slow-ms", type=float, default=50, help="a probe slower than this is lined up with the pauses (default: 50)")
    p.add_argument("--timeout", type=int, default=120, help="hey's timeout per request, s (default: 120)")
    p.add_argument("--probe-ms", type=float, default=100, help="one liveness probe every this many ms, to each port in turn")
    p.add_argument("--probe-ports", default="main", help="the ports probed, in turn: main (the REST port), probe (serve's --probe-port, "
                   "which the script puts at --port + 2), or main,probe (default: main)")
    p.add_argument("--idle-seconds", type=float, default=5, help="liveness probed with the server idle first (default: 5)")
    p.add_argument("--throughput-clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--port", type=int, default=18700)
    args = p.parse_args()
    args.renice_bulk = {k: int(v) for k, v in (r.split("=", 1) for r in args.renice_bulk)}
    args.probe_ports = args.probe_ports.split(",")
    if not args.probe_ports or any(n not in ("main", "probe") for n in args.probe_ports):
        sys.exit("--probe-ports takes main, probe or main,probe")
    require_hey()
    builds = [tuple(j.split("=", 1)) for j in args.jar] or [("this tree", None)]
    work = tempfile.mkdtemp(prefix="mnv3-serve-overload-")
    json_body, bin_body, header_length = bodies(args.size, work)
    say("bodies: JSON %.1f MB, binary %.1f MB (in %s)" % (os.path.getsize(json_body) / 1e6, os.path.getsize(bin_body) / 1e6, work))
    load_before = os.getloadavg()
    rows = []
    for n in range(args.rounds):
        for label, jar in builds:
            rows.append(run_build(label, jar, args, work, json_body, bin_body, header_length, n))
    load_after = os.getloadavg()

    print("Machine: %s; load average %.1f before, %.1f after (other processes share it)." % (
        cpu_description(), load_before[0], load_after[0]))
    print("Command: benchmarks/serve/overload.py %s" % " ".join(sys.argv[1:]))
    print("Model %s, %dx%d, serve's defaults%s; overload: %s of JSON (%.1f MB each) over %d connections; "
          "liveness probed every %g ms (%s in turn).%s%s%s" % (
              args.model, args.size, args.size, " + " + " ".join(args.serve_arg) if args.serve_arg else "",
              "%g s" % args.overload_seconds if args.overload_seconds else "%d requests" % args.requests,
              os.path.getsize(json_body) / 1e6, args.clients, args.probe_ms, ", ".join(args.probe_ports),
              "".join(" JVM options of %s: %s." % tuple(j.split("=", 1)) for j in args.jvm),
              " hey on processors %s." % args.hey_cpus if args.hey_cpus else "",
              " Server on processors %s." % args.server_cpus if args.server_cpus else "")
          + "".join(" Bulk threads of %s reniced by %d." % kv for kv in args.renice_bulk.items()) + "\n")
    print("| build | answered (by status) | dropped (hey's errors) | JSON p50 / p99 s | port probed | probes | live p50 / p99 / max ms "
          "| live failures | slow probes (> %g ms) / in a pause | longest pause ms | wake-up lateness p50 / p99 / max ms "
          "| idle live p50 / p99 ms | internal failures | JSON / binary img/s served at %d clients | exit on SIGTERM |"
          % (args.slow_ms, args.throughput_clients))
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        codes = ", ".join("%s: %d" % kv for kv in sorted(r["codes"].items()))
        dropped = "%d%s" % (r["dropped"], (" (" + "; ".join("%s: %d" % kv for kv in r["errors"].items()) + ")") if r["errors"] else "")
        for name, live in r["live"].items():
            print("| %s | %d (%s) | %s | %.1f / %.1f | %s | %d | %.0f / %.0f / %.0f | %d | %d / %d | %.1f | %.1f / %.1f / %.1f | %.0f / %.0f "
                  "| %d | %.1f / %.1f = %.2f | %s |" % (
                      r["build"], r["answered"], codes, dropped, (r["json_p50"] or 0) / 1000, (r["json_p99"] or 0) / 1000, name,
                      live["probes"], live["p50"], live["p99"], live["max"], live["probe_failures"], live["slow"], live["slow_in_pause"],
                      r["pause_max"], r["wake_p50"], r["wake_p99"], r["wake_max"], live["idle_p50"], live["idle_p99"], r["internal"],
                      r["json_rps"], r["bin_rps"], r["json_rps"] / max(r["bin_rps"], 1e-9), r["exit"]))


if __name__ == "__main__":
    main()
