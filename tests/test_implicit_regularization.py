"""experiment=implicit_regularization: the sweep it expands to, its report from hand-made job
dirs (and, slow, from a tiny real sweep), and docs/implicit_regularization.md against its table."""

from __future__ import annotations

import csv
import json
import math
import re
import statistics
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import ROOT, compose_config, run_job
from regopt.analysis.implicit import report
from regopt.config.validate import validate_config
from test_experiments import sweep_jobs

RESULTS = ROOT / "docs" / "results" / "implicit_regularization"
PAGE = ROOT / "docs" / "implicit_regularization.md"


def test_the_sweep_is_batch_size_by_lr_by_seed_of_plain_sgd(tmp_path) -> None:
    jobs = sweep_jobs("implicit_regularization")
    assert len(jobs) == 18
    assert {j[0] for j in jobs} == {f"data.batch_size={b}" for b in (16, 64, 512)}
    assert {j[1] for j in jobs} == {f"optimizer.lr={lr}" for lr in (0.03, 0.1, 0.3)}
    cfg = compose_config(["experiment=implicit_regularization", *jobs[-1]], tmp_path)
    validate_config(cfg)
    assert cfg.optimizer._target_ == "torch.optim.SGD" and cfg.regularizer == {}
    assert cfg.data.batch_size == 512 == cfg.data.train_size  # the largest batch: full batch
    # the sharpness is measured at the run's last epoch (epochs count from 0)
    assert (cfg.trainer.max_epochs - 1) % cfg.diagnostics.sharpness.every_n_epochs == 0


def fake_job(path: Path, batch: int, lr: float, seed: int, sharpness: list[float], **final) -> None:
    """A completed job dir as a run leaves it: config.yaml, summary.json, metrics.csv."""
    path.mkdir(parents=True)
    config = {"data": {"batch_size": batch, "train_size": 512}, "optimizer": {"lr": lr}}
    OmegaConf.save(config, path / "config.yaml")
    summary = {"status": "completed", "seed": seed, "final": final}
    (path / "summary.json").write_text(json.dumps(summary))
    lines = ["epoch,step,sharpness/top_eigenvalue,val/loss"]
    lines += [f"{20 * i},{i},{s},1.0" for i, s in enumerate(sharpness)] + ["41,42,,1.0"]
    (path / "metrics.csv").write_text("\n".join(lines) + "\n")


def test_report_averages_seeds_and_sets_small_against_large_batch(tmp_path) -> None:
    cells = {(16, 0.1): (0.5, 1.5), (512, 0.1): (4.0, 6.0)}  # sharpness at the end, two seeds
    job = 0
    for (batch, lr), ends in cells.items():
        for seed, end in enumerate(ends):
            final = {"train_eval/acc": 1.0 - job / 100, "val/loss": 0.2 + job / 10}
            final |= {"gap/loss": 0.1 * (job + 1), "gap/acc": 0.03}
            fake_job(tmp_path / str(job), batch, lr, seed, [9.0, 7.0, end], **final)
            job += 1
    (tmp_path / "4").mkdir()  # a job that diverged: named, not silently dropped
    (tmp_path / "4" / "summary.json").write_text('{"status": "diverged"}')
    text = report(tmp_path).read_text()
    assert "Left out (not completed): 4 (diverged)." in text
    with open(tmp_path / "implicit.csv", newline="") as handle:
        grid = list(csv.DictReader(handle))
    assert [(int(r["batch_size"]), float(r["lr"])) for r in grid] == list(cells)
    small, large = grid
    assert float(small["noise_scale"]) == pytest.approx(0.1 * 512 / 16)
    assert float(small["sharpness"]) == pytest.approx(1.0)  # the last measured epoch, not the first
    assert float(small["sharpness_std"]) == pytest.approx(math.sqrt(0.5))
    assert int(small["sharpness_epoch"]) == 40
    assert float(large["gap_loss"]) == pytest.approx(statistics.fmean([0.3, 0.4]))
    assert float(large["val_loss_std"]) == pytest.approx(statistics.stdev([0.4, 0.5]))
    with open(tmp_path / "keskar.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["small_batch"], row["large_batch"]) == ("16", "512")
    assert float(row["sharpness_ratio"]) == pytest.approx(5.0 / 1.0)
    assert float(row["gap_loss_large"]) - float(row["gap_loss_small"]) == pytest.approx(0.2)
    assert (tmp_path / "implicit.png").stat().st_size > 10_000


@pytest.mark.slow
def test_report_reads_a_tiny_real_sweep(tmp_path) -> None:
    for job, batch in enumerate((16, 512)):
        overrides = ["experiment=implicit_regularization", f"data.batch_size={batch}"]
        overrides += ["trainer.max_epochs=3", "diagnostics.sharpness.every_n_epochs=2"]
        run_job([*overrides, "model.widths=[8]"], tmp_path / str(job))
    report(tmp_path)
    with open(tmp_path / "implicit.csv", newline="") as handle:
        grid = list(csv.DictReader(handle))
    for job, row in enumerate(grid):
        with open(tmp_path / str(job) / "metrics.csv", newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if r["sharpness/top_eigenvalue"]]
        assert [r["epoch"] for r in rows] == ["0", "2"]
        assert float(row["sharpness"]) == pytest.approx(float(rows[-1]["sharpness/top_eigenvalue"]))


NUMBER = r"[+-]?\d+(?:\.\d+)?"


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]


def same(quoted: str, value: str) -> bool:
    """`quoted` is `value` rounded to the quote's decimals."""
    decimals = len(quoted.partition(".")[2])
    return float(quoted) == round(float(value), decimals)


def test_the_docs_page_quotes_the_committed_tables() -> None:
    result = (RESULTS / "implicit.md").read_text()
    page = PAGE.read_text()
    rows = table_rows(result)
    assert len(rows) == 2 + 9 + 3  # two headings, the 3 x 3 grid, one comparison per lr
    assert all(row in page for row in rows)
    with open(RESULTS / "implicit.csv", newline="") as handle:
        grid = list(csv.DictReader(handle))
    with open(RESULTS / "keskar.csv", newline="") as handle:
        comparison = list(csv.DictReader(handle))
    values = [v for r in [*grid, *comparison] for v in r.values()]
    # the table rows are the csv's numbers, as rounded
    for line, r in zip(rows[1:10], grid, strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert same(cells[6].split(" ± ")[0], r["gap_loss"]), line
        assert same(cells[8].split(" ± ")[0], r["sharpness"]), line
        assert same(cells[5].split(" ± ")[0], r["val_loss"]), line
    # every number the prose quotes in bold is one of the tables'
    prose = "\n".join(line for line in page.splitlines() if not line.startswith("|"))
    quoted = re.findall(rf"\*\*({NUMBER})\*\*", prose)
    assert quoted
    for number in quoted:
        assert any(same(number, v) for v in values), number
    assert "![implicit regularisation](results/implicit_regularization/implicit.png)" in page
