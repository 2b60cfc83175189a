"""What Lightning's loop needs from a stack: one optimiser, one scheduler, one data loader.

Each is a thin front for the members' own: the optimiser runs Lightning's closure (the stacked
training step, the backward pass, per-member clipping) and the members' own torch optimisers
step afterwards (`StackedModule.optimizer_step`); the scheduler steps each member's scheduler;
the loader yields every member's batch of the same step, each from the member's own loader
(its own data, its own order per seed and epoch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from regopt.data.tensor_loader import TensorLoader


class StackOptimizer(torch.optim.Optimizer):
    """The optimiser Lightning sees. Its parameter groups are the members' own groups (so
    Lightning reads and moves the real ones); `step` runs the closure only."""

    def __init__(self, optimizers: Sequence[torch.optim.Optimizer]) -> None:
        self.members = list(optimizers)
        params = [p for o in self.members for g in o.param_groups for p in g["params"]]
        super().__init__(params, {})
        self.param_groups = [group for o in self.members for group in o.param_groups]

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        if closure is None:
            return None
        with torch.enable_grad():
            return closure()

    def zero_grad(self, set_to_none: bool = True) -> None:
        for optimizer in self.members:
            optimizer.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return {"members": [o.state_dict() for o in self.members]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        for optimizer, state in zip(self.members, state_dict["members"], strict=True):
            optimizer.load_state_dict(state)


class StackScheduler:
    """The scheduler Lightning steps: `step` steps the members' schedulers that are stepped."""

    def __init__(self, optimizer: StackOptimizer, step_members: Callable[[], None]) -> None:
        self.optimizer = optimizer
        self._step_members = step_members

    def step(self, *args: Any) -> None:
        self._step_members()

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """The members' schedulers live in the members' own checkpoints."""


class Samplers:
    """Lightning reseeds a loader's `sampler` every epoch: reseed every member's."""

    def __init__(self, samplers: Sequence[Any]) -> None:
        self.samplers = list(samplers)

    def set_epoch(self, epoch: int) -> None:
        for sampler in self.samplers:
            sampler.set_epoch(epoch)


class StackedLoader:
    """Yields a tuple of every member's batch of one step (the members' loaders are as long:
    the stack shares data sizes and batch size)."""

    def __init__(self, loaders: Sequence[TensorLoader]) -> None:
        self.loaders = list(loaders)
        lengths = {len(loader) for loader in self.loaders}
        if len(lengths) != 1:
            raise ValueError(f"the members' loaders differ in length: {sorted(lengths)}")
        self.sampler = Samplers([loader.sampler for loader in self.loaders])
        self.batch_sampler = None

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return zip(*self.loaders, strict=True)

    def __len__(self) -> int:
        return len(self.loaders[0])
