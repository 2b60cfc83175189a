"""Sharpness-aware minimisation (Foret et al. 2021) around any torch optimiser.

An optimiser whose purpose is generalisation: it minimises the worst loss within a ball of radius
`rho` around the weights. Each step evaluates the closure twice: the gradient g at w gives the
ascent step e = rho * g / ||g|| (adaptive SAM, Kwon et al. 2021: e = rho * |w|^2 g / || |w| g ||,
elementwise, so the ball scales with each weight), the gradient at w + e is computed, w is restored,
and the base optimiser steps with that gradient. Its lr, momentum, weight decay and state are the
base's own (one set of param_groups and state, shared), so learning-rate schedulers and checkpoints
see the base optimiser's settings.

The closure is Lightning's: each call runs training_step, zero_grad, backward and gradient
clipping, as Lightning documents for closure-based optimisers (LBFGS). Accumulated gradients
cannot be re-evaluated at w + e, so gradient accumulation is refused (regopt.config.dummies), as
is 16-bit AMP, whose GradScaler calls step without a closure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from regopt.config.signature import checked
from regopt.ranges import NonNegative

EPS = 1e-12


@checked
class SAM(torch.optim.Optimizer):
    """`rho`: the radius of the neighbourhood (SAM's strength; 0 is the base optimiser itself)."""

    closure_calls = 2  # evaluations of the closure per step (the config check reads it)

    def __init__(
        self, optimizer: torch.optim.Optimizer, rho: NonNegative = 0.05, adaptive: bool = False
    ) -> None:
        self.base = optimizer
        self.rho = float(rho)
        self.adaptive = bool(adaptive)
        super().__init__(optimizer.param_groups, optimizer.defaults)
        self.param_groups = optimizer.param_groups  # shared: a scheduler's lr is the base's
        self.state = optimizer.state

    def _scale(self, param: torch.Tensor) -> torch.Tensor | float:
        return param.abs() if self.adaptive else 1.0

    @torch.no_grad()
    def ascent(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Move every parameter with a gradient to w + e; returns (param, e) to undo it."""
        params = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        if not params:
            return []
        norms = [torch.linalg.vector_norm(self._scale(p) * p.grad) for p in params]
        factor = self.rho / (torch.linalg.vector_norm(torch.stack(norms)) + EPS)
        moved = []
        for p in params:
            scale = self._scale(p)
            e = (scale * scale * p.grad * factor).to(p.dtype)
            p.add_(e)
            moved.append((p, e))
        return moved

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        if closure is None:
            raise RuntimeError(
                "optimizer=sam evaluates the loss twice per step and needs a closure; "
                "a caller without one (16-bit AMP's GradScaler) cannot run it"
            )
        with torch.enable_grad():
            loss = closure()  # the gradient at w
        moved = self.ascent()
        self.base.zero_grad(set_to_none=True)
        try:
            with torch.enable_grad():
                closure()  # the gradient at w + e
        finally:  # w back, even when the closure raises (a non-finite loss at w + e)
            for p, e in moved:
                p.sub_(e)
        self.base.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.base.zero_grad(set_to_none=set_to_none)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Into the base (its state is this optimiser's), then share its new groups and state."""
        self.base.load_state_dict(state_dict)
        self.param_groups = self.base.param_groups
        self.state = self.base.state
