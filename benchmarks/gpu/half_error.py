#!/usr/bin/env python3
"""How far FP16 moves the logits, ours beside PyTorch's, on the same weights and input: mnv3's
FP16 logits (`mnv3 run --precision fp16 --output`) and torchvision's own FP16 channels_last run
on this GPU, each against torchvision's FP32 logits (make_reference.py's expected.safetensors).
PyTorch's error is the yardstick for ours: a random-weight network amplifies rounding, so the
absolute number says as much about the weights as about the implementation.
Exit status 1 when ours exceeds --tolerance or disagrees on a top-1 class."""
import argparse
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "reference"))
import safetensors_io  # noqa: E402


def error(got, want):
    got, want = got.double().cpu(), want.double().cpu()
    rel = ((got - want).norm() / want.norm()).item()
    return rel, (got.argmax(1) == want.argmax(1)).double().mean().item()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("reference", help="make_reference.py's --out directory (weights, input, expected)")
    p.add_argument("ours", help="the safetensors file `mnv3 run --precision fp16` wrote")
    p.add_argument("--model", choices=["large", "small"], default="large")
    p.add_argument("--tolerance", type=float, default=2e-2, help="rel L2 bound for ours (default 2e-2, Precision.FP16)")
    args = p.parse_args()
    want = safetensors_io.load(os.path.join(args.reference, "expected.safetensors"))["classifier.3"]
    x = safetensors_io.load(os.path.join(args.reference, "input.safetensors"))["input"]
    ours_rel, ours_top1 = error(safetensors_io.load(args.ours)["logits"], want)
    model = {"large": torchvision.models.mobilenet_v3_large, "small": torchvision.models.mobilenet_v3_small}[args.model]()
    model.load_state_dict(safetensors_io.load(os.path.join(args.reference, "weights.safetensors")))
    model = model.eval().cuda().half().to(memory_format=torch.channels_last)
    with torch.inference_mode():
        theirs = model(x.cuda().half().to(memory_format=torch.channels_last)).float()
    torch_rel, torch_top1 = error(theirs, want)
    ok = ours_rel <= args.tolerance and ours_top1 == 1.0
    print(f"FP16 logits vs torchvision FP32, {args.model} {list(x.shape)}: mnv3 rel L2 {ours_rel:.3e} "
          f"(top-1 {ours_top1:.0%}), PyTorch eager FP16 channels_last rel L2 {torch_rel:.3e} (top-1 {torch_top1:.0%}); "
          f"{'PASS' if ok else 'FAIL'} (<= {args.tolerance:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
