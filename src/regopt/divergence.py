"""A training loss that is not finite ends the run at once, before the optimiser applies it.

The module checks each step's objective (one host sync per step; on CPU it costs nothing
measurable, see docs/reliability.md), calls the `on_diverged` hook of the callbacks that have one
(RunRecord writes `status: diverged` with the epoch and global step, and metrics.csv with the
completed epochs) and raises `Diverged`, so no checkpoint is written after the last good epoch.
"""

from __future__ import annotations

from typing import Any


class Diverged(RuntimeError):
    """The objective stopped being finite at (epoch, global step)."""

    def __init__(self, epoch: int, step: int, loss: float) -> None:
        super().__init__(f"the training loss is {loss} at epoch {epoch}, step {step}")
        self.epoch, self.step, self.loss = epoch, step, loss

    def where(self) -> dict[str, Any]:
        """What summary.json records as `diverged_at`."""
        return {"epoch": self.epoch, "step": self.step, "loss": str(self.loss)}
