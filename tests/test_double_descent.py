"""experiment=double_descent: the sweep it expands to, and its report from a tiny real sweep."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import compose_config, read_summary, run_job
from regopt.analysis.double_descent import mlp_parameters, report
from regopt.config.validate import validate_config
from test_experiments import sweep_jobs

WIDTHS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128, 256, 512]


def test_the_sweep_is_fourteen_widths_by_three_seeds_of_the_teacher(tmp_path) -> None:
    jobs = sweep_jobs("double_descent")
    assert len(jobs) == 42
    assert sorted({j[0] for j in jobs}, key=lambda o: int(o.split("[")[1][:-1])) == [
        f"model.widths=[{w}]" for w in WIDTHS
    ]
    assert {j[1] for j in jobs} == {"seed=0", "seed=1", "seed=2"}
    cfg = compose_config(["experiment=double_descent", *jobs[-1]], tmp_path)
    validate_config(cfg)
    assert cfg.data._target_.endswith("TeacherDataModule") and cfg.regularizer == {}
    assert list(cfg.model.widths) == [512] and cfg.seed == 2
    # the interpolation threshold (parameters = n_train) lies inside the swept widths
    params = [mlp_parameters(cfg.data.input_dim, [w], 1) for w in WIDTHS]
    assert params[0] < cfg.data.n_train < params[-1]


def test_report_tabulates_and_plots_a_tiny_real_sweep(tmp_path) -> None:
    widths = [2, 16, 64]
    for job, width in enumerate(widths):
        run_job(
            [
                "experiment=double_descent",
                f"model.widths=[{width}]",
                "trainer.max_epochs=2",
                "trainer.check_val_every_n_epoch=1",
            ],
            tmp_path / str(job),
        )
    (tmp_path / "3").mkdir()  # a job that diverged: named in the report, not silently dropped
    (tmp_path / "3" / "summary.json").write_text('{"status": "diverged"}')
    text = report(tmp_path).read_text()
    assert "Left out (not completed): 3 (diverged)." in text
    with open(tmp_path / "double_descent.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [int(r["width"]) for r in table] == widths
    for job, (width, row) in enumerate(zip(widths, table, strict=True)):
        summary = read_summary(tmp_path / str(job))
        assert int(row["params"]) == (8 + 1) * width + (width + 1)
        assert float(row["val_mse"]) == pytest.approx(summary["final"]["val/mse"])
        assert float(row["best_val_mse"]) == pytest.approx(summary["best"]["val/mse"])
        assert f"| {width} | {row['params']} | 1 | " in text
    assert (tmp_path / "double_descent.png").stat().st_size > 10_000


def test_the_docs_page_shows_the_committed_result() -> None:
    root = Path(__file__).resolve().parents[1] / "docs"
    result = (root / "results" / "double_descent" / "double_descent.md").read_text()
    page = (root / "data_and_models.md").read_text()
    rows = [line for line in result.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + len(WIDTHS)  # the heading, one row per width
    assert all(row in page for row in rows)
    assert "![double descent](results/double_descent/double_descent.png)" in page
