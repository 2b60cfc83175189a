"""Which checkpoint `resume=` continues, decided before anything in the run dir is overwritten.

A checkpoint that does not load (cut short by a full disk, a copy that stopped midway) would fail
the run only once the pipeline had rewritten config.yaml and summary.json, leaving a completed
run's record saying `failed, 0 epochs`. So each candidate is opened first (memory-mapped: the
tensors are not read) and an unreadable one refuses the job in one line. Falling back to an older
checkpoint redoes the epochs after it, so it is the user's explicit choice
(`resume=newest_readable`), never what `resume=auto` does by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from regopt.config.errors import ConfigError

FALLBACK = "newest_readable"  # resume= value: the newest checkpoint that loads


class UnreadableCheckpoint(ConfigError):
    """The checkpoint to resume does not load; the run dir is left exactly as it was."""


@dataclass(frozen=True)
class Candidate:
    path: Path
    epoch: int
    step: int


def read_error(path: Path) -> str | None:
    """None when `path` loads as a checkpoint (with `weights_only`, as the pipeline loads it);
    else the first sentence of the reason."""
    try:
        _open(path)
    except Exception as error:  # noqa: BLE001 - any failure to load is the answer
        return _reason(error)
    return None


def _reason(error: Exception) -> str:
    text = str(error).strip()
    first = text.splitlines()[0].split(". ")[0] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _open(path: Path) -> Candidate:
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    return Candidate(path, int(state.get("epoch", -1)), int(state.get("global_step", -1)))


def choose_checkpoint(setting: str, checkpoints: Path) -> Path | None:
    """The checkpoint `resume=<setting>` continues: `last.ckpt`, or (`newest_readable`) the
    checkpoint of `checkpoints` that loads and is furthest into training. None when there is
    nothing to resume. Raises UnreadableCheckpoint rather than start over a run's record."""
    last = checkpoints / "last.ckpt"
    if setting != FALLBACK:
        if not last.is_file():
            return None
        reason = read_error(last)
        if reason is not None:
            raise UnreadableCheckpoint(
                f"resume={setting}: {last} is unreadable ({reason}); the run dir is left as it "
                f"was; allowed: resume={FALLBACK} (the newest checkpoint there that loads, "
                "training the epochs after it again), or another run dir"
            )
        return last
    found = sorted(checkpoints.glob("*.ckpt"), key=lambda p: (p.name != "last.ckpt", p.name))
    if not found:
        return None
    readable, reasons = [], []
    for path in found:
        try:
            readable.append(_open(path))
        except Exception as error:  # noqa: BLE001 - reported below with the others
            reasons.append(f"{path.name}: {_reason(error)}")
    if not readable:
        raise UnreadableCheckpoint(
            f"resume={setting}: no readable checkpoint in {checkpoints} ({'; '.join(reasons)}); "
            "the run dir is left as it was; allowed: another run dir"
        )
    # furthest into training; on a tie the first in `found` order (last.ckpt before the others)
    return max(readable, key=lambda c: (c.epoch, c.step)).path


def newest_hpc_checkpoint(run_dir: Path) -> Path | None:
    """Lightning's newest `hpc_ckpt_<n>.ckpt` in `run_dir` (what it saves when SLURM signals a job
    with auto-requeue), checked to load; None when there is none."""
    numbered = [
        (int(p.stem.rsplit("_", 1)[1]), p)
        for p in run_dir.glob("hpc_ckpt_*.ckpt")
        if p.stem.rsplit("_", 1)[1].isdigit()
    ]
    if not numbered:
        return None
    newest = max(numbered)[1]
    reason = read_error(newest)
    if reason is not None:
        raise UnreadableCheckpoint(
            f"resume: {newest} is unreadable ({reason}); the run dir is left as it was; "
            "allowed: another run dir"
        )
    return newest
