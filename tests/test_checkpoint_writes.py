"""A stack member's checkpoints written behind (regopt.stacked.checkpoint_writes).

The references: torch.save of a checkpoint when it was made (the writer's captured copy must
load as that, whatever happens to the live objects afterwards), and a separate run's checkpoint
files (the stack's must be the same files holding the same state, also with ModelCheckpoint's
top-k removing and renaming files in between).
"""

from __future__ import annotations

import io
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from conftest import run_job
from regopt.stacked.checkpoint_writes import CheckpointWrites, snapshot
from test_stacked_engine import TINY, job_config


class Box:  # a mutable object that is neither a container nor a tensor
    def __init__(self, value: list[int]) -> None:
        self.value = value


def loaded(data: bytes) -> dict:
    return torch.load(io.BytesIO(data), weights_only=False)


def saved(checkpoint: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return buffer.getvalue()


def assert_same(a: object, b: object) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
        assert a.requires_grad == b.requires_grad
    elif isinstance(a, dict):
        assert type(a) is type(b) and list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, Box):
        assert isinstance(b, Box) and a.value == b.value
    else:
        assert a == b


def test_a_captured_checkpoint_is_what_torch_save_wrote_when_it_was_made():
    weight = torch.randn(3, 2)
    step = torch.tensor(4.0)
    live = {
        "state_dict": OrderedDict(w=weight, tied=weight),
        "optimizer_states": [{"state": {0: {"exp_avg": torch.zeros(3, 2), "step": step}}}],
        "callbacks": {"ModelCheckpoint": {"best_k_models": {"best.ckpt": torch.tensor(0.5)}}},
        "pair": (1, torch.ones(2, requires_grad=True)),
        "box": Box([1, 2]),
        "rows": '[{"epoch": 0}]',
        "epoch": 3,
    }
    then = saved(live)
    captured = snapshot(live)
    weight.add_(1.0)  # the live training goes on: in-place updates, containers that change
    step.add_(1.0)
    live["optimizer_states"][0]["state"][0]["exp_avg"].fill_(7.0)
    live["callbacks"]["ModelCheckpoint"]["best_k_models"]["best-v1.ckpt"] = torch.tensor(0.4)
    live["box"].value.append(3)
    live["epoch"] = 4

    assert_same(loaded(saved(captured)), loaded(then))
    assert captured["state_dict"]["w"] is captured["state_dict"]["tied"]  # one tensor, as saved


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_saves_are_written_behind_newest_last_and_all_of_them_when_closed():
    written: list[tuple[str, int]] = []
    clock = Clock()
    writes = CheckpointWrites(lambda c, path, _: written.append((path, c["epoch"])), 10.0, clock)

    for epoch in range(3):  # best and last at every epoch: nothing on disk within 10 s
        clock.now = epoch
        writes.save({"epoch": epoch}, "best.ckpt", None)
        writes.save({"epoch": epoch}, "last.ckpt", None)
    assert written == [] and writes.pending("last.ckpt")
    writes.save({"epoch": 3}, "worst.ckpt", None)
    writes.discard("worst.ckpt")  # top-k removed it before it was written
    clock.now = 10.0
    writes.save({"epoch": 4}, "last.ckpt", None)  # the interval is over: all that is pending
    assert written == [("best.ckpt", 2), ("last.ckpt", 4)] and not writes.pending("last.ckpt")

    clock.now = 11.0
    writes.save({"epoch": 5}, "last.ckpt", None)
    assert written[-1] == ("last.ckpt", 4)  # the next interval has just begun
    writes.close()
    assert written[-1] == ("last.ckpt", 5)
    writes.save({"epoch": 6}, "last.ckpt", None)  # after the end: written when made
    assert written[-1] == ("last.ckpt", 6)


def test_an_interval_of_zero_writes_every_save_when_it_is_made():
    written: list[int] = []
    writes = CheckpointWrites(lambda c, path, _: written.append(c["epoch"]), 0.0, Clock())
    for epoch in range(3):
        writes.save({"epoch": epoch}, "last.ckpt", None)
        assert written == list(range(epoch + 1))


CHECKPOINTED = [  # a learning rate at which val/loss is lowest at epoch 2 of 8, then rises
    *TINY,
    "trainer.max_epochs=8",
    "optimizer=adam",
    "optimizer.lr=0.1",
]
CHECKPOINTS = {  # the default best and last; the best two of a fixed name, which Lightning
    "best_and_last": [],  # numbers (best-v1.ckpt); the best two by epoch, the others removed
    "top_two_versioned": ["callbacks.model_checkpoint.save_top_k=2"],
    "top_two_removed": [
        "callbacks.model_checkpoint.save_top_k=2",
        "callbacks.model_checkpoint.filename='best-{epoch}'",
    ],
}


def checkpoint_files(run_dir: Path) -> dict[str, dict]:
    folder = run_dir / "checkpoints"
    return {p.name: torch.load(p, weights_only=False) for p in sorted(folder.glob("*.ckpt"))}


def assert_same_checkpoint(ours: dict, theirs: dict, ours_dir: Path, theirs_dir: Path) -> None:
    assert (ours["epoch"], ours["global_step"]) == (theirs["epoch"], theirs["global_step"])
    for name, value in theirs["state_dict"].items():
        torch.testing.assert_close(ours["state_dict"][name], value, rtol=1e-9, atol=1e-12)
    ours_opt, theirs_opt = ours["optimizer_states"][0], theirs["optimizer_states"][0]
    for index, state in theirs_opt["state"].items():
        for key, value in state.items():
            torch.testing.assert_close(ours_opt["state"][index][key], value, rtol=1e-9, atol=1e-12)
    ours_cb = next(v for k, v in ours["callbacks"].items() if k.startswith("ModelCheckpoint"))
    theirs_cb = next(v for k, v in theirs["callbacks"].items() if k.startswith("ModelCheckpoint"))
    assert {Path(p).name for p in ours_cb["best_k_models"]} == {
        Path(p).name for p in theirs_cb["best_k_models"]
    }
    assert Path(ours_cb["best_model_path"]).name == Path(theirs_cb["best_model_path"]).name
    torch.testing.assert_close(ours_cb["best_model_score"], theirs_cb["best_model_score"])


@pytest.mark.parametrize("kind", sorted(CHECKPOINTS))
def test_a_members_checkpoints_written_behind_are_its_separate_runs(tmp_path: Path, kind):
    """Two members whose every save stays pending until they end (an interval of an hour)
    leave the checkpoint files their separate runs leave, each holding the same state: the
    best epoch's weights in best.ckpt, though the member trained on after it."""
    extra = CHECKPOINTS[kind]
    from regopt.stacked.engine import fit_stack

    seeds = [0, 1]
    members = [
        job_config([*CHECKPOINTED, *extra, f"seed={s}"], tmp_path / "stack" / str(s)) for s in seeds
    ]
    fit_stack(members, checkpoint_interval_s=3600.0)
    for seed in seeds:
        separate = tmp_path / "separate" / str(seed)
        run_job([*CHECKPOINTED, *extra, f"seed={seed}"], separate)
        ours, theirs = checkpoint_files(tmp_path / "stack" / str(seed)), checkpoint_files(separate)
        assert list(ours) == list(theirs) and "last.ckpt" in theirs
        for name in theirs:
            assert_same_checkpoint(ours[name], theirs[name], tmp_path / "stack", separate)
