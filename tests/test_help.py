"""`regopt-train --help` and `--cfg job` with overrides, fast and without torch (the listing of
groups itself: tests/test_config_signatures.py)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

HELP_AND_MODULES = """
import sys
from regopt.train import main
sys.argv = ["regopt-train", "--help", *sys.argv[1:]]
main()
print("HEAVY:", sorted(m for m in ("torch", "pytorch_lightning", "wandb") if m in sys.modules))
"""


def _help(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", HELP_AND_MODULES, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_shows_the_config_with_the_overrides_applied() -> None:
    result = _help("optimizer=sgd", "optimizer.lr=0.123", "seed=7")
    assert result.returncode == 0, result.stderr
    config = result.stdout.split("== Config ==", 1)[1]
    assert "_target_: torch.optim.SGD" in config
    assert "lr: 0.123" in config
    assert "seed: 7" in config
    assert "HEAVY: []" in result.stdout  # neither torch, Lightning nor W&B imported


def test_help_with_a_bad_option_fails_in_one_line() -> None:
    result = _help("optimizer=adamm")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "optimizer=adamm is not an option of 'optimizer'" in result.stderr
    assert "adamw" in result.stderr and "Traceback" not in result.stderr


def test_help_beside_a_flag_that_takes_a_value_ignores_that_value() -> None:
    result = _help("--cfg", "job", "optimizer=sgd", "-m")
    assert result.returncode == 0, result.stderr
    assert "_target_: torch.optim.SGD" in result.stdout.split("== Config ==", 1)[1]
    assert "HEAVY: []" in result.stdout


def test_help_lists_every_launcher_and_sweeper() -> None:
    """Hydra's own (basic), the installed plugins' (joblib, submitit), regopt's (optuna)."""
    result = _help()
    groups = result.stdout.split("== Configuration groups ==", 1)[1].split("== Config ==")[0]
    launchers = next(line for line in groups.splitlines() if line.startswith("hydra/launcher:"))
    for name in (
        "basic",
        "joblib",
        "submitit_local",
        "submitit_slurm",
        "parallel",
        "slurm",
        "stacked",
    ):
        assert name in launchers.split(": ", 1)[1].split(", "), launchers
    sweepers = next(line for line in groups.splitlines() if line.startswith("hydra/sweeper:"))
    assert {"basic", "optuna"} <= set(sweepers.split(": ", 1)[1].split(", "))
    pruners = next(
        line for line in groups.splitlines() if line.startswith("hparams_search/pruner:")
    )
    assert pruners.split(": ", 1)[1].split(", ") == sorted(
        path.stem for path in (ROOT / "conf" / "hparams_search" / "pruner").glob("*.yaml")
    )
    assert "regopt-train hparams_search=optuna hparams_search/pruner=" in result.stdout
    assert "HEAVY: []" in result.stdout


CFG_JOB_AND_MODULES = """
import sys, time
from regopt.train import main
sys.argv = ["regopt-train", "--cfg", "job", *sys.argv[1:]]
started = time.perf_counter()
try:
    main()
except SystemExit:
    pass
print("SECONDS:", time.perf_counter() - started)
print("HEAVY:", sorted(m for m in ("torch", "pytorch_lightning", "wandb", "pydantic")
                        if m in sys.modules))
"""


def test_cfg_job_prints_the_config_without_importing_torch_or_checking_it() -> None:
    """--cfg job trains nothing, so it neither checks the config (which imports every target)
    nor pays for torch: a bad value still prints."""
    result = subprocess.run(
        [sys.executable, "-c", CFG_JOB_AND_MODULES, "optimizer.lr=-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "lr: -1" in result.stdout
    assert "HEAVY: []" in result.stdout
    seconds = float(result.stdout.split("SECONDS:")[1].split()[0])
    assert seconds < 5  # about 0.3 s on an idle machine (docs/benchmarks.md); loose under load
