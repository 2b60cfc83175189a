"""experiment=sequential_vs_joint, reduced (3 epochs, one seed, a small training set): every arm
runs with the strengths its schedule gives, and the report lists the four arms of each regulariser
with numbers taken from the runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import read_metrics, run_cli, run_job
from regopt.analysis.arms import ARMS, load_arm_runs, mean_val_curve, write_report

REDUCED = [
    "experiment=sequential_vs_joint",
    "trainer.max_epochs=3",
    "experiment.switch_epoch=1",
    "experiment.ramp_end=2",
    "data.train_size=96",
    "callbacks=none",
]
GROUP = "experiment/sequential_vs_joint"  # the experiment's own groups: arm and reg
# strength factor per epoch of each arm, under REDUCED (switch at 1, ramp 0 -> 2)
FACTORS = {"none": [0, 0, 0], "joint": [1, 1, 1], "sequential": [0, 1, 1], "ramp": [0, 0.5, 1]}
STRENGTH = {"l2": 0.03, "dropout": 0.5}


def test_reduced_experiment_runs_every_arm_and_reports_them(tmp_path) -> None:
    for job, (reg, arm) in enumerate((r, a) for r in STRENGTH for a in ARMS):
        run_job([*REDUCED, f"{GROUP}/reg={reg}", f"{GROUP}/arm={arm}"], tmp_path / str(job))
        rows = read_metrics(tmp_path / str(job))
        logged = [row[f"reg/{reg}/strength"] for row in rows]
        assert logged == pytest.approx([STRENGTH[reg] * f for f in FACTORS[arm]]), (reg, arm)

    # arm=none is no regularisation: L2 at weight 0 and dropout at p=0 train the same run
    none_l2, none_dropout = read_metrics(tmp_path / "0"), read_metrics(tmp_path / "4")
    assert [r["val/loss"] for r in none_l2] == [r["val/loss"] for r in none_dropout]

    text = write_report(tmp_path)
    for reg in STRENGTH:
        for arm in ARMS:
            assert f"| {reg} | {arm} | 1 |" in text
    assert (tmp_path / "arms_curves.png").stat().st_size > 10_000
    with open(tmp_path / "arms.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [(r["reg"], r["arm"]) for r in table] == [(g, a) for g in sorted(STRENGTH) for a in ARMS]
    for reg in STRENGTH:  # the paired table: every arm but joint, against joint of the same seed
        for arm in ("none", "sequential", "ramp"):
            assert f"| {reg} | {arm} | 1 |" in text.split("## Paired")[1]
    joint_l2, ramp_l2 = read_metrics(tmp_path / "1"), read_metrics(tmp_path / "3")
    diff = ramp_l2[-1]["val/loss"] - joint_l2[-1]["val/loss"]
    assert f"| l2 | ramp | 1 | {diff:.4f} |" in text
    first = read_metrics(tmp_path / "0")  # jobs 0-3: l2; table rows 4-7: l2 (sorted by reg)
    assert (table[4]["reg"], table[4]["arm"]) == ("l2", "none")
    assert float(table[4]["best_val_loss"]) == pytest.approx(
        min(r["val/loss"] for r in first), rel=1e-5
    )


@pytest.mark.slow
def test_the_documented_command_runs_the_sweep_and_writes_the_report(tmp_path) -> None:
    """`regopt-train -m experiment=sequential_vs_joint`, reduced: 8 jobs, then arms.md."""
    sweep = tmp_path / "sweep"
    result = run_cli(
        ["-m", *REDUCED, "logger=none", "hydra.sweeper.params.seed=0", f"hydra.sweep.dir={sweep}"],
        tmp_path,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = (sweep / "arms.md").read_text()
    for reg in STRENGTH:
        for arm in ARMS:
            assert f"| {reg} | {arm} | 1 |" in text
    assert (sweep / "arms_curves.png").is_file()


def test_the_docs_page_shows_the_report_that_make_sequential_wrote() -> None:
    """docs/schedules.md quotes docs/results/sequential_vs_joint/arms.md (written by `make
    sequential`) line for line: its numbers are the command's, not typed by hand."""
    root = Path(__file__).resolve().parents[1] / "docs"
    report = (root / "results" / "sequential_vs_joint" / "arms.md").read_text()
    page = (root / "schedules.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 8 + 1 + 6  # two tables: a heading and 8 arms, a heading and 6 pairs
    assert all(row in page for row in rows)
    assert "![validation curves](results/sequential_vs_joint/arms_curves.png)" in page


def fake_job(path: Path, arm: str, seed: int, status: str, val: dict[int, float]) -> None:
    path.mkdir(parents=True)
    overrides = [
        "experiment=sequential_vs_joint",
        f"{GROUP}/reg=l2",
        f"{GROUP}/arm={arm}",
        f"seed={seed}",
    ]
    summary = {"status": status, "seed": seed, "overrides": overrides}
    (path / "summary.json").write_text(json.dumps(summary))
    lines = ["epoch,train/acc,val/loss"]
    for epoch in range(max(val) + 1):
        lines.append(f"{epoch},0.5,{val.get(epoch, '')}")
    (path / "metrics.csv").write_text("\n".join(lines) + "\n")


def test_the_report_names_the_runs_it_left_out_and_plots_true_epochs(tmp_path) -> None:
    """Validated every 2 epochs, one seed stopped early, one diverged: the curve's epochs are the
    validated ones common to all seeds, and arms.md says which job it left out and why."""
    fake_job(tmp_path / "0", "joint", 0, "completed", {1: 0.9, 3: 0.7, 5: 0.8})
    fake_job(tmp_path / "1", "joint", 1, "completed", {1: 0.5, 3: 0.3})
    fake_job(tmp_path / "2", "joint", 2, "diverged", {1: 0.4})
    text = write_report(tmp_path, figures=False)
    assert "Left out (not completed): 2 (diverged)." in text
    assert "| l2 | joint | 2 |" in text
    runs = load_arm_runs(tmp_path)
    epochs, mean, std = mean_val_curve(runs)
    assert epochs == [1, 3]
    assert mean == pytest.approx([0.7, 0.5])
    assert std == pytest.approx([0.2 * 2**0.5, 0.2 * 2**0.5])  # sample std of two values
