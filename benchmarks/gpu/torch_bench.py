#!/usr/bin/env python3
"""The PyTorch peer of `mnv3 bench`: torchvision mobilenet_v3_large (or _small), eager FP32, on
the same GPU, timed per batch with CUDA events.

Strict FP32 as mnv3 runs it (TF32 off in cuDNN and matmuls), cudnn.benchmark on (how eager
PyTorch is deployed), random weights (no download). Each timed iteration copies a pinned input
batch to the GPU, runs the model, and copies the logits back, as `mnv3 bench` does.
Prints one JSON object per batch size: {"batch", "images_per_second", "p50_ms", "p99_ms", ...}.
"""
import argparse
import json
import statistics

import torch
import torchvision


def bench(model, batch, size, iterations, warmup):
    h, w = size
    x = torch.randn(batch, 3, h, w).pin_memory()
    start = [torch.cuda.Event(enable_timing=True) for _ in range(iterations)]
    end = [torch.cuda.Event(enable_timing=True) for _ in range(iterations)]
    with torch.inference_mode():
        for _ in range(warmup):
            model(x.cuda(non_blocking=True)).cpu()
        torch.cuda.synchronize()
        for i in range(iterations):
            start[i].record()
            logits = model(x.cuda(non_blocking=True)).to("cpu", non_blocking=True)
            end[i].record()
        torch.cuda.synchronize()
    assert logits.shape == (batch, 1000)
    ms = sorted(s.elapsed_time(e) for s, e in zip(start, end))
    mean = statistics.fmean(ms)
    return {"batch": batch, "images_per_second": batch * 1000.0 / mean, "mean_ms": mean,
            "p50_ms": ms[len(ms) // 2], "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
            "iterations": iterations}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["large", "small"], default="large")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 8, 64])
    p.add_argument("--size", default="224x224")
    p.add_argument("--seconds", type=float, default=4.0, help="rough time budget per batch size")
    args = p.parse_args()

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    ctor = {"large": torchvision.models.mobilenet_v3_large, "small": torchvision.models.mobilenet_v3_small}[args.model]
    model = ctor().eval().cuda()
    h, w = (int(v) for v in args.size.lower().split("x"))
    device = torch.cuda.get_device_name()
    for batch in args.batch:
        probe = bench(model, batch, (h, w), iterations=5, warmup=5)
        iterations = max(10, min(1000, int(args.seconds * 1000 / probe["mean_ms"])))
        result = bench(model, batch, (h, w), iterations=iterations, warmup=10)
        result.update({"peer": "pytorch-eager-fp32", "model": args.model, "size": args.size, "device": device,
                       "torch": torch.__version__, "torchvision": torchvision.__version__})
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
