#!/usr/bin/env python3
"""The PyTorch peers of `mnv3 bench`: torchvision mobilenet_v3_large (or _small) on the same GPU,
random weights (no download), one JSON line per (peer, batch size).

Peers (--peers, all three by default):
  eager-fp32       strict FP32 as mnv3's fp32 runs it: TF32 off in cuDNN and matmuls, NCHW
  eager-fp16-cl    model.half() in channels_last; the input is an FP16 channels_last batch
  compile-fp16-cl  torch.compile of eager-fp16-cl (--compile-mode, "reduce-overhead" by default:
                   inductor's fused kernels replayed as CUDA graphs, its counterpart of mnv3's
                   graphs; "max-autotune*" modes autotune every conv and take minutes per shape)
cudnn.benchmark is on for all (how eager PyTorch is deployed). The FP16 peers return the logits
as float32, inside the model (compiled with it), as mnv3 does.

Timing is mnv3 bench's: each run copies a pinned host batch to the GPU, runs the model, copies
the logits back and waits for them; a run's latency is its wall time, images/s is images over
the summed latencies; untimed warm-up first, then runs for --seconds (at least 3). CUDA events
around each run also give the GPU-side time (gpu_p50_ms). Each batch size of the compiled peer
is compiled afresh (static shapes); its compile time (the first calls, CUDA-graph recording
included) is reported as compile_s and is not timed. Batch sizes run largest first.

Every line has "peer", "precision", "batch", and either "images_per_second", "p50_ms", "p99_ms"
or "error" (torch.compile missing or failing, out of memory, --deadline reached); a failure is
reported and the rest goes on. Exits 1 if a point failed, 2 without a usable CUDA device.
"""
import argparse
import json
import sys
import time

PEERS = ("eager-fp32", "eager-fp16-cl", "compile-fp16-cl")
FIRST_COMPILE_GUESS_S = 60.0  # what a first torch.compile of the network is assumed to take, for --deadline


def percentile(sorted_ms, p):
    """Nearest rank, as mnv3's Throughput does."""
    rank = -(-p * len(sorted_ms) // 100)
    return sorted_ms[max(0, min(len(sorted_ms) - 1, int(rank) - 1))]


def measure(torch, fn, x, warmup_s, seconds, device):
    """mnv3 bench's loop: warm-up, then timed synchronous runs (copy in, run, copy out) for `seconds`."""
    cuda = device == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    def once():
        return fn(x.to(device, non_blocking=True)).to("cpu", non_blocking=True)

    end_warmup = time.perf_counter() + warmup_s
    for _ in range(3):
        once()
        sync()
    while time.perf_counter() < end_warmup:
        once()
        sync()
    wall, gpu = [], []
    deadline = time.perf_counter() + seconds
    while len(wall) < 3 or time.perf_counter() < deadline:
        t = time.perf_counter()
        if cuda:
            begin, done = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
        logits = once()
        if cuda:
            done.record()
            done.synchronize()
        wall.append((time.perf_counter() - t) * 1000.0)
        if cuda:
            gpu.append(begin.elapsed_time(done))
    if logits.dtype != torch.float32 or logits.shape[0] != x.shape[0]:
        raise RuntimeError(f"unexpected logits {tuple(logits.shape)} {logits.dtype}")
    batch = x.shape[0]
    total_ms = sum(wall)
    ms = sorted(wall)
    r = {"images_per_second": round(batch * len(wall) * 1000.0 / total_ms, 2), "mean_ms": round(total_ms / len(wall), 4),
         "p50_ms": round(percentile(ms, 50), 4), "p99_ms": round(percentile(ms, 99), 4), "min_ms": round(ms[0], 4),
         "runs": len(wall), "seconds": round(total_ms / 1000.0, 3)}
    if gpu:
        r["gpu_p50_ms"] = round(percentile(sorted(gpu), 50), 4)
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["large", "small"], default="large")
    p.add_argument("--peers", nargs="+", choices=PEERS, default=list(PEERS), metavar="PEER",
                   help="which peers to run: " + ", ".join(PEERS) + " (default: all)")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 8, 64, 256])
    p.add_argument("--size", default="224x224")
    p.add_argument("--seconds", type=float, default=2.0, help="timed duration per point (default: %(default)s)")
    p.add_argument("--warmup", type=float, default=0.5, help="untimed warm-up per point, after 3 runs (default: %(default)s)")
    p.add_argument("--compile-mode", default="reduce-overhead",
                   help='torch.compile mode of compile-fp16-cl (default: %(default)s; "default", '
                        '"max-autotune-no-cudagraphs" and "max-autotune" compile for much longer)')
    p.add_argument("--deadline", type=float, default=0,
                   help="seconds for the whole run; a point that would not finish in what is left is reported as "
                        "skipped instead of started (compiles are guessed from the last one, the first at "
                        f"{FIRST_COMPILE_GUESS_S:.0f} s); 0: none (default)")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda",
                   help="cpu only tries the script where there is no GPU (no pinned memory, no CUDA events; "
                        "the numbers mean nothing); default: %(default)s")
    args = p.parse_args()
    if any(b < 1 for b in args.batch) or not args.seconds > 0 or args.warmup < 0:
        p.error("--batch must be >= 1, --seconds > 0, --warmup >= 0")
    try:
        h, w = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        p.error(f"--size {args.size!r} is not HxW")
    started = time.perf_counter()

    import torch
    import torchvision
    dev = args.device
    if dev == "cuda" and not torch.cuda.is_available():
        print(f"torch_bench.py: torch {torch.__version__} (built for CUDA {torch.version.cuda}) sees no usable CUDA device; "
              "it measures on the GPU only", file=sys.stderr)
        return 2

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    ctor = {"large": torchvision.models.mobilenet_v3_large, "small": torchvision.models.mobilenet_v3_small}[args.model]
    name = torch.cuda.get_device_name() if dev == "cuda" else "cpu (trying the script, not a measurement)"
    common = {"model": args.model, "size": args.size, "device": name,
              "torch": torch.__version__, "torchvision": torchvision.__version__}

    class FloatLogits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):  # the input is channels_last already (a no-op then), the logits float32
            return self.m(x.contiguous(memory_format=torch.channels_last)).float()

    fp32 = ctor().eval().to(dev)
    fp16 = FloatLogits(ctor().eval().half().to(dev).to(memory_format=torch.channels_last))
    pin = (lambda t: t.pin_memory()) if dev == "cuda" else (lambda t: t)
    failed = False
    last_compile_s = None

    def emit(line):
        print(json.dumps({**line, **common}), flush=True)

    for peer in [q for q in PEERS if q in args.peers]:
        precision = "fp32" if peer == "eager-fp32" else "fp16"
        base = {"peer": peer, "precision": precision}
        if peer.startswith("compile"):
            base["compile_mode"] = args.compile_mode
            if not hasattr(torch, "compile"):
                emit({**base, "error": f"torch.compile needs torch >= 2, this is {torch.__version__}"})
                failed = True
                continue
        for batch in sorted(set(args.batch), reverse=True):
            line = {**base, "batch": batch}
            need = args.warmup + args.seconds + 2
            if peer.startswith("compile"):
                need += last_compile_s if last_compile_s is not None else FIRST_COMPILE_GUESS_S
            left = args.deadline - (time.perf_counter() - started)
            if args.deadline > 0 and left < need:
                emit({**line, "error": f"skipped: {left:.0f} s left of --deadline {args.deadline:.0f}, ~{need:.0f} s needed"})
                failed = True
                continue
            compile_started = None
            try:
                if precision == "fp32":
                    x = pin(torch.randn(batch, 3, h, w))
                else:
                    x = pin(torch.randn(batch, 3, h, w).half().contiguous(memory_format=torch.channels_last))
                if peer.startswith("compile"):
                    torch._dynamo.reset()
                    fn = torch.compile(fp16, mode=args.compile_mode, dynamic=False)
                    compile_started = time.perf_counter()
                    with torch.no_grad():
                        for _ in range(3):  # compile, then (reduce-overhead) warm up and record the CUDA graph
                            fn(x.to(dev, non_blocking=True)).cpu()
                    if dev == "cuda":
                        torch.cuda.synchronize()
                    last_compile_s = time.perf_counter() - compile_started
                    line["compile_s"] = round(last_compile_s, 1)
                    with torch.no_grad():
                        line.update(measure(torch, fn, x, args.warmup, args.seconds, dev))
                else:
                    with torch.inference_mode():
                        line.update(measure(torch, fp32 if precision == "fp32" else fp16, x, args.warmup, args.seconds, dev))
                line["memory_format"] = "nchw" if precision == "fp32" else "channels_last"
            except Exception as e:  # out of memory, a failing compile, ...: report it and go on
                why = str(e).strip().splitlines()
                line["error"] = f"{type(e).__name__}: {why[0] if why else ''}"[:300]
                failed = True
                if compile_started is not None and "compile_s" not in line:
                    last_compile_s = time.perf_counter() - compile_started
                if dev == "cuda":
                    torch.cuda.empty_cache()
            emit(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
