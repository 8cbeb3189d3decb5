#!/usr/bin/env python3
"""Exports torchvision's MobileNetV3 with the given safetensors weights to ONNX (dynamic batch),
so that ONNX Runtime runs exactly the model mnv3 runs. Works on PyTorch 1.13 and 2.x."""
import argparse
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "reference"))
import safetensors_io  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", choices=["large", "small"], required=True)
    p.add_argument("--weights", required=True, help="safetensors under torchvision names")
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=224)
    args = p.parse_args()
    ctor = {"large": torchvision.models.mobilenet_v3_large, "small": torchvision.models.mobilenet_v3_small}[args.model]
    model = ctor()
    missing, unexpected = model.load_state_dict(safetensors_io.load(args.weights), strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"weights do not fit {args.model}: missing {missing}, unexpected {unexpected}")
    model.eval()
    x = torch.randn(1, 3, args.size, args.size)
    torch.onnx.export(model, x, args.out, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
