#!/usr/bin/env python3
"""Throughput and latency of `mnv3 serve` under load, with batching on and off.

For each mode it starts `./mnv3 serve` on loopback, then for each number of concurrent clients
runs `hey` (Debian's load generator) against POST /v2/models/NAME/infer with one image per
request in Triton's binary tensor data, for --seconds after an untimed --warmup. It reports
requests (= images) per second, hey's p50 and p99 latency, and the mean batch the batcher formed
in that window (from /metrics). Then it runs `./mnv3 bench` in its own process at each batch size
the batcher formed, and gives served throughput as a share of bench's at that batch size, and the
issue's latency goal at one client: p99 <= the model's batch-1 latency + the queue delay + 2 ms.

    benchmarks/serve/bench.py                        # Large, CPU, clients 1,4,16,64, 10 s each
    benchmarks/serve/bench.py --model small --seconds 5 --clients 1,16
    benchmarks/serve/bench.py --report DIR           # also results.json, results.csv and report.html (charts) in DIR

Needs hey and curl-free Python 3 (stdlib only); tools/serve-test-clients.sh installs hey.
"""
import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time

from common import require_hey, MNV3, ROOT, Server, cpu_description, hey, metric_values, mnv3_command, say


def batch_counts(base):
    m = metric_values(base, "mnv3_batch_size_")
    return m.get("mnv3_batch_size_sum", 0.0), m.get("mnv3_batch_size_count", 0.0)


def request_body(size, path):
    """One image [1,3,size,size] of random normal values as binary tensor data; returns the JSON header's length."""
    rnd = random.Random(1)
    n = 3 * size * size
    raw = struct.pack("<%df" % n, *(rnd.gauss(0.0, 1.0) for _ in range(n)))
    header = json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, size, size],
                                     "parameters": {"binary_data_size": len(raw)}}],
                         "parameters": {"binary_data_output": True}}).encode()
    with open(path, "wb") as f:
        f.write(header + raw)
    return len(header)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="large")
    p.add_argument("--backend", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads of the server (default: all)")
    p.add_argument("--instances", type=int, default=0, help="model instances (default: serve's)")
    p.add_argument("--size", type=int, default=224, help="image size H = W (default: 224)")
    p.add_argument("--clients", default="1,4,16,64")
    p.add_argument("--modes", default="on,off", help="batching on (--max-batch-size) and off (1)")
    p.add_argument("--max-batch-size", type=int, default=8)
    p.add_argument("--delay-us", type=int, default=1000, help="--max-queue-delay-us (default: 1000)")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--port", type=int, default=18600)
    p.add_argument("--report", metavar="DIR", help="also write DIR/results.json, results.csv and report.html, as "
                   "./mnv3 bench --report does (DIR new, empty, or holding only those files)")
    args = p.parse_args()
    require_hey()
    if args.report:
        check_report_dir(args.report)
    clients = [int(c) for c in args.clients.split(",")]
    subprocess.run([MNV3, "--version"], check=True, capture_output=True)  # builds on first use

    work = tempfile.mkdtemp(prefix="mnv3-serve-bench-")
    body = os.path.join(work, "request.bin")
    header_length = request_body(args.size, body)
    load_before = os.getloadavg()
    rows = []
    for mode in args.modes.split(","):
        max_batch = args.max_batch_size if mode == "on" else 1
        say("batching %s: starting serve (max batch %d) ..." % (mode, max_batch))
        serve_args = ["--model", args.model, "--max-batch-size", str(max_batch), "--max-queue-delay-us", str(args.delay_us),
                      "--queue-limit", "1024", "--crop", str(args.size), "--resize", str(args.size)]
        for flag, value in (("--backend", args.backend), ("--threads", args.threads), ("--instances", args.instances)):
            if value:
                serve_args += [flag, str(value)]
        server = Server(mnv3_command(), serve_args, args.port, os.path.join(work, "serve-%s.log" % mode))
        url = server.base + "/v2/models/%s/infer" % args.model
        try:
            for c in clients:
                headers = ["Inference-Header-Content-Length: %d" % header_length]
                hey(url, body, c, headers=headers, seconds=args.warmup)
                s0, n0 = batch_counts(server.base)
                r = hey(url, body, c, headers=headers, seconds=args.seconds)
                s1, n1 = batch_counts(server.base)
                r.update(mode=mode, clients=c, mean_batch=(s1 - s0) / max(1.0, n1 - n0))
                bad = {k: v for k, v in r["codes"].items() if k != "200"}
                say("  %2d clients: %7.1f img/s  p50 %7.2f ms  p99 %7.2f ms  mean batch %.2f%s" % (
                    c, r["rps"], r["p50"], r["p99"], r["mean_batch"], "  NON-200: %s" % bad if bad or r["errors"] else ""))
                rows.append(r)
        finally:
            server.stop()

    batches = sorted({max(1, min(args.max_batch_size, round(r["mean_batch"]))) for r in rows} | {1})
    say("mnv3 bench at batch %s ..." % ",".join(map(str, batches)))
    cmd = [MNV3, "bench", "--model", args.model, "--backend", args.backend, "--size", "%dx%d" % (args.size, args.size),
           "--batch", ",".join(map(str, batches)), "--seconds", str(args.seconds), "--json"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    bench = {}
    for line in subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout.splitlines():
        if line.startswith("{"):
            j = json.loads(line)
            bench[j["batch"]] = j
    load_after = os.getloadavg()

    print("Machine: %s; load average %.1f before, %.1f after (other processes share it)." % (
        cpu_description(), load_before[0], load_after[0]))
    print("Command: benchmarks/serve/bench.py %s" % " ".join(sys.argv[1:]))
    print("Model %s, %s backend, %dx%d, one image per request (binary tensor data), max batch %d, queue delay %d us.\n" % (
        args.model, args.backend, args.size, args.size, args.max_batch_size, args.delay_us))
    print("| batching | clients | served img/s | p50 ms | p99 ms | mean batch formed | bench img/s at that batch | served / bench |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        b = max(1, min(args.max_batch_size, round(r["mean_batch"])))
        ref = bench[b]["images_per_second"]
        print("| %s | %d | %.1f | %.2f | %.2f | %.2f | %.1f (batch %d) | %.2f |" % (
            r["mode"], r["clients"], r["rps"], r["p50"], r["p99"], r["mean_batch"], ref, b, r["rps"] / ref))
    b1 = bench[1]
    print("\nbench batch 1: %.2f ms p50, %.2f ms p99 per batch." % (b1["p50_ms"], b1["p99_ms"]))
    for r in rows:
        if r["mode"] == "on" and r["clients"] == 1:
            goal = b1["p50_ms"] + args.delay_us / 1000 + 2
            print("Latency goal at 1 client, batching on: p99 %.2f ms <= batch-1 latency %.2f + delay %.2f + 2 ms = %.2f ms: %s" % (
                r["p99"], b1["p50_ms"], args.delay_us / 1000, goal, "met" if r["p99"] <= goal else "NOT met"))
        if r["mode"] == "on" and r["clients"] == 16:
            b = max(1, min(args.max_batch_size, round(r["mean_batch"])))
            share = r["rps"] / bench[b]["images_per_second"]
            print("Throughput goal at 16 clients, batching on: %.0f%% of bench at batch %d (goal 90%%): %s" % (
                100 * share, b, "met" if share >= 0.9 else "NOT met"))
    if args.report:
        write_report(args, rows, bench)
    say("logs in " + work)


REPORT_FILES = ("results.json", "results.csv", "report.html")


def check_report_dir(path):
    """Before the run, as mnv3 bench --report checks it: nothing but the report's own files is ever replaced."""
    if os.path.exists(path) and not os.path.isdir(path):
        sys.exit("--report %s: not a directory" % path)
    others = sorted(set(os.listdir(path)) - set(REPORT_FILES)) if os.path.isdir(path) else []
    if others:
        sys.exit("--report %s: the directory holds other files (%s); name a new or empty directory" % (path, ", ".join(others[:3])))


def write_report(args, rows, bench):
    """Served points (one image per request; an engine per batching mode) and bench's, as results.json; mnv3 draws the page."""
    common = {"model": args.model, "backend": args.backend, "height": args.size, "width": args.size}
    ms = [{"engine": "mnv3 serve, batching " + r["mode"], **common, "batch": 1, "clients": r["clients"],
           "images_per_second": r["rps"], "p50_ms": r["p50"], "p99_ms": r["p99"], "mean_batch": r["mean_batch"],
           "max_batch_size": args.max_batch_size if r["mode"] == "on" else 1, "queue_delay_us": args.delay_us} for r in rows]
    ms += [{"engine": "mnv3", **bench[b]} for b in sorted(bench)]
    results = {"format": "mnv3-bench-results/1", "title": "mnv3 serve under load",
               "command": "benchmarks/serve/bench.py " + " ".join(sys.argv[1:]),
               "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "machine": {"cpu": cpu_description(), "processors": os.cpu_count()}, "measurements": ms}
    os.makedirs(args.report, exist_ok=True)
    with open(os.path.join(args.report, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    subprocess.run([MNV3, "bench", "--report", args.report, "--from", os.path.join(args.report, "results.json")], check=True)


if __name__ == "__main__":
    main()
