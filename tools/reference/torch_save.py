#!/usr/bin/env python3
"""Writes safetensors files as PyTorch checkpoints with torch.save, the way checkpoints are found
in the wild, for the tests of mnv3's PyTorch reader. One process does every job of a JSON list:

  {"in": "w.safetensors", "out": "w.pth",
   "dtype": "f32" | "f16" | "bf16",   element type of the floating-point tensors (default: as stored)
   "views": true,                     each tensor saved as a view: a transposed copy, or a slice of a
                                      larger storage (non-zero storage offset, strides that skip)
   "prefix": "module.",               prepended to every name (DataParallel)
   "key": "model_state_dict",         the tensors saved under this key of a training checkpoint, beside
                                      an epoch, an optimizer state and a dict of metrics
   "parameters": true}                tensors saved as nn.Parameter

and the files mnv3 must refuse: {"kind": "os_system", "out": ..., "marker": PATH} (a state_dict
with an object whose unpickling runs os.system("touch PATH")), {"kind": "legacy", "out": ...}
(PyTorch's format before 1.6), {"kind": "torchscript", "out": ...} (torch.jit.save).

Runs on PyTorch 1.13 (Debian's python3-torch) and 2.x.
"""
import json
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def as_view(t, i):
    """The same values, stored so that reading them needs the storage offset and the strides."""
    if t.dim() >= 2 and i % 2 == 0:
        return t.transpose(0, 1).contiguous().transpose(0, 1)  # non-contiguous: the first two strides swapped
    big = torch.zeros((t.numel() * 2 + 3,), dtype=t.dtype)
    big[3::2] = t.reshape(-1)
    return big.as_strided(t.shape, stride_of(t.shape, 2), 3)


def stride_of(shape, step):
    strides, n = [], step
    for d in reversed(shape):
        strides.insert(0, n)
        n *= max(d, 1)
    return strides


class RunsACommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def job(spec):
    kind = spec.get("kind")
    if kind == "os_system":
        torch.save({"w": torch.ones(2), "x": RunsACommand("touch " + spec["marker"])}, spec["out"])
        return
    if kind == "legacy":
        torch.save({"w": torch.ones(2)}, spec["out"], _use_new_zipfile_serialization=False)
        return
    if kind == "torchscript":
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), spec["out"])
        return
    tensors = safetensors_io.load(spec["in"])
    state = OrderedDict()
    for i, (name, t) in enumerate(tensors.items()):
        if t.is_floating_point() and spec.get("dtype"):
            t = t.to(DTYPES[spec["dtype"]])
        if spec.get("views"):
            v = as_view(t, i)
            assert torch.equal(v, t)
            t = v
        if spec.get("parameters") and t.is_floating_point():
            t = torch.nn.Parameter(t, requires_grad=False)
        state[spec.get("prefix", "") + name] = t
    obj = state
    if spec.get("key"):
        opt = {"state": {0: {"momentum_buffer": torch.ones(3)}}, "param_groups": [{"lr": 0.1, "params": [0]}]}
        obj = {"epoch": 7, "optimizer": opt, "metrics": {"top1": 0.75}, spec["key"]: state}
    torch.save(obj, spec["out"])


def main():
    with open(sys.argv[1]) as f:
        for spec in json.load(f):
            job(spec)


if __name__ == "__main__":
    main()
