#!/usr/bin/env python3
"""Compares mnv3's logits (`mnv3 run --output`, tensor "logits") with torchvision's
(tools/reference/make_reference.py, tensor "classifier.3"): relative L2 error against a
tolerance and top-1 agreement, one line per file of ours. Exit status 1 when any fails."""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "reference"))
import safetensors_io  # noqa: E402


def compare(want, ours, tolerance):
    """(passed, the line that says so) for one file of ours."""
    got = safetensors_io.load(ours)["logits"].double()
    name = os.path.basename(ours)
    if got.shape != want.shape:
        return False, f"FAIL {name}: shape {list(got.shape)} differs from torchvision's {list(want.shape)}"
    rel = ((got - want).norm() / want.norm()).item()
    max_abs = (got - want).abs().max().item()
    top1 = (got.argmax(1) == want.argmax(1)).double().mean().item()
    ok = rel <= tolerance and top1 == 1.0
    return ok, (f"{'PASS' if ok else 'FAIL'} {name}: logits {list(got.shape)} rel L2 {rel:.3e} (<= {tolerance:g}), "
                f"max abs {max_abs:.3e}, top-1 agreement {top1:.0%}")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("expected", help="make_reference.py's expected.safetensors")
    p.add_argument("ours", nargs="+", help="safetensors files mnv3 run wrote")
    p.add_argument("--tolerance", type=float, default=1e-5, help="rel L2 bound (default 1e-5, FP32)")
    args = p.parse_args()
    want = safetensors_io.load(args.expected)["classifier.3"].double()
    passed = True
    for ours in args.ours:
        ok, line = compare(want, ours, args.tolerance)
        print(line)
        passed &= ok
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
