"""A training loss that is not finite ends the run, recorded as `diverged`.

Two ways to find it (the root key `divergence_check`):
- `step`: `training_step` reads each step's objective on the host and raises before returning it
  to Lightning's backward, so the optimiser never applies it. One host sync per step: nothing
  measurable on a CPU (docs/reliability.md).
- `deferred`: no host sync per step. `DeferredWatch` keeps the first non-finite step and its loss
  on the device, and the module reads it once per epoch, where the epoch's training may end, and
  before a validation. The steps after the bad one are wasted and the weights they leave are
  discarded: the run stops before the epoch is validated, logged or
  checkpointed, with the same `diverged_at` as `step` would give.
`auto` (the default) is `step` on a CPU and `deferred` on an accelerator, where a sync per step
makes the host wait for the device. Either way the module calls the `on_diverged` hook of the
callbacks that have one (RunRecord writes `status: diverged` with the epoch and global step, and
metrics.csv with the completed epochs) and raises `Diverged`, so no checkpoint is written after
the last good epoch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class Diverged(RuntimeError):
    """The objective stopped being finite at (epoch, global step)."""

    def __init__(self, epoch: int, step: int, loss: float) -> None:
        super().__init__(f"the training loss is {loss} at epoch {epoch}, step {step}")
        self.epoch, self.step, self.loss = epoch, step, loss

    def where(self) -> dict[str, Any]:
        """What summary.json records as `diverged_at`."""
        return {"epoch": self.epoch, "step": self.step, "loss": str(self.loss)}


def defers(setting: str, device: torch.device) -> bool:
    """Whether `divergence_check` = `setting` means the deferred check on `device`."""
    return setting == "deferred" or (setting == "auto" and device.type != "cpu")


class DeferredWatch:
    """The first non-finite loss of the epoch, kept on the device as (global step, loss): every
    update is a device op, so `note` never waits for the device."""

    def __init__(self) -> None:
        self._found: Tensor | None = None  # (step, loss), step -1 while none
        self._step: Tensor | None = None  # the global step, counted on the device
        self.unread = False  # losses noted since the last `read`

    def start(self, global_step: int, device: torch.device) -> None:
        """Begin a period at `global_step` (one small host-to-device copy per period)."""
        self._found = torch.tensor([-1.0, 0.0], dtype=torch.float64, device=device)
        self._step = torch.tensor(float(global_step), dtype=torch.float64, device=device)

    def note(self, loss: Tensor) -> None:
        assert self._found is not None and self._step is not None, "start() first"
        loss = loss.detach().to(torch.float64).reshape(())
        first = ~torch.isfinite(loss) & (self._found[0] < 0)
        self._found = torch.where(first, torch.stack([self._step, loss]), self._found)
        self.unread = True

    def stepped(self) -> None:
        """The optimiser took a step (with gradient accumulation, not after every batch)."""
        assert self._step is not None, "start() first"
        self._step += 1

    def read(self) -> Tensor | None:
        """(step, loss) on the device, step -1 when every loss was finite; None when no loss was
        noted since the last read (nothing new to look at). No sync."""
        if not self.unread:
            return None
        self.unread = False
        return self._found
