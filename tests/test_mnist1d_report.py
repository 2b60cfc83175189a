"""regopt.analysis.mnist1d on a fabricated sweep: the table's statistics against numpy's, the
parameter count against the checkpoint's tensors, incomplete jobs named, the files written."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
import yaml

from regopt.analysis.mnist1d import PUBLISHED, report

ACCS = {"cnn": [0.90, 0.925, 0.95], "logistic": [0.30, 0.34]}


def fake_job(path, arch: str, acc: float | None) -> None:
    path.mkdir(parents=True)
    status = "completed" if acc is not None else "failed"
    final = {"val/acc": acc, "train/acc": 1.0 if acc is not None else None}
    (path / "summary.json").write_text(json.dumps({"status": status, "final": final}))
    (path / "config.yaml").write_text(yaml.safe_dump({"experiment": {"arch": arch}}))
    with open(path / "metrics.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "step", "val/acc"])
        writer.writerows([[0, 39, ""], [1, 79, 0.2], [2, 119, ""], [3, 159, acc or 0.1]])
    (path / "checkpoints").mkdir()
    state = {"model.w": torch.zeros(3, 4), "model.b": torch.zeros(4), "other": torch.zeros(9)}
    torch.save({"state_dict": state}, path / "checkpoints" / "last.ckpt")


def test_report_table_matches_numpy_and_names_left_out_jobs(tmp_path) -> None:
    index = 0
    for arch, accs in ACCS.items():
        for acc in accs:
            fake_job(tmp_path / str(index), arch, acc)
            index += 1
    fake_job(tmp_path / str(index), "cnn", None)
    report(tmp_path)
    with open(tmp_path / "mnist1d.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["model"] for r in rows] == ["logistic", "cnn"]  # the paper's order
    for row in rows:
        accs = np.array(ACCS[row["model"]])
        assert int(row["runs"]) == len(accs) and int(row["params"]) == 3 * 4 + 4
        assert float(row["acc_mean"]) == pytest.approx(accs.mean())
        assert float(row["acc_std"]) == pytest.approx(accs.std(ddof=1))
        assert float(row["acc_min"]) == accs.min() and float(row["acc_max"]) == accs.max()
        peaks = np.maximum(accs, 0.2)  # each job's best validation: 0.2 or its final one
        assert float(row["peak_acc_mean"]) == pytest.approx(peaks.mean())
        paper = PUBLISHED[row["model"]][0]
        assert float(row["diff_vs_paper"]) == pytest.approx(accs.mean() - paper)
    text = (tmp_path / "mnist1d.md").read_text()
    assert f"Left out (not completed): {index} (failed)." in text
    assert (
        "after 160 steps" in text and "| cnn | 16 | 3 | 94.0 | 92.5 / 92.3 | 92.5 ± 2.5 |" in text
    )
    assert (tmp_path / "mnist1d.png").stat().st_size > 0
