"""regopt-report: every run shown, groups averaged over seeds, the grid table and the heatmap."""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
from pathlib import Path

import pytest
from scipy import stats as scipy_stats

from conftest import ROOT, read_summary
from regopt.report.cli import main
from regopt.report.collect import load_runs

REGS, OPTS = ["none", "l2"], ["sgd", "adam"]


def fake_run(
    path: Path,
    overrides: list[str],
    status: str | None,
    best: float | None = None,
    onset: int | None = None,
    epochs: int = 20,
) -> None:
    """A run dir as regopt-train leaves it (status None: Hydra started it, nothing else)."""
    (path / ".hydra").mkdir(parents=True)
    (path / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if status is None:
        return
    rows = [
        {
            "epoch": e,
            "val/loss": 1.0 / (e + 1) + (best or 0),
            "train_eval/loss": 0.5 / (e + 1),
            "gap/loss": 0.1,
        }
        for e in range(epochs)
    ]
    with open(path / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = {
        "status": status,
        "overrides": overrides,
        "epochs": epochs,
        "onset_epoch": onset,
        "verdict": "made up",
        "diagnosis": {"kind": "overfitting" if onset else "none"},
        "best": {"val/loss": best, "val/acc": 0.9, "epoch": 3},
        "final": {"gap/loss": 0.1},
    }
    (path / "summary.json").write_text(json.dumps(summary))


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    job = 0
    for reg in REGS:
        for opt in OPTS:
            for seed in range(3):
                best = 0.1 * (1 + REGS.index(reg)) + 0.01 * OPTS.index(opt) + 0.001 * seed
                onset = 10 + seed if reg == "none" else None
                status = "completed"
                if (reg, opt, seed) == ("l2", "adam", 2):
                    status, best = "diverged", 9.0  # shown, not averaged
                overrides = [
                    f"regularizer={reg}",
                    f"optimizer={opt}",
                    f"seed={seed}",
                    "experiment=reg_vs_opt",
                ]
                fake_run(tmp_path / str(job), overrides, status, best, onset)
                job += 1
    extra = ["experiment=reg_vs_opt"]
    fake_run(tmp_path / str(job), ["regularizer=l2", "optimizer=sgd", "seed=3", *extra], None)
    fake_run(
        tmp_path / str(job + 1), ["regularizer=none", "optimizer=sgd", "seed=4", *extra], "running"
    )
    return tmp_path


def test_runs_are_found_in_job_order_with_every_state(sweep: Path) -> None:
    runs = load_runs(sweep)
    assert [r.name for r in runs] == [str(i) for i in range(14)]
    assert [r.status for r in runs].count("completed") == 11
    assert runs[11].status == "diverged" and runs[12].status == "no record"
    assert runs[13].status == "unfinished"
    assert runs[12].overrides == {
        "regularizer": "l2",
        "optimizer": "sgd",
        "seed": "3",
        "experiment": "reg_vs_opt",
    }


def test_report_tables_and_heatmap(sweep: Path, capsys) -> None:
    assert main([str(sweep)]) == 0
    text = (sweep / "report.md").read_text()
    assert text == capsys.readouterr().out.split("written: ")[0].rstrip("\n") + "\n"

    # the grid: mean ± std over seeds of best val loss, regulariser x optimiser
    def cell(values: list[float]) -> str:
        return f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g}"

    none_sgd = cell([0.1 + 0.001 * s for s in range(3)])
    none_adam = [0.1 + 0.01 + 0.001 * s for s in range(3)]
    assert f"| none | {none_sgd} (unfinished) | {cell(none_adam)} |" in text
    l2_adam = cell([0.2 + 0.01 + 0.001 * s for s in range(2)])  # seed 2 diverged
    assert (
        f"| l2 | {cell([0.2 + 0.001 * s for s in range(3)])} (no record) | {l2_adam} (diverged) |"
        in text
    )
    # groups: every run counted, with its state; onset averaged over the runs that have one
    assert f"| none | sgd | 4 | {none_sgd} |" in text
    assert "11 ± 1 (3/3)" in text  # onset epochs 10, 11, 12
    assert "completed 3, unfinished 1" in text and "completed 2, diverged 1" in text
    assert "| 12 | l2 | sgd | 3 | no record |" in text
    assert "± 1.7e-17" not in text  # float noise in a constant column is shown as 0
    assert "| 11 | l2 | adam | 2 | diverged | 20 | 9 |" in text
    with open(sweep / "report.csv") as handle:
        groups = list(csv.DictReader(handle))
    assert len(groups) == 4
    none_adam_row = next(
        g for g in groups if g["regularizer"] == "none" and g["optimizer"] == "adam"
    )
    assert float(none_adam_row["best_val_loss_mean"]) == pytest.approx(statistics.mean(none_adam))
    assert float(none_adam_row["best_val_loss_std"]) == pytest.approx(statistics.stdev(none_adam))
    assert len((sweep / "runs.csv").read_text().splitlines()) == 1 + 14
    for name in ("heatmap_best_val_loss.png", "curves_by_group.png", "curves_overlay.png"):
        assert (sweep / name).read_bytes().startswith(b"\x89PNG"), name


def test_single_run_and_errors(tmp_path: Path, capsys) -> None:
    fake_run(tmp_path / "run", ["optimizer=sgd"], "completed", 0.3, 7)
    assert main([str(tmp_path / "run"), "--no-figures"]) == 0
    text = (tmp_path / "run" / "report.md").read_text()
    assert (
        "1 runs (completed 1)" in text
        and "| run | completed | 20 | 0.3 | 0.1 | 7 | 20 / - | 20 / - | made up |" in text
    )
    new_dir = tmp_path / "reports" / "new"  # --out into a dir that does not exist yet
    assert main([str(tmp_path / "run"), "--no-figures", "--out", str(new_dir)]) == 0
    assert (new_dir / "report.md").read_text() == text
    assert main([str(tmp_path / "missing")]) == 2
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 2
    assert "no run dirs" in capsys.readouterr().err


@pytest.mark.slow
def test_make_sweep_reduced_runs_reg_vs_opt_and_reports_the_grid(tmp_path: Path) -> None:
    """`make sweep` with regulariser {none, l2}, 3 seeds, 2 epochs, no W&B: the grid, the effects
    (report.csv's columns against scipy's paired t-test on the runs' own numbers, the sentences),
    the figures, and the copy into SWEEP_DOCS."""
    sweep_dir, docs = tmp_path / "sweep", tmp_path / "docs"
    args = "regularizer=none,l2 seed=0,1,2 trainer.max_epochs=2 logger=none callbacks=none"
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "sweep",
            f"SWEEP_DIR={sweep_dir}",
            f"SWEEP_DOCS={docs}",
            f"ARGS={args}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted((p for p in sweep_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    assert len(jobs) == 18
    summaries = [read_summary(j) for j in jobs]
    assert all(s["status"] == "completed" for s in summaries)

    def best(reg: str, opt: str) -> list[float]:
        found = {
            s["seed"]: s["best"]["val/loss"]
            for s in summaries
            if f"regularizer={reg}" in s["overrides"] and f"optimizer={opt}" in s["overrides"]
        }
        assert len(found) == 3
        return [found[k] for k in sorted(found)]

    text = (sweep_dir / "report.md").read_text()
    grid = text.split("## best val loss: regularizer x optimizer")[1].split("##")[0]
    lines = [line for line in grid.splitlines() if line.startswith("| ")]
    assert lines[0] == "| regularizer \\ optimizer | sgd | adam | adamw |"
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| none", "| l2"]
    for line in lines[2:]:  # 6 cells of mean ± std over 3 seeds, equal to the runs' own numbers
        reg = line.split(" | ")[0][2:]
        for opt, cell in zip(["sgd", "adam", "adamw"], line.split(" | ")[1:], strict=True):
            values = best(reg, opt)
            expected = f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g}"
            assert cell.strip(" |") == expected
    with open(sweep_dir / "report.csv") as handle:
        rows = {(r["regularizer"], r["optimizer"]): r for r in csv.DictReader(handle)}
    for opt in ("sgd", "adam", "adamw"):  # l2's effect against none, seed by seed
        row, l2, none = rows["l2", opt], best("l2", opt), best("none", opt)
        assert (
            row["baseline_regularizer"] == "none"
            and row["best_val_loss_vs_regularizer_test"] == "paired"
        )
        diffs = [a - b for a, b in zip(l2, none, strict=True)]
        assert float(row["best_val_loss_vs_regularizer"]) == pytest.approx(statistics.mean(diffs))
        if len(set(diffs)) > 1:
            low, high = scipy_stats.ttest_rel(l2, none).confidence_interval()
            assert float(row["best_val_loss_vs_regularizer_low"]) == pytest.approx(low)
            assert float(row["best_val_loss_vs_regularizer_high"]) == pytest.approx(high)
        assert f"optimizer={opt}, against regularizer=none: l2" in text
    assert rows["none", "adam"]["best_val_loss_vs_regularizer"] == ""  # the baseline cell
    assert "### Every effect (setting - baseline)" in text
    for name in ("heatmap_best_val_loss.png", "plane.png"):
        assert (sweep_dir / name).read_bytes().startswith(b"\x89PNG"), name
    for name in ("report.md", "report.csv", "runs.csv", "plane.png", "heatmap_best_val_loss.png"):
        assert (docs / name).read_bytes() == (sweep_dir / name).read_bytes(), name


def test_the_grid_heading_names_every_key_its_cells_average_over(tmp_path: Path) -> None:
    """regulariser x optimizer x lr x seed: a grid cell of regulariser x optimizer pools the lrs
    and the seeds, and its heading must say so (it said 'over seed')."""
    job = 0
    for reg in REGS:
        for opt in OPTS:
            for lr in ("0.1", "0.01"):
                for seed in range(2):
                    overrides = [
                        f"regularizer={reg}",
                        f"optimizer={opt}",
                        f"optimizer.lr={lr}",
                        f"seed={seed}",
                    ]
                    fake_run(tmp_path / str(job), overrides, "completed", 0.1 + 0.001 * job)
                    job += 1
    assert main([str(tmp_path), "--no-figures"]) == 0
    text = (tmp_path / "report.md").read_text()
    assert "## best val loss: regularizer x optimizer (mean ± std over optimizer.lr, seed)" in text
    assert "## Groups (mean ± std over seed)" in text
    pooled = [0.1 + 0.001 * j for j in range(4)]  # none x sgd: jobs 0-3, both lrs, both seeds
    cell = f"{statistics.mean(pooled):.4g} ± {statistics.stdev(pooled):.2g}"
    assert f"| none | {cell} |" in text


def test_a_sweep_dir_lists_the_planned_jobs_that_never_started(tmp_path: Path) -> None:
    """multirun.yaml as Hydra's basic sweeper writes it: the jobs are every combination of the
    sweeper's params, then the command line's overrides, numbered in that order."""
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n"
        "  sweep:\n    dir: somewhere\n    subdir: ${hydra.job.num}\n"
        "  sweeper:\n    _target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper\n"
        "    max_batch_size: null\n    params:\n      seed: 0,1\n"
        "  overrides:\n    task:\n    - optimizer=sgd,adam\n    - trainer.max_epochs=3\n"
    )
    fake_run(tmp_path / "0", ["seed=0", "optimizer=sgd", "trainer.max_epochs=3"], "completed", 0.1)
    fake_run(tmp_path / "1", ["seed=0", "optimizer=adam", "trainer.max_epochs=3"], "interrupted")
    runs = load_runs(tmp_path)
    assert [(r.name, r.status) for r in runs] == [
        ("0", "completed"),
        ("1", "interrupted"),
        ("2", "not started"),
        ("3", "not started"),
    ]
    assert runs[2].overrides == {"seed": "1", "optimizer": "sgd", "trainer.max_epochs": "3"}
    assert runs[3].overrides == {"seed": "1", "optimizer": "adam", "trainer.max_epochs": "3"}
    assert main([str(tmp_path), "--no-figures"]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "4 runs (completed 1, interrupted 1, not started 2)" in report
