"""The local record: one CSV row per epoch, atomic files, summary fields."""

from __future__ import annotations

import csv
import math

import pytest

from regopt.record.atomic import write_json_atomic
from regopt.record.epoch_csv import EpochCSVLogger
from regopt.record.summary import final_and_best


def test_epoch_rows_merge_training_and_validation_calls(tmp_path) -> None:
    logger = EpochCSVLogger(tmp_path / "metrics.csv")
    logger.log_metrics({"val/loss": 0.5, "epoch": 0}, step=10)
    logger.log_metrics({"train/loss": 0.9, "epoch": 0}, step=10)
    logger.log_metrics({"lr-Adam": 0.1}, step=10)  # no epoch: the epoch being trained (0)
    logger.epoch = 1
    logger.log_metrics({"lr-Adam": 0.2}, step=11)  # logged before epoch 1's own metrics
    logger.log_metrics({"lr-Adam": 0.3}, step=15)  # the epoch keeps its last value
    logger.log_metrics({"val/loss": 0.4, "train/loss": 0.7, "extra": 1.5, "epoch": 1}, step=20)
    logger.save()
    with open(tmp_path / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert rows[0]["train/loss"] == "0.9" and rows[0]["val/loss"] == "0.5"
    assert rows[0]["extra"] == "" and rows[1]["extra"] == "1.5"
    assert [r["lr-Adam"] for r in rows] == ["0.1", "0.3"]
    assert [r["step"] for r in rows] == ["10", "20"]  # from self.log's calls only
    assert not list(tmp_path.glob(".metrics.csv.*"))  # no temporary file left behind


def test_final_and_best() -> None:
    rows = [
        {"epoch": 0, "val/loss": 0.9, "val/acc": 0.5, "train/loss": 1.0},
        {"epoch": 1, "val/loss": 0.3, "val/acc": 0.8, "train/loss": 0.5},
        {"epoch": 2, "val/loss": math.nan, "val/acc": 0.1, "train/loss": math.nan},
    ]
    final, best = final_and_best(rows)
    assert math.isnan(final["val/loss"]) and final["train/acc"] is None
    assert best == {"val/loss": 0.3, "val/acc": 0.8, "epoch": 1}
    assert final_and_best([])[1]["epoch"] is None


def test_atomic_json_replaces_the_whole_file(tmp_path) -> None:
    path = tmp_path / "summary.json"
    write_json_atomic(path, {"status": "running"})
    write_json_atomic(path, {"status": "completed"})
    assert path.read_text().strip().endswith("}")
    assert '"completed"' in path.read_text()
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)


def test_save_rewrites_at_most_every_interval_and_finalize_always_writes(tmp_path) -> None:
    logger = EpochCSVLogger(tmp_path / "metrics.csv", min_interval_s=3600)
    logger.log_metrics({"val/loss": 0.5, "epoch": 0}, step=1)
    logger.save()  # the first save writes
    logger.log_metrics({"val/loss": 0.4, "epoch": 1}, step=2)
    logger.save()  # within the interval: no rewrite
    assert (tmp_path / "metrics.csv").read_text().splitlines()[1:] == ["0,1,0.5"]
    logger.finalize("success")
    assert (tmp_path / "metrics.csv").read_text().splitlines()[1:] == ["0,1,0.5", "1,2,0.4"]


def test_final_is_the_last_validated_epoch_when_validation_skips_the_last(tmp_path) -> None:
    from conftest import read_metrics, run_job

    summary = run_job(["trainer.max_epochs=5", "trainer.check_val_every_n_epoch=2"], tmp_path)
    rows = read_metrics(tmp_path)
    assert [row["epoch"] for row in rows if "val/loss" in row] == [1, 3]
    assert "val/loss" not in rows[-1] and summary["epochs"] == 5
    validated = rows[3]
    assert summary["final_epoch"] == 3
    for key in ("val/loss", "train/loss", "gap/loss", "train_eval/acc"):
        assert summary["final"][key] == validated[key], key


def test_a_checkpoint_write_that_dies_midway_leaves_the_previous_checkpoint(
    tmp_path, monkeypatch
) -> None:
    import torch

    from regopt.record.checkpoint_io import AtomicCheckpointIO

    io, path = AtomicCheckpointIO(), tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"epoch": 3, "w": torch.ones(4)}, path)

    def dies_midway(obj, handle, *args, **kwargs):
        handle.write(b"PK\x03\x04 half a zip")  # what a killed torch.save leaves behind
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"epoch": 4, "w": torch.zeros(4)}, path)
    monkeypatch.undo()
    kept = torch.load(path, weights_only=True)
    assert kept["epoch"] == 3 and torch.equal(kept["w"], torch.ones(4))
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temporary file left


def test_runs_save_their_checkpoints_through_the_atomic_writer(tmp_path) -> None:
    from conftest import fit_watched
    from regopt.record.checkpoint_io import AtomicCheckpointIO

    trainer, _ = fit_watched(["trainer.max_epochs=1"], [], tmp_path)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def test_curves_have_whole_number_epoch_ticks() -> None:
    """Three epochs: matplotlib's default ticks would be 0, 0.25, 0.5, ..."""
    from regopt.record.plots import curves_figure

    rows = [{"epoch": e, "train/loss": 1.0 / (e + 1), "val/loss": 1.2 / (e + 1)} for e in range(3)]
    fig = curves_figure(rows, {"verdict": "too short to judge"})
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if 0 <= t <= 2]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_the_log_loss_axis_labels_its_ticks_in_plain_numbers() -> None:
    """Within one decade and across two: labelled ticks read as their own values, no mathtext."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from regopt.record.plots import curves_figure

    for low in (0.3, 0.005):  # 0.3-0.9: minor ticks only; 0.005-0.9: decades
        rows = [{"epoch": e, "val/loss": 0.9 - (0.9 - low) * e / 9} for e in range(10)]
        fig = curves_figure(rows, {"verdict": "x"})
        FigureCanvasAgg(fig).draw()
        ax = fig.axes[0]
        assert ax.get_yscale() == "log"
        ticks = ax.yaxis.get_major_ticks() + ax.yaxis.get_minor_ticks()
        labelled = [
            (t.get_loc(), t.label1.get_text())
            for t in ticks
            if t.label1.get_text() and t.label1.get_visible()
        ]
        shown = [(v, text) for v, text in labelled if low <= v <= 0.9]
        assert shown, labelled
        assert all(
            "$" not in text and math.isclose(float(text), v, rel_tol=1e-6) for v, text in shown
        )


def test_a_stock_callbacks_metrics_reach_metrics_csv(tmp_path) -> None:
    """LearningRateMonitor writes straight to the loggers, with no epoch: its lr lands in the
    row of the epoch it was logged in (a step schedule halves it every 2 epochs)."""
    from conftest import read_metrics, run_job

    run_job(
        [
            "trainer.max_epochs=5",
            "callbacks=none",
            "scheduler=step",
            "scheduler.step_size=2",
            "scheduler.gamma=0.5",
            "optimizer.lr=0.01",
            "+callbacks.lr_monitor._target_=pytorch_lightning.callbacks.LearningRateMonitor",
            "+callbacks.lr_monitor.logging_interval=epoch",
        ],
        tmp_path,
    )
    rows = read_metrics(tmp_path)
    lr = [row[next(k for k in row if k.startswith("lr-"))] for row in rows]
    assert lr == pytest.approx([0.01, 0.01, 0.005, 0.005, 0.0025])


def test_a_redrawn_curves_figure_has_the_pixels_of_a_new_one(tmp_path) -> None:
    """draw_curves redraws the figure of the run before with the same panels: after runs of
    other lengths, limits, onsets and layouts, each curves.png is byte for byte the one drawn
    alone in a fresh process's state (no figure kept)."""
    import math

    from regopt.record import plots

    def rows(epochs: int, scale: float, regression: bool = False, negative: bool = False):
        out = []
        for e in range(epochs):
            val = scale * (1.0 + 0.3 * math.sin(e)) / (e + 1) - (2.0 if negative else 0.0)
            row = {"epoch": e, "train/loss_data": val * 0.8, "val/loss": val}
            if regression:
                row |= {"train/mae": 0.5 / (e + 1), "val/mae": 0.7 / (e + 1)}
            else:
                row |= {"train/acc": 1 - 0.5 / (e + 1), "train_eval/acc": 1 - 0.4 / (e + 1)}
                row |= {"train_eval/loss": val * 0.7, "val/acc": 1 - 0.6 / (e + 1)}
                row |= {"gap/loss": val * 0.3 + 0.05 * scale, "gap/acc": 0.2 / (e + 1)}
            out.append(row)
        return out

    runs = [
        (rows(50, 1.0), {"onset_epoch": 20, "seed": 0, "verdict": "overfits"}),
        (rows(12, 30.0), {"onset_epoch": 3, "seed": 1, "verdict": "overfits"}),
        (rows(50, 1.0), {"seed": 2, "verdict": "no overfitting"}),
        (rows(7, 0.01, regression=True), {"seed": 3}),
        (rows(30, 5.0), {"onset_epoch": 29, "seed": 4, "verdict": "overfits"}),
        (rows(9, 1.0, negative=True), {"seed": 5}),  # a loss below 0: a linear loss axis
        (rows(3, 2.0, regression=True), {"seed": 6}),
        (rows(40, 0.2), {"seed": 7, "verdict": "no overfitting"}),
    ]
    plots._FIGURES.clear()
    redrawn = []
    for i, (r, s) in enumerate(runs):
        redrawn.append(plots.draw_curves(r, s, tmp_path / f"{i}.png").read_bytes())
        loss = plots._FIGURES[plots._layout(r, s)[1]].axes[0]  # this run's limits, not the last's
        values = [row["val/loss"] for row in r]
        assert loss.get_xlim()[0] <= 0 and loss.get_xlim()[1] >= r[-1]["epoch"]
        assert loss.get_ylim()[0] <= min(values) and loss.get_ylim()[1] >= max(values)
    assert len(plots._FIGURES) == 4  # with and without an onset, regression, a linear loss axis
    for i, (r, s) in enumerate(runs):
        plots._FIGURES.clear()
        alone = plots.draw_curves(r, s, tmp_path / f"alone{i}.png").read_bytes()
        assert redrawn[i] == alone, f"run {i}"
    assert len(set(redrawn)) == len(runs)


def test_the_code_version_is_asked_of_git_once_per_process(tmp_path) -> None:
    """A run records its repository's commit and whether tracked files differ from it. A
    process asks once per directory (its code is what it imported): a file changed later shows
    in the next process, not in this one's next job."""
    import subprocess
    import sys

    from regopt.record.run_info import git_state

    def git(*args: str) -> str:
        command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
        return subprocess.run(
            command, cwd=tmp_path, check=True, capture_output=True, text=True
        ).stdout

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", "code.py")
    git("commit", "-qm", "first")
    commit = git("rev-parse", "HEAD").strip()
    assert git_state(tmp_path) == {"commit": commit, "dirty": False}
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_state(tmp_path) == {"commit": commit, "dirty": False}  # asked once
    fresh = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from regopt.record.run_info import git_state; print(git_state({str(tmp_path)!r}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert fresh.stdout.strip() == str({"commit": commit, "dirty": True})
