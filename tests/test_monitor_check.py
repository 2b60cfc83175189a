"""A `monitor` key that no metric has is refused before training; the keys each part of a run says
it logs are the keys the run's record really holds."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest

from conftest import compose_config, read_metrics, run_cli

QUICK = ["logger=none", "trainer.max_epochs=2"]


def test_a_mistyped_monitor_is_refused_before_training_naming_the_key(tmp_path) -> None:
    result = run_cli([*QUICK, "callbacks.model_checkpoint.monitor=val/los"], tmp_path)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert line.count("\n") == 0 and "Traceback" not in result.stderr
    assert line.startswith(
        "regopt-train: config error: callbacks.model_checkpoint.monitor='val/los'"
    )
    assert "did you mean val/loss" in line
    assert not (tmp_path / "logs").exists()  # refused before anything was kept
    assert "epoch 1/" not in result.stdout + result.stderr  # nothing trained


def test_the_declared_keys_are_the_keys_of_the_record(tmp_path) -> None:
    """Every column of a real run's metrics.csv is declared, and every declared key (patterns
    aside) is a column: the check knows what the run logs, no more and no less."""
    from hydra.utils import instantiate

    from conftest import run_job
    from regopt.build import build_module
    from regopt.monitor_check import logged_keys

    overrides = ["regularizer=[l1,l2,dropout]", "diagnostics.gradients.every_n_epochs=1"]
    run_job([*overrides, "trainer.max_epochs=2"], tmp_path / "run")
    columns = set().union(*(row.keys() for row in read_metrics(tmp_path / "run")))
    cfg = compose_config(["logger=none", *overrides], tmp_path / "check")
    module = build_module(cfg, instantiate(cfg.data))
    callbacks = [
        instantiate(spec) for group in ("callbacks", "diagnostics") for spec in cfg[group].values()
    ]
    declared = logged_keys(module, callbacks)
    assert declared is not None
    assert all(any(fnmatchcase(c, key) for key in declared) for c in columns), sorted(
        c for c in columns if not any(fnmatchcase(c, k) for k in declared)
    )
    assert {key for key in declared if "*" not in key} <= columns


@pytest.mark.slow
def test_a_callback_that_does_not_say_what_it_logs_leaves_the_monitor_to_lightning(tmp_path):
    """LearningRateMonitor logs `lr-<optimizer>/<group>` without declaring it: monitoring that key
    must not be refused."""
    args = [
        *QUICK,
        "+callbacks.lr._target_=pytorch_lightning.callbacks.LearningRateMonitor",
        "callbacks.model_checkpoint.monitor=lr-Adam/decay",
        "callbacks.model_checkpoint.mode=max",
    ]
    result = run_cli(args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
