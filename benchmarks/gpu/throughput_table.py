#!/usr/bin/env python3
"""Prints the throughput table of the GPU check: mnv3 (`mnv3 bench --json`) beside PyTorch
eager FP32 (torch_bench.py), one row per batch size. Reads JSON objects, one per line, from the
files given; lines that are not JSON objects (logs) are ignored."""
import json
import sys


def read(path):
    rows = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        r = json.loads(line)
                    except ValueError:
                        continue
                    if "batch" in r:
                        rows[int(r["batch"])] = r
    except OSError:
        pass
    return rows


def cell(r, key, width, decimals):
    return f"{r[key]:{width}.{decimals}f}" if r and key in r else f"{'-':>{width}}"


def main():
    ours, torch = read(sys.argv[1]), read(sys.argv[2])
    device = next((r.get("device") for r in list(torch.values()) + list(ours.values()) if r.get("device")), "?")
    print(f"throughput, mobilenet_v3_large FP32 224x224, {device} (images/s; latency per batch in ms)")
    print(f"{'batch':>5}  {'mnv3 img/s':>11} {'p50':>8} {'p99':>8}   {'torch img/s':>11} {'p50':>8} {'p99':>8}   {'mnv3/torch':>10}")
    for b in sorted(set(ours) | set(torch)):
        o, t = ours.get(b), torch.get(b)
        ratio = (f"{o['images_per_second'] / t['images_per_second']:.2f}x"
                 if o and t and t.get("images_per_second") else "-")
        print(f"{b:>5}  {cell(o, 'images_per_second', 11, 1)} {cell(o, 'p50_ms', 8, 3)} {cell(o, 'p99_ms', 8, 3)}"
              f"   {cell(t, 'images_per_second', 11, 1)} {cell(t, 'p50_ms', 8, 3)} {cell(t, 'p99_ms', 8, 3)}"
              f"   {ratio:>10}")
    if not ours and not torch:
        print("(no measurements)")


if __name__ == "__main__":
    main()
