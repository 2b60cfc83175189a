"""The command line as a user meets it: typos, --cfg job, and a real run with W&B offline."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import pytest

from conftest import read_metrics, read_summary, run_cli


@pytest.mark.parametrize(
    ("override", "must_name"),
    [
        ("optimizer=adamm", ["optimizer=adamm", "adam", "adamw", "sgd", "rmsprop"]),
        ("optimizer.lrr=0.1", ["optimizer.lrr", "lr", "weight_decay"]),
        ("regularizer=[l1,l3]", ["regularizer=l3", "elastic", "l1", "l2", "none"]),
        ("optimizer.lr=-0.1", ["optimizer.lr=-0.1", "Invalid learning rate"]),
        ("optimizer.lr=-1", ["optimizer.lr=-1", "Invalid learning rate"]),
        ("optimizer.lr=abc", ["optimizer.lr='abc'", "a number"]),
        ("optimizer.lr=true", ["optimizer.lr=true", "a number"]),
        ("+trainer.profilr=simple", ["trainer.profilr='simple'", "not a key", "profiler"]),
        ("regularizer.l2.weight=nan", ["regularizer.l2.weight=nan", "finite"]),
        ("regularizer=dropout regularizer.dropout.p=1.5", ["regularizer.dropout.p=1.5", "[0, 1)"]),
        ("model._target_=mypkg.nets.Missing", ["model._target_", "no module named 'mypkg'"]),
        ("data.label_noise=1.5", ["data.label_noise", "1.5", "[0, 1]"]),
        ("data.train_fraction=0", ["data.train_fraction", "(0, 1]"]),
        ("model.dropout=1.0", ["model.dropout", "[0, 1)"]),
        ("optimizer.decoupled_weight_decay=yes", ["optimizer.decoupled_weight_decay", "true"]),
        # Lightning's own refusal, in its words: the key, the value and the algorithms it allows
        ("trainer.gradient_clip_algorithm=max", ["gradient_clip_algorithm", "'value', 'norm'"]),
        ("regularizer.l2.prior_std=-1", ["regularizer.l2.prior_std", "-1", "> 0"]),
        ("verdict.smooth_window=4", ["verdict.smooth_window", "4", "odd"]),
        ("data.random_labels=yes", ["data.random_labels", "true, false"]),
        ("diagnostics=nope", ["diagnostics=nope", "default", "none"]),
        ("model.widths=[a]", ["model.widths=['a']", "a list, each a whole number >= 1"]),
        ("trainer.accelerator=5", ["trainer.accelerator=5", "a string"]),
        ("seed=x", ["seed='x'", "whole number"]),
        ("+optimizer.foo=1", ["optimizer.foo=1", "not a key", "lr"]),
        ("optimizer.betas=[0.9]", ["optimizer.betas=[0.9]", "a list of 2"]),
        ("trainer.devices=0", ["trainer.devices=0", "not a valid input"]),
        ("data.train_fraction=0.001", ["data.train_fraction=0.001", "each part needs >= 10"]),
        (
            "regularizer=[] regularizer.l2.weight=0.1",
            ["regularizer.l2.weight=0.1", "not selected", "regularizer=[l2]"],
        ),
    ],
)
def test_bad_option_or_key_fails_in_one_line(
    override: str, must_name: list[str], tmp_path, cli_in_process
) -> None:
    result = cli_in_process([*override.split(), "trainer.max_epochs=1"], tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in must_name:
        assert word in lines[0], (word, lines[0])
    assert not (tmp_path / "logs" / "runs").exists() or not any(
        (tmp_path / "logs" / "runs").rglob("summary.json")
    )


@pytest.mark.parametrize(
    ("override", "must_name"),
    [
        ("optimizer=adamm", ["optimizer=adamm", "adamw"]),  # Hydra's composition
        ("optimizer.lr=-1", ["optimizer.lr=-1", "Invalid learning rate"]),  # torch's own check
        ("trainer.gradient_clip_algorithm=max", ["gradient_clip_algorithm", "'value', 'norm'"]),
    ],
)
def test_a_real_process_exits_2_with_one_line(override: str, must_name: list[str], tmp_path):
    """The cases above run main() in the test's process; these run the installed command."""
    result = run_cli([override, "trainer.max_epochs=1"], tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert all(word in line for word in must_name), line


def test_regopt_debug_shows_the_traceback_of_a_config_error(tmp_path) -> None:
    result = run_cli(["seed=x"], tmp_path, env={"REGOPT_DEBUG": "1"}, timeout=60)
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "ConfigError: seed='x'" in result.stderr


def test_cfg_job_prints_the_config_without_training(tmp_path) -> None:
    started = time.perf_counter()
    result = run_cli(["--cfg", "job", "optimizer=sgd"], tmp_path, timeout=60)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert "_target_: torch.optim.SGD" in result.stdout
    assert "regularizer:" in result.stdout and "L2Penalty" in result.stdout
    assert not (tmp_path / "logs").exists()
    assert elapsed < 10  # composes without training (a loose bound: the benchmark times it)


def test_cfg_job_with_a_bad_value_says_the_values_were_not_checked(tmp_path) -> None:
    result = run_cli(["--cfg", "job", "optimizer.lr=-1"], tmp_path, timeout=60)
    assert result.returncode == 0 and "lr: -1" in result.stdout
    assert "without checking its values" in result.stderr


class ConnectionCounter:
    """A TCP listener on loopback that counts every connection made to it."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.server.close()


def test_acceptance_run_with_two_penalties_and_wandb_offline(tmp_path: Path) -> None:
    """W&B is offline by default: every address it could reach points at a counting listener."""
    counter = ConnectionCounter()
    url = f"http://127.0.0.1:{counter.port}"
    env = {
        "WANDB_BASE_URL": url,
        "HTTP_PROXY": url,
        "HTTPS_PROXY": url,
        "http_proxy": url,
        "https_proxy": url,
        "NO_PROXY": "",
        "no_proxy": "",
    }
    try:
        result = run_cli(
            [
                "optimizer=sgd",
                "regularizer=[l1,l2]",
                "regularizer.l1.weight=1e-4",
                "trainer.max_epochs=3",
            ],
            tmp_path,
            env=env,
        )
    finally:
        counter.close()
    assert result.returncode == 0, result.stderr[-3000:]
    run_dirs = list((tmp_path / "logs" / "runs").iterdir())
    assert len(run_dirs) == 1
    run_dir = run_dirs[0]
    summary = read_summary(run_dir)
    assert summary["status"] == "completed"
    assert [(r["name"], r["weight"]) for r in summary["regularizers"]] == [
        ("l1", 1e-4),
        ("l2", 1e-4),
    ]
    assert summary["optimizer"]["name"] == "sgd"
    rows = read_metrics(run_dir)
    assert len(rows) == 3
    for column in ("train/penalty/l1", "train/penalty/l2", "penalty/l1", "penalty/l2"):
        assert all(row[column] > 0 for row in rows), column
    assert "run finished" in result.stderr + result.stdout
    # the notices Lightning and torch print on every run are silenced (regopt.quiet); the srun
    # hint shows only where SLURM's client is installed (make test-slow installs it)
    assert "Tip:" not in result.stderr + result.stdout and "LeafSpec" not in result.stderr
    assert "`srun` command is available" not in result.stderr
    assert "Trainable params" in result.stderr + result.stdout  # Lightning's own output is kept
    # the summary counts a forward pass of two inputs: 2 FLOPs per multiply-add, 64-512-512-10
    flops = 2 * 2 * (64 * 512 + 512 * 512 + 512 * 10)
    count = f"{flops / 1e6:.1f} M"  # in Lightning's rich summary (rich installed) or its plain one
    assert re.search(rf"Total FLOPs: {count}|{count}\s+Total Flops", result.stderr + result.stdout)
    # the W&B offline run, in this job's own dir, and not a single connection attempted
    offline_runs = list((run_dir / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 1
    assert list(offline_runs[0].glob("run-*.wandb"))
    assert counter.connections == 0


@pytest.mark.parametrize(
    ("args", "must_name"),
    [
        (["regularizer=kl"], ["regularizer.kl", "KL term", "model=bayes_mlp", "model=vae", "MLP"]),
        (["model=vae", "regularizer=label_smoothing"], ["label_smoothing", "classification"]),
    ],
)
def test_regularizer_that_does_not_fit_the_model_fails_in_one_line(
    args, must_name, tmp_path, cli_in_process
):
    result = cli_in_process([*args, "trainer.max_epochs=1", "logger=none"], tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in must_name:
        assert word in lines[0], (word, lines[0])
    assert not list(tmp_path.rglob("metrics.csv"))  # nothing trained


def test_an_option_selected_twice_is_refused_in_one_line(tmp_path, cli_in_process) -> None:
    result = cli_in_process(["regularizer=[l2,l2]", "logger=none"], tmp_path)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert line.count("\n") == 0 and "regularizer=[l2,l2] selects l2 more than once" in line
