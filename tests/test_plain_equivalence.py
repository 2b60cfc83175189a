"""regopt's fit computes what the plain PyTorch loop of scripts/bench_plain.py computes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, read_metrics, run_job


def test_regopt_matches_the_plain_loop_number_for_number(tmp_path) -> None:
    plain = subprocess.run(
        [
            sys.executable,
            "scripts/bench_plain.py",
            "--n-train",
            "1000",
            "--n-val",
            "300",
            "--epochs",
            "2",
            "--batch-size",
            "64",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    expected = json.loads(plain.stdout.strip().splitlines()[-1])
    run_job(
        [
            "data=synthetic",
            "data.n_train=1000",
            "data.n_val=300",
            "data.batch_size=64",
            "model.widths=[512,512]",
            "optimizer=adam",
            "optimizer.lr=1e-3",
            "regularizer=none",
            "trainer.max_epochs=2",
            "callbacks=none",
        ],
        tmp_path,
    )
    last = read_metrics(tmp_path)[-1]
    # same init, same batches (seeded by epoch), same updates: equal to float32 rounding
    assert last["val/loss"] == pytest.approx(expected["val_loss"], rel=1e-6)
    assert last["val/acc"] == pytest.approx(expected["val_acc"], abs=1e-6)
    assert last["train/loss"] == pytest.approx(expected["train_loss"], rel=1e-6)
