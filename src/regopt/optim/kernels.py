"""torch's fused (or multi-tensor) kernel for an optimiser's update, where torch has one.

On a CPU torch steps an optimiser with its per-parameter Python loop unless told otherwise: about a
dozen small tensor operations per parameter, each paying Python's overhead. A stack steps one
optimiser per member at every batch, so that loop is paid K times a step
(docs/benchmarks.md). torch's fused kernels (`fused=True`: Adam, AdamW, SGD) do a parameter's
whole update in one call, its multi-tensor ones (`foreach=True`: RMSprop, Adagrad, which makes its
state when built) one call per operation for all parameters; both compute the update the loop
computes, to rounding.

A setting the config made itself (`foreach` or `fused` given, True or False) is kept as it is.
"""

from __future__ import annotations

import torch
from torch.optim import Optimizer
from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

FUSED = (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD)


def use_fast_kernels(optimizer: Optimizer) -> str:
    """Switch `optimizer` to its fused kernel, else to its multi-tensor one, before its first
    step; returns which it now uses: "fused", "foreach" or "as configured"."""
    groups = optimizer.param_groups
    if any(g.get("foreach") is not None or g.get("fused") is not None for g in groups):
        return "as configured"
    if any(g.get("differentiable") for g in groups) or "foreach" not in optimizer.defaults:
        return "as configured"
    params = [p for g in groups for p in g["params"]]
    if _fused_applies(optimizer, params):
        for group in groups:
            group["fused"] = True
        return "fused"
    if all(p.is_floating_point() and not p.is_sparse for p in params):
        for group in groups:
            group["foreach"] = True
        return "foreach"
    return "as configured"


def _fused_applies(optimizer: Optimizer, params: list[torch.Tensor]) -> bool:
    """The exact class (a subclass may override the step), no state yet (the fused step keeps
    `step` on the parameter's device, made when the state is), parameters torch's fused kernel
    takes."""
    if type(optimizer) not in FUSED or optimizer.state:
        return False
    devices = _get_fused_kernels_supported_devices()
    return all(p.is_floating_point() and p.device.type in devices for p in params)
