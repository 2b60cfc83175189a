"""Decoupled weight decay for any torch optimiser, as AdamW does it for Adam.

Each step first shrinks every parameter that has a gradient, w <- w * (1 - lr * weight_decay), then
takes the optimiser's own step with weight_decay = 0. The shrink happens after the closure has
computed (and Lightning has clipped) the gradients, and before the update, exactly where
torch.optim.AdamW applies it: `Adam` with it takes AdamW's steps. With plain SGD it equals torch's
coupled weight_decay (w - lr (g + wd w) = w (1 - lr wd) - lr g); with momentum, Adam, RMSprop or
Adagrad it does not, because the decay no longer passes through the momentum or the rescaling.

The decay rate of each parameter group is kept under the group key `decoupled_decay`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import torch

GROUP_KEY = "decoupled_decay"


class DecoupledWeightDecay:
    """Mixed in before a torch optimiser class: see `with_decoupled_weight_decay`."""

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            for group in self.param_groups:  # type: ignore[attr-defined]
                rate = group.get(GROUP_KEY, 0.0)
                if rate:
                    factor = 1.0 - group["lr"] * rate
                    for param in group["params"]:
                        if param.grad is not None:
                            param.mul_(factor)
        super().step()  # type: ignore[misc]
        return loss


@cache
def with_decoupled_weight_decay(algorithm: type[torch.optim.Optimizer]) -> type:
    """`algorithm` with decoupled weight decay (one class per algorithm, e.g. `SGDDecoupled`)."""
    return type(f"{algorithm.__name__}Decoupled", (DecoupledWeightDecay, algorithm), {})
