#!/usr/bin/env python3
"""Writes the GPU check's measurements as results.json, the format of `mnv3 bench --report`
(docs/benchmark-report.md), from JSON lines read from the files given: `mnv3 bench --json`
lines (engine "mnv3") and torch_bench.py's (engine "torch PEER", e.g. "torch eager-fp16-cl").
Other lines (logs, a step's timeout) are left out. The page is then drawn where the full mnv3
runs (the kit's has no charting library): mnv3 bench --report DIR --from results.json

usage: results_json.py OUT.json FILE...
"""
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from throughput_table import read_lines  # noqa: E402

FORMAT = "mnv3-bench-results/1"


def measurement(r):
    """One line as a measurement, or None for a line that is none (no batch, or neither kind)."""
    if not isinstance(r.get("batch"), int):
        return None
    if "backend" in r:
        return {"engine": "mnv3", **r}
    if "peer" in r:
        m = {"engine": f"torch {r['peer']}", "backend": "cuda", **r}
        size = str(m.pop("size", ""))
        if "x" in size:
            h, w = size.split("x", 1)
            if h.isdigit() and w.isdigit():
                m["height"], m["width"] = int(h), int(w)
        return m
    return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def results(lines, command=""):
    ms = [m for m in (measurement(r) for r in lines) if m is not None]
    gpu = next((str(m["device"]) for m in ms if m.get("device")), None)
    torch_version = next((str(m["torch"]) for m in ms if m.get("torch")), None)
    machine = {"cpu": cpu_model(), "processors": os.cpu_count(), "gpu": gpu, "os": platform.platform()}
    if torch_version:
        machine["peer"] = f"PyTorch {torch_version}"
    return {"format": FORMAT, "title": "mnv3 against PyTorch on the GPU", "command": command,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine, "measurements": ms}


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    out = results(read_lines(argv[1:]), "benchmarks/gpu/results_json.py " + " ".join(argv))
    with open(argv[0], "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(f"{argv[0]}: {len(out['measurements'])} measurements", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
