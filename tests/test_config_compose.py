"""Every option of every config group composes and builds its objects."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate

from conftest import GROUPS, compose_config, options
from openml_fixture import write_openml_images
from regopt.build import build_module
from regopt.config.errors import ConfigError
from regopt.config.validate import validate_config
from regopt.data.vision import DATASETS as VISION

# options that only fit some other option (the rest are refused in one line: see test_cli); the
# sequence models on a small MNIST-1D, which is generated for the test
SMALL_MNIST1D = ["data=mnist1d", "data.num_samples=500"]
NEEDS = {
    ("regularizer", "kl"): ["model=bayes_mlp"],
    ("model", "cnn1d"): SMALL_MNIST1D,
    ("model", "gru"): SMALL_MNIST1D,
}


def test_every_group_has_options() -> None:
    for group in GROUPS:
        assert options(group), f"conf/{group}/ has no options"


@pytest.mark.parametrize(
    ("group", "option"), [(g, o) for g in GROUPS for o in options(g) if g != "trainer"]
)
def test_option_composes_and_instantiates(group: str, option: str, tmp_path) -> None:
    overrides = [f"{group}={option}", *NEEDS.get((group, option), [])]
    if group == "data" and option in VISION:  # a tiny local fixture: nothing downloads in tests
        data_id, shape = VISION[option]
        write_openml_images(tmp_path, data_id, shape, 30)
        overrides += [f"data.data_dir={tmp_path}", "data.test_rows=10", "data.parser=liac-arff"]
    if group != "logger":
        overrides.append("logger.wandb.mode=disabled")
    cfg = compose_config(overrides, tmp_path)
    validate_config(cfg)
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    module = build_module(cfg, datamodule)
    optimizer = module.configure_optimizers()
    if isinstance(optimizer, dict):
        assert optimizer["lr_scheduler"]["scheduler"].optimizer is optimizer["optimizer"]
        optimizer = optimizer["optimizer"]
    assert isinstance(optimizer, torch.optim.Optimizer)
    x, y = next(iter(datamodule.train_dataloader()))
    terms = module.objective.training_terms(module.model(x), module.task.targets(x, y))
    assert torch.isfinite(terms.total)
    assert set(module.objective.regularizers) == set(cfg.regularizer)
    assert set(terms.penalties) == set(module.objective.penalties)
    for spec in [*(cfg.callbacks or {}).values(), *(cfg.diagnostics or {}).values()]:
        assert instantiate(spec) is not None
    for spec in (cfg.logger or {}).values():
        factory = instantiate(spec, _partial_=True)
        assert callable(factory)


@pytest.mark.parametrize("option", options("trainer"))
def test_trainer_option_composes(option: str, tmp_path) -> None:
    cfg = compose_config([f"trainer={option}"], tmp_path)
    needs_gpu = cfg.trainer.accelerator == "gpu"
    if needs_gpu and not torch.cuda.is_available():  # the check builds a Trainer: one line
        with pytest.raises(ConfigError, match="^trainer.accelerator='gpu': .*gpu"):
            validate_config(cfg)
        return
    validate_config(cfg)
    trainer = instantiate(cfg.trainer, logger=False)
    assert trainer.max_epochs == cfg.trainer.max_epochs
    if option == "ddp_cpu":
        assert trainer.num_devices == 2
        assert type(trainer.strategy).__name__ == "DDPStrategy"
