"""experiment=sequential_vs_joint, reduced (3 epochs, one seed, a small training set): every arm
runs with the strengths its schedule gives, and the report lists the four arms of each regulariser
with numbers taken from the runs."""

from __future__ import annotations

import csv

import pytest

from conftest import read_metrics, run_job
from regopt.analysis.arms import ARMS, write_report

REDUCED = ["experiment=sequential_vs_joint", "trainer.max_epochs=3", "switch_epoch=1",
           "ramp_end=2", "data.train_size=96", "callbacks=none"]  # fmt: skip
# strength factor per epoch of each arm, under REDUCED (switch at 1, ramp 0 -> 2)
FACTORS = {"none": [0, 0, 0], "joint": [1, 1, 1], "sequential": [0, 1, 1], "ramp": [0, 0.5, 1]}
STRENGTH = {"l2": 0.03, "dropout": 0.5}


def test_reduced_experiment_runs_every_arm_and_reports_them(tmp_path) -> None:
    for job, (reg, arm) in enumerate((r, a) for r in STRENGTH for a in ARMS):
        run_job([*REDUCED, f"reg={reg}", f"arm={arm}"], tmp_path / str(job))
        rows = read_metrics(tmp_path / str(job))
        logged = [row[f"reg/{reg}/strength"] for row in rows]
        assert logged == pytest.approx([STRENGTH[reg] * f for f in FACTORS[arm]]), (reg, arm)

    text = write_report(tmp_path)
    for reg in STRENGTH:
        for arm in ARMS:
            assert f"| {reg} | {arm} | 1 |" in text
    assert (tmp_path / "arms_curves.png").stat().st_size > 10_000
    with open(tmp_path / "arms.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [(r["reg"], r["arm"]) for r in table] == [(g, a) for g in sorted(STRENGTH) for a in ARMS]
    first = read_metrics(tmp_path / "4")  # l2, none: job 4 is the first l2 job
    assert (table[4]["reg"], table[4]["arm"]) == ("l2", "none")
    assert float(table[4]["best_val_loss"]) == pytest.approx(min(r["val/loss"] for r in first),
                                                             rel=1e-5)  # fmt: skip
