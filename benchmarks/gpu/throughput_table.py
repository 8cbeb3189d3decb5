#!/usr/bin/env python3
"""Prints the benchmark table of the GPU check from JSON lines (one object per line; other lines,
logs, are ignored), read from the files given:

  mnv3     `mnv3 bench --json` lines: "backend", "precision", "cuda_graphs", "batch", ...
  PyTorch  torch_bench.py lines: "peer", "precision", "batch", ...

Either kind is a result ("images_per_second", "p50_ms", "p99_ms") or a failure ("error"); a
line with "error" and "source" instead (device-check.sh's: a script timed out) is a failure too.
Printed: images/s with one row per batch size and one column per mnv3 (precision, CUDA graphs
+g / -g, " xC" for C concurrent clients, " drv" without cuDNN) and per PyTorch peer; the per-batch latency p50 in the same layout; the goal ratios,
each PASS or MISS (MISS too when a point it needs is missing); then the failures. A point that
was not measured is "-". The later of two lines for the same point wins.
"""
import json
import sys

BATCHES = (1, 8, 64, 256)
PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
PEERS = ("eager-fp32", "eager-fp16-cl", "compile-fp16-cl")
LATENCY_GOAL_MS = 0.3


def read_lines(paths):
    """The JSON objects of the files, in order; a missing file reads as empty."""
    out = []
    for path in paths:
        try:
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if not line.startswith("{"):
                        continue
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(obj, dict):
                        out.append(obj)
        except OSError:
            pass
    return out


def column(r):
    """The column a line belongs to: ("mnv3", label) or ("torch", peer); None if neither."""
    if "peer" in r:
        return ("torch", str(r["peer"]))
    if "backend" in r:
        label = f"{str(r.get('precision', '?')).lower()}{'+g' if r.get('cuda_graphs') else '-g'}"
        clients = r.get("clients", 1)
        if isinstance(clients, int) and clients > 1:
            label += f" x{clients}"  # several threads calling at once (mnv3 bench --clients)
        if r.get("cudnn") is False:
            label += " drv"  # the NVIDIA driver alone: mnv3's kernels, no cuDNN (mnv3 bench --cudnn off)
        return ("mnv3", label if r["backend"] == "cuda" else f"{r['backend']} {r.get('precision', '?')}")
    return None


def ours(precision, graphs, driver_only=False):
    return ("mnv3", f"{precision}{'+g' if graphs else '-g'}{' drv' if driver_only else ''}")


def collect(lines):
    """(results by (column, batch), errors as (column, batch or None, message), columns, batches)."""
    results, errors = {}, []
    columns = [ours(p, g) for g in (True, False) for p in PRECISIONS] + [("torch", p) for p in PEERS]
    batches = set(BATCHES)
    for r in lines:
        col = column(r)
        if col is None:  # e.g. {"source": "torch_bench.py", "error": "timed out"} from device-check.sh
            if "error" in r:
                errors.append((("other", str(r.get("source", "?"))), None, str(r["error"])))
            continue
        if col not in columns:
            columns.append(col)
        batch = r.get("batch")
        batch = int(batch) if isinstance(batch, (int, float)) else None
        if batch is not None:
            batches.add(batch)
        if "error" in r:
            errors.append((col, batch, str(r["error"])))
        elif batch is not None and "images_per_second" in r:
            results[(col, batch)] = r
    return results, errors, columns, sorted(batches)


def fmt(v, decimals):
    return "-" if v is None else f"{v:.{decimals}f}"


def table(title, results, columns, batches, key, decimals):
    widths = [max(len(c[1]), 8) for c in columns]
    mnv3 = [w for c, w in zip(columns, widths) if c[0] == "mnv3"]
    torch = [w for c, w in zip(columns, widths) if c[0] == "torch"]
    span = lambda ws, name: f" {name} ".center(sum(ws) + 2 * len(ws) - 2, "-") if ws else ""
    rows = [title,
            f"{'':>5}  {span(mnv3, 'mnv3')}{'  ' if mnv3 and torch else ''}{span(torch, 'PyTorch')}",
            f"{'batch':>5}  " + "  ".join(f"{c[1]:>{w}}" for c, w in zip(columns, widths))]
    for b in batches:
        cells = [fmt(results.get((c, b), {}).get(key), decimals) for c in columns]
        rows.append(f"{b:>5}  " + "  ".join(f"{v:>{w}}" for v, w in zip(cells, widths)))
    return rows


def ips(results, col, batch):
    r = results.get((col, batch))
    return r.get("images_per_second") if r else None


def ratio_line(batch, names, num, den, goal, strict):
    """`batch B: A / B: R.RRx (goal >= G) PASS|MISS`; MISS, naming what is missing, when a point is."""
    head = f"batch {batch:>3}: {names[0]} / {names[1]}:"
    want = f"(goal {'>' if strict else '>='} {goal:.1f}x)"
    missing = " and ".join(name for name, v in zip(names, (num, den)) if not v)
    if missing:
        return f"{head} -  {want}  MISS (not measured: {missing})"
    r = num / den
    return f"{head} {r:.2f}x  {want}  {'PASS' if (r > goal if strict else r >= goal) else 'MISS'}"


def goals(results):
    fp16g, fp32g = ours("fp16", True), ours("fp32", True)
    lines = [ratio_line(256, ("mnv3 fp16+g", "PyTorch eager-fp16-cl"), ips(results, fp16g, 256),
                        ips(results, ("torch", "eager-fp16-cl"), 256), 1.5, False),
             ratio_line(256, ("mnv3 fp16+g", "PyTorch compile-fp16-cl"), ips(results, fp16g, 256),
                        ips(results, ("torch", "compile-fp16-cl"), 256), 1.0, False)]
    p50 = {p: results[(ours(p, True), 1)].get("p50_ms") for p in PRECISIONS if (ours(p, True), 1) in results}
    p50 = {p: v for p, v in p50.items() if v is not None}
    head, want = "batch   1: mnv3 latency p50 with CUDA graphs:", f"(goal <= {LATENCY_GOAL_MS} ms)"
    if p50:
        best = min(p50, key=p50.get)
        others = ", ".join(f"{p} {fmt(p50.get(p), 3)}" for p in PRECISIONS if p != best)
        lines.append(f"{head} {p50[best]:.3f} ms ({best}; {others})  {want}  "
                     f"{'PASS' if p50[best] <= LATENCY_GOAL_MS else 'MISS'}")
    else:
        lines.append(f"{head} -  {want}  MISS (not measured: no mnv3 batch-1 point with CUDA graphs)")
    for b in BATCHES:
        lines.append(ratio_line(b, ("mnv3 fp32+g", "PyTorch eager-fp32"), ips(results, fp32g, b),
                                ips(results, ("torch", "eager-fp32"), b), 1.0, True))
    lines.append(ratio_line(256, ("mnv3 fp16+g drv", "mnv3 fp16+g"), ips(results, ours("fp16", True, True), 256),
                            ips(results, fp16g, 256), 1.0, False))
    return lines


def failures(errors):
    """One line per column and message, with the batch sizes it hit."""
    grouped = {}
    for col, batch, msg in errors:
        grouped.setdefault((col, msg), []).append(batch)
    out = []
    for (col, msg), bs in grouped.items():
        known = sorted({b for b in bs if b is not None})
        where = f" batch {', '.join(map(str, known))}" if known else ""
        kind = {"mnv3": "mnv3 ", "torch": "PyTorch "}.get(col[0], "")
        out.append(f"  {kind}{col[1]}{where}: {msg}")
    return out


def render(lines):
    results, errors, columns, batches = collect(lines)
    first = next((r for r in lines if r.get("device")), {})
    device = first.get("device", "?")
    model = next((r.get("model") for r in lines if r.get("model")), "large")
    size = next((r.get("size") for r in lines if r.get("size")), None)
    if size is None:
        r = next((r for r in lines if r.get("height")), None)
        size = f"{r['height']}x{r['width']}" if r else "224x224"
    out = table(f"throughput in images/s, mobilenet_v3_{model} {size}, {device}, torch {first.get('torch', '?')} "
                "(mnv3 +g: CUDA graphs replayed, -g: every kernel launched each run, drv: without cuDNN)",
                results, columns, batches, "images_per_second", 1)
    out += [""] + table("latency per batch p50 in ms", results, columns, batches, "p50_ms", 3)
    out += ["", "goals:"] + ["  " + g for g in goals(results)]
    if errors:
        out += ["", f"failed or skipped points ({len(errors)}):"] + failures(errors)
    if not results and not errors:
        out += ["", "(no measurements)"]
    return "\n".join(out)


def main(argv):
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    print(render(read_lines(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
