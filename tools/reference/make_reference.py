#!/usr/bin/env python3
"""Reference data for mnv3's parity tests, from torchvision's own MobileNetV3.

Builds mobilenet_v3_large or _small, or seed-large (seed_large.py: the community layout that
models/seed-large.json describes), with seeded random weights (conv/linear weights He-scaled,
random biases, BatchNorm with random gamma, beta, running mean and running var, so folding is
exercised), or with the weights of --weights, runs one batch in eval mode, and writes to --out:

  weights.safetensors   the state_dict as the model names it (F32; num_batches_tracked I64)
  weights.pth           with --pth: the same state_dict as torch.save writes it
  input.safetensors     "input" [N,3,H,W] F32 (random N(0,1) unless --input is given)
  expected.safetensors  every node's output under mnv3's trace names: features.0 .. features.K,
                        avgpool [N,C,1,1], classifier.0 [N,hidden], classifier.3 = logits [N,classes]

Runs on PyTorch 1.13 (Debian's python3-torchvision) and 2.x, on the CPU or a GPU (--device).
"""
import argparse
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
import seed_large  # noqa: E402


def parse_size(s):
    parts = s.lower().split("x")
    if len(parts) == 1:
        parts = parts * 2
    h, w = (int(p) for p in parts)
    return h, w


def build(args):
    if args.model == "seed-large":
        if args.width != 1.0 or args.reduced_tail or args.dilated:
            sys.exit("seed-large has no width, --reduced-tail or --dilated options")
        return seed_large.SeedMobileNetV3Large(num_classes=args.classes)
    ctor = {"large": torchvision.models.mobilenet_v3_large,
            "small": torchvision.models.mobilenet_v3_small}[args.model]
    return ctor(width_mult=args.width, num_classes=args.classes,
                reduced_tail=args.reduced_tail, dilated=args.dilated)


@torch.no_grad()
def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)

    def normal(t, std):
        t.copy_(torch.randn(t.shape, generator=g) * std)

    def uniform(t, lo, hi):
        t.copy_(lo + (hi - lo) * torch.rand(t.shape, generator=g))

    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            fan_in = m.weight[0].numel()
            normal(m.weight, (2.0 / fan_in) ** 0.5)
            if m.bias is not None:
                normal(m.bias, 0.1)
        elif isinstance(m, torch.nn.BatchNorm2d):
            uniform(m.weight, 0.5, 1.5)
            normal(m.bias, 0.1)
            normal(m.running_mean, 0.2)
            uniform(m.running_var, 0.5, 2.0)


@torch.no_grad()
def trace(model, x):
    """The output of every node, named as mnv3's traced run names them."""
    out = {}
    for i, m in enumerate(model.features):
        x = m(x)
        out[f"features.{i}"] = x
    x = model.avgpool(x) if hasattr(model, "avgpool") else model.pool(x)
    out["avgpool"] = x
    x = torch.flatten(x, 1)
    c = model.classifier
    h = c[1](c[0](x))
    out["classifier.0"] = h
    out["classifier.3"] = c[3](c[2](h))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["large", "small", "seed-large"], required=True)
    p.add_argument("--width", type=float, default=1.0, help="width multiplier (default 1.0)")
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--reduced-tail", action="store_true")
    p.add_argument("--dilated", action="store_true")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--size", default="224x224", help="HxW or S (default 224x224)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights", help="use these weights (the model's own names) instead of random ones")
    p.add_argument("--input", help="use the 'input' tensor of this file instead of a random batch")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--pth", action="store_true", help="also write the random weights with torch.save (weights.pth)")
    p.add_argument("--out", required=True, help="output directory")
    args = p.parse_args()

    torch.manual_seed(args.seed)
    model = build(args)
    if args.weights:
        state = safetensors_io.load(args.weights)
        model.load_state_dict(state, strict=True)
    else:
        randomize(model, args.seed)
    model.eval()

    if args.input:
        x = safetensors_io.load(args.input)["input"].float()
    else:
        h, w = parse_size(args.size)
        x = torch.randn((args.batch, 3, h, w), generator=torch.Generator().manual_seed(args.seed + 1))

    device = torch.device(args.device)
    model = model.to(device)
    if device.type == "cuda":
        # strict FP32: no TF32 in cuDNN convolutions or matmuls
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    outputs = trace(model, x.to(device))
    with torch.no_grad():
        direct = model(x.to(device))
    assert torch.equal(direct, outputs["classifier.3"]), "traced forward differs from model(x)"

    os.makedirs(args.out, exist_ok=True)
    meta = {"torch": torch.__version__, "torchvision": torchvision.__version__, "model": args.model,
            "width": str(args.width), "classes": str(args.classes), "seed": str(args.seed),
            "device": args.device}
    if not args.weights:
        safetensors_io.save(os.path.join(args.out, "weights.safetensors"), model.cpu().state_dict(), meta)
        if args.pth:
            torch.save(model.cpu().state_dict(), os.path.join(args.out, "weights.pth"))
    if not args.input:
        safetensors_io.save(os.path.join(args.out, "input.safetensors"), {"input": x}, meta)
    safetensors_io.save(os.path.join(args.out, "expected.safetensors"),
                        {k: v.float().cpu() for k, v in outputs.items()}, meta)
    print(f"wrote {args.out}: {args.model} width {args.width} input {list(x.shape)} "
          f"(torch {torch.__version__}, torchvision {torchvision.__version__}, {args.device})")


if __name__ == "__main__":
    main()
