"""Short real runs on MNIST-1D (CNN, MLP and, in `make test-slow`, the GRU) and on the teacher
regression task, and the full CLI record of `data=mnist1d model=cnn1d`."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import compose_config, read_metrics, read_summary, run_cli, run_job
from regopt.config.errors import ConfigError
from regopt.config.validate import validate_config
from regopt.data.teacher import TeacherDataModule
from regopt.models.mlp import MLP


@pytest.mark.parametrize("model", ["cnn1d", "mlp", pytest.param("gru", marks=pytest.mark.slow)])
def test_mnist1d_trains(model, tmp_path) -> None:
    summary = run_job(["data=mnist1d", f"model={model}", "trainer.max_epochs=3"], tmp_path)
    rows = read_metrics(tmp_path)
    assert summary["status"] == "completed" and summary["task"]["num_classes"] == 10
    assert rows[-1]["train/loss"] < rows[0]["train/loss"]
    assert rows[-1]["val/acc"] > 0.2  # chance is 0.1
    assert {"train_eval/acc", "gap/acc", "weights/l2"} <= set(rows[-1])


def test_teacher_regression_uses_mse_and_regression_metrics(tmp_path) -> None:
    summary = run_job(
        [
            "data=teacher",
            "regularizer=none",
            "trainer.max_epochs=4",
            "model.widths=[64]",
            "data.n_train=100",
            "data.n_val=300",
            "data.batch_size=25",
        ],
        tmp_path,
    )
    rows = read_metrics(tmp_path)
    last = rows[-1]
    assert summary["status"] == "completed" and summary["task"] == {"name": "regression"}
    for row in rows:  # no penalty, one output: the objective is the MSE
        assert row["train/loss"] == pytest.approx(row["train/mse"], rel=1e-5)
        assert row["val/loss"] == pytest.approx(row["val/mse"], rel=1e-5)
    assert rows[-1]["train/mse"] < rows[0]["train/mse"]
    assert {
        "train/mae",
        "val/mae",
        "train_eval/mse",
        "gap/mse",
        "gap/loss",
        "weights/l2",
        "val/loss_best",
    } <= set(last)
    assert rows[0]["grad/data"] > 0  # the gradient diagnostic runs at epochs 0, 5, ...
    assert "train/acc" not in last and "val/acc" not in last
    assert last["gap/mse"] == pytest.approx(last["val/mse"] - last["train_eval/mse"], rel=1e-4)
    assert summary["final"]["val/mse"] == last["val/mse"] and summary["final"]["val/acc"] is None
    assert summary["best"]["val/mse"] == min(r["val/mse"] for r in rows)
    assert summary["verdict"] and (tmp_path / "curves.png").stat().st_size > 0
    # val/mse is the mean squared error of the final weights on the validation set
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    model = MLP(16, 1, widths=[64])
    model.load_state_dict({k.removeprefix("model."): v for k, v in state.items()})
    data = TeacherDataModule(n_train=100, n_val=300)
    data.setup()
    with torch.no_grad():
        errors = model(data.x_val) - data.y_val
    assert last["val/mse"] == pytest.approx(errors.pow(2).mean().item(), rel=1e-5)
    assert last["val/mae"] == pytest.approx(errors.abs().mean().item(), rel=1e-5)
    assert math.isfinite(summary["final"]["gap/mse"])


def test_label_options_are_refused_on_regression(tmp_path) -> None:
    with pytest.raises(ConfigError, match="regularizer.label_smoothing: needs a classification"):
        run_job(["data=teacher", "regularizer=label_smoothing"], tmp_path / "a")
    result = run_cli(["data=teacher", "data.label_noise=0.1"], tmp_path / "b", timeout=60)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "data.label_noise" in result.stderr


@pytest.mark.slow
def test_cli_mnist1d_cnn1d_writes_the_full_record(tmp_path) -> None:
    result = run_cli(["data=mnist1d", "model=cnn1d", "trainer.max_epochs=2"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = list((tmp_path / "logs" / "runs").iterdir())
    for name in (
        "metrics.csv",
        "summary.json",
        "config.yaml",
        "curves.png",
        "checkpoints/last.ckpt",
    ):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "wandb").glob("offline-run-*/run-*.wandb"))  # W&B offline, the default
    summary = read_summary(run_dir)
    assert summary["status"] == "completed" and summary["epochs"] == 2
    assert "data=mnist1d" in summary["overrides"] and "model=cnn1d" in summary["overrides"]
    assert [r["epoch"] for r in read_metrics(run_dir)] == [0, 1]


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("data=teacher data.noise_std=-0.1", ["data.noise_std", "-0.1", ">= 0"]),
        ("data=teacher data.n_train=0", ["data.n_train", "whole number >= 1"]),
        ("data=mnist1d data.train_split=1.0", ["data.train_split", "(0, 1)"]),
        ("data=mnist1d data.iid_noise_scale=-1", ["data.iid_noise_scale", ">= 0"]),
        ("data=mnist1d model=cnn1d model.kernel_sizes=[5,0,3]", ["model.kernel_sizes", ">= 1"]),
        ("data=mnist1d model=gru model.hidden_size=0", ["model.hidden_size", ">= 1"]),
        ("data=mnist data.parser=fast", ["data.parser", "auto, pandas, liac-arff"]),
        ("data=cifar10 data.val_size=0", ["data.val_size", ">= 1"]),
    ],
)
def test_new_keys_are_range_checked(override, words, tmp_path) -> None:
    cfg = compose_config(override.split(), tmp_path)
    with pytest.raises(ConfigError) as error:
        validate_config(cfg)
    assert all(word in str(error.value) for word in words), str(error.value)


def test_a_classifier_model_refuses_regression_data(tmp_path) -> None:
    from hydra.utils import instantiate

    from regopt.build import build_module

    cfg = compose_config(["data=teacher", "model=bayes_mlp", "logger=none"], tmp_path)
    with pytest.raises(
        ConfigError, match="model: BayesMLP is a classifier; the data's task is regr"
    ):
        build_module(cfg, instantiate(cfg.data))
