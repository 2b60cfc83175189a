"""Shared helpers: compose the real config tree and run jobs in-process or as the CLI would."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf, open_dict

from regopt.config.resolvers import register_resolvers

pytest_plugins = ["sigterm_ends_session"]  # SIGTERM tears the fixtures down (the clusters)
ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
GROUPS = (
    "data",
    "model",
    "regularizer",
    "optimizer",
    "scheduler",
    "trainer",
    "logger",
    "callbacks",
    "diagnostics",
    "experiment",
    "hparams_search",
)


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def wraps_a_base(optimizer: str) -> bool:
    """conf/optimizer/<optimizer>.yaml wraps another option of the group (sam: `optimizer.base`)."""
    defaults = OmegaConf.load(CONF / "optimizer" / f"{optimizer}.yaml").get("defaults") or []
    return any("@base" in str(entry) for entry in defaults)


def optimizers() -> list:
    """Every option of conf/optimizer/ for the grid and the short runs; one that wraps a base
    optimiser (two passes a step) runs there in `make test-slow`, its own tests in `make test`."""
    return [
        pytest.param(name, marks=pytest.mark.slow) if wraps_a_base(name) else name
        for name in options("optimizer")
    ]


def regularizers() -> list[str]:
    """Every regulariser in conf/regularizer/ (but `none`): what the grid, resume and effect
    tests run, so a new one joins them with its class and YAML alone."""
    return [name for name in options("regularizer") if name != "none"]


def regularizer_class(name: str) -> type:
    """The class conf/regularizer/<name>.yaml names with `_target_`."""
    return get_class(OmegaConf.load(CONF / "regularizer" / f"{name}.yaml")["_target_"])


def regularizer_overrides(name: str, effect_settings: bool = True) -> list[str]:
    """Select it, with what any run with it needs (`needs`, e.g. model=bayes_mlp) and, by default,
    the settings its `effect` declares (a strength that shows within a few epochs)."""
    cls = regularizer_class(name)
    effect = getattr(cls, "effect", None)
    settings = effect.settings if effect is not None and effect_settings else {}
    own = [f"regularizer.{name}.{key}={value}" for key, value in settings.items()]
    return [*getattr(cls, "needs", ()), f"regularizer={name}", *own]


def compose_config(overrides: list[str], output_dir: Path | None = None) -> DictConfig:
    """The config the CLI would build for these overrides, writing into `output_dir`.

    Hydra's runtime config is set as in a real job, so group choices and overrides are known.
    """
    register_resolvers()
    extra = [f"paths.output_dir={output_dir}"] if output_dir is not None else []
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[*overrides, *extra], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def run_job(overrides: list[str], output_dir: Path) -> dict:
    """Train in this process (imports are paid once for the whole test session)."""
    from regopt.config.validate import validate_config
    from regopt.pipeline import run

    cfg = compose_config(["logger=none", *overrides], output_dir)
    validate_config(cfg)
    run(cfg)
    return read_summary(output_dir)


def fit_watched(overrides: list[str], callbacks: list, output_dir: Path):
    """A real fit wired by the pipeline's own builders, with extra callbacks watching it (no
    loggers, no record); returns (trainer, module)."""
    from hydra.utils import instantiate

    from regopt.build import build_module, build_trainer

    cfg = compose_config(["logger=none", "callbacks=none", *overrides], output_dir)
    datamodule = instantiate(cfg.data)
    module = build_module(cfg, datamodule)
    trainer = build_trainer(cfg, logger=False, callbacks=callbacks, enable_model_summary=False)
    trainer.fit(module, datamodule=datamodule)
    return trainer, module


def read_summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def read_metrics(run_dir: Path) -> list[dict[str, float]]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


def run_cli(args: list[str], root: Path, env: dict | None = None, timeout: float = 300):
    """Run `regopt-train` as a user would, with its logs under `root`."""
    full_env = {**os.environ, "REGOPT_ROOT": str(root), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "regopt.train", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_cli_then_sigterm(
    args: list[str], root: Path, ready: Callable[[], bool], wait: float = 240
) -> tuple[int, str]:
    """Start `regopt-train`, send it SIGTERM once `ready()` holds (or after `wait` seconds),
    and return its exit code and stderr."""
    import signal
    import time

    env = {**os.environ, "REGOPT_ROOT": str(root)}
    command = [sys.executable, "-m", "regopt.train", *args]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and proc.poll() is None and not ready():
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.fixture
def cli_in_process(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]):
    """`regopt-train` as `run_cli` runs it, but in this process: the same `main()`, its exit code
    and what it wrote to the terminal, without paying the interpreter's and torch's start-up for
    each of many one-line-error cases (a few subprocess cases keep the real process honest)."""
    import regopt.train

    def run(args: list[str], root: Path) -> subprocess.CompletedProcess:
        monkeypatch.setenv("REGOPT_ROOT", str(root))
        # main() sets HYDRA_FULL_ERROR=1 for Hydra (and REGOPT_DEBUG=1 if it was set already):
        # set here, both are restored when the test ends, so no later process inherits them
        monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
        monkeypatch.setenv("REGOPT_DEBUG", "0")
        monkeypatch.chdir(ROOT)
        monkeypatch.setattr(sys, "argv", ["regopt-train", *args])
        capfd.readouterr()
        code = 0
        try:
            regopt.train.main()
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        out, err = capfd.readouterr()
        return subprocess.CompletedProcess(sys.argv, code, out, err)

    return run


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data cache for the session: MNIST-1D is generated once, never into the repository."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(autouse=True)
def _data_dir_env(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("REGOPT_DATA_DIR", str(data_dir))


@pytest.fixture(autouse=True)
def _no_wandb_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
