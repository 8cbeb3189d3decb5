#!/usr/bin/env python3
"""Compares mnv3's logits (`mnv3 run --output`, tensor "logits") with torchvision's
(tools/reference/make_reference.py, tensor "classifier.3"): relative L2 error against a
tolerance and top-1 agreement. Exit status 1 when either fails."""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "reference"))
import safetensors_io  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("expected", help="make_reference.py's expected.safetensors")
    p.add_argument("ours", help="the safetensors file mnv3 run wrote")
    p.add_argument("--tolerance", type=float, default=1e-5, help="rel L2 bound (default 1e-5, FP32)")
    args = p.parse_args()
    want = safetensors_io.load(args.expected)["classifier.3"].double()
    got = safetensors_io.load(args.ours)["logits"].double()
    if got.shape != want.shape:
        print(f"FAIL: shape {list(got.shape)} differs from torchvision's {list(want.shape)}")
        return 1
    rel = ((got - want).norm() / want.norm()).item()
    max_abs = (got - want).abs().max().item()
    top1 = (got.argmax(1) == want.argmax(1)).double().mean().item()
    ok = rel <= args.tolerance and top1 == 1.0
    print(f"{'PASS' if ok else 'FAIL'}: logits {list(got.shape)} rel L2 {rel:.3e} (<= {args.tolerance:g}), "
          f"max abs {max_abs:.3e}, top-1 agreement {top1:.0%}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
