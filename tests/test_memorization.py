"""experiment=memorization: the sweep, the label corruption it claims to equal Zhang et al.'s, the
epochs-to-fit report from hand-made job dirs, and docs/memorization.md against its table."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from conftest import ROOT, compose_config
from regopt.analysis.memorization import report
from regopt.config.validate import validate_config
from test_experiments import sweep_jobs
from test_implicit_regularization import NUMBER, same, table_rows

RESULTS = ROOT / "docs" / "results" / "memorization"
PAGE = ROOT / "docs" / "memorization.md"
NOISE = (0.0, 0.225, 0.45, 0.675, 0.9)


def test_the_sweep_is_five_corruption_levels_by_two_seeds(tmp_path) -> None:
    jobs = sweep_jobs("memorization")
    assert len(jobs) == 10
    assert {j[0] for j in jobs} == {f"data.label_noise={q}" for q in NOISE}
    cfg = compose_config(["experiment=memorization", *jobs[-1]], tmp_path)
    validate_config(cfg)
    assert cfg.regularizer == {} and cfg.data.label_noise == 0.9
    assert cfg.diagnostics.train_eval.max_samples >= cfg.data.train_size  # the whole training set


def test_label_noise_of_nine_tenths_is_random_labels() -> None:
    """Zhang et al.'s random labels: every class equally likely whatever the true one. regopt's
    0.9 keeps a tenth of the labels and spreads the rest evenly over the nine other classes."""
    from regopt.data.digits import DigitsDataModule

    noisy = DigitsDataModule(train_size=1000, label_noise=0.9, seed=3).load()[1].numpy()
    clean = DigitsDataModule(train_size=1000, seed=3).load()[1].numpy()
    assert len(noisy) == 1000 and (noisy == clean).mean() == pytest.approx(0.1)
    # joint counts (true class, new class): uniform within each true class, up to sampling noise
    joint = np.zeros((10, 10))
    np.add.at(joint, (clean, noisy), 1)
    rows = joint / joint.sum(axis=1, keepdims=True)
    assert np.abs(rows - 0.1).max() < 0.12


def fake_job(path: Path, noise: float, accuracies: list[float], steps_per_epoch: int) -> None:
    path.mkdir(parents=True)
    OmegaConf.save({"data": {"label_noise": noise}}, path / "config.yaml")
    summary = {"status": "completed", "epochs": len(accuracies), "task": {"num_classes": 10}}
    summary["final"] = {"val/acc": 0.9 - noise}
    (path / "summary.json").write_text(json.dumps(summary))
    lines = ["epoch,step,train_eval/acc"]
    lines += [f"{e},{(e + 1) * steps_per_epoch - 1},{a}" for e, a in enumerate(accuracies)]
    (path / "metrics.csv").write_text("\n".join(lines) + "\n")


def test_report_counts_the_epochs_until_the_training_set_is_fitted(tmp_path) -> None:
    fake_job(tmp_path / "0", 0.0, [0.5, 0.995, 1.0, 1.0], 16)  # 99% after 2 epochs, 100% after 3
    fake_job(tmp_path / "1", 0.0, [0.5, 0.9, 0.992, 1.0], 16)  # 3 and 4
    fake_job(tmp_path / "2", 0.9, [0.1, 0.5, 0.9, 0.99, 0.999, 1.0], 16)  # 4 and 6
    fake_job(tmp_path / "3", 0.9, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 16)  # never
    report(tmp_path)
    with open(tmp_path / "memorization.csv", newline="") as handle:
        clean, noisy = list(csv.DictReader(handle))
    assert float(clean["epochs_to_99"]) == 2.5 and float(clean["epochs_to_100"]) == 3.5
    assert float(clean["steps_to_100"]) == 3.5 * 16
    assert float(noisy["corruption"]) == pytest.approx(1.0)
    assert (noisy["fitted_99"], noisy["fitted_100"], noisy["runs"]) == ("1", "1", "2")
    assert float(noisy["epochs_to_100"]) == 6.0
    assert float(noisy["slowdown_100"]) == pytest.approx(6.0 / 3.5)
    assert float(noisy["train_acc"]) == pytest.approx((1.0 + 0.6) / 2)
    assert (tmp_path / "memorization.png").stat().st_size > 10_000


def test_the_docs_page_quotes_the_committed_table() -> None:
    result = (RESULTS / "memorization.md").read_text()
    page = PAGE.read_text()
    rows = table_rows(result)
    assert len(rows) == 1 + len(NOISE)
    assert all(row in page for row in rows)
    with open(RESULTS / "memorization.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    for line, r in zip(rows[1:], table, strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert same(cells[5].split(" ± ")[0], r["epochs_to_100"]), line
        assert same(cells[7], r["slowdown_100"]), line
    values = [v for r in table for v in r.values() if v not in ("", "nan")]
    prose = "\n".join(line for line in page.splitlines() if not line.startswith("|"))
    quoted = re.findall(rf"\*\*({NUMBER})\*\*", prose)
    assert quoted
    for number in quoted:
        assert any(same(number, v) for v in values), number
    assert "![memorisation](results/memorization/memorization.png)" in page
