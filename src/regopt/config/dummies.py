"""Build the cheap objects of a config once, before training, so that what only their
constructors check is refused in one line naming the key (regopt.config.construct).

Built here: the root schedule and each regulariser's, the data module (its constructor checks
its settings against its data set; nothing is loaded), the regularisers, the optimiser on one
dummy parameter (through regopt's own factory, as the run builds it) and the learning-rate
scheduler on that optimiser, the verdict's rules, the search's pruning callback with its pruner
(nothing opens the study), and the Trainer (without loggers, callbacks or plugins, its notices
silenced: Lightning checks `devices`, `accelerator` and `strategy` there); an optimiser that needs
its closure more than once (SAM) is checked against the Trainer's accumulation and precision.
The model (it needs the data's sizes), callbacks and loggers are built by the pipeline under
`naming_the_key`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hydra.utils import instantiate
from torch import nn

from regopt.config.construct import build
from regopt.config.errors import ConfigError
from regopt.objective import build_regularizer
from regopt.optim.factory import OptimizerFactory
from regopt.regularizers.schedule import Schedule, merged_schedule


def build_cheap_objects(tree: dict[str, Any]) -> None:
    root_schedule = tree.get("schedule") or {}
    build("schedule", root_schedule, lambda node: Schedule(**node))
    if tree.get("data"):
        build("data", tree["data"], instantiate)
    for name, spec in (tree.get("regularizer") or {}).items():
        where = f"regularizer.{name}"
        own = spec.get("schedule") or {}
        if any(v is not None for v in own.values()):
            build(f"{where}.schedule", own, lambda node: merged_schedule(root_schedule, node))
        build(where, spec, lambda node: build_regularizer(node, root_schedule))
    dummy = nn.Linear(1, 1)
    if isinstance(tree["optimizer"].get("base"), dict):  # optimizer=sam: the base names its keys
        base = tree["optimizer"]["base"]
        build("optimizer.base", base, lambda node: OptimizerFactory.from_config(node)(dummy))
    optimizer = build(
        "optimizer", tree["optimizer"], lambda node: OptimizerFactory.from_config(node)(dummy)
    )
    check_closure_calls(optimizer, tree.get("trainer") or {})
    if tree.get("scheduler"):
        build("scheduler", tree["scheduler"], lambda node: instantiate(node)(optimizer))
    if tree.get("verdict"):
        build("verdict", tree["verdict"], instantiate)
    if tree.get("hparams_search"):  # the pruner's own checks; nothing opens the storage
        build("hparams_search", tree["hparams_search"], instantiate)
    if tree.get("trainer") and _trainer_key(tree["trainer"]) not in _TRAINERS_BUILT:
        with quiet_lightning():
            build("trainer", tree["trainer"], _trainer)
        _TRAINERS_BUILT.add(_trainer_key(tree["trainer"]))


# the trainer nodes this process has built: a sweep's jobs mostly share theirs, and a Trainer
# took 17 ms of a job's 30 ms check (Lightning reads its entry points and environment each time)
_TRAINERS_BUILT: set[str] = set()


def _trainer_key(node: dict[str, Any]) -> str:
    """The node less `default_root_dir` (each job's own run dir, which the constructor stores)."""
    checked = {key: value for key, value in node.items() if key != "default_root_dir"}
    return json.dumps(checked, sort_keys=True, default=repr)


def check_closure_calls(optimizer: Any, trainer: dict[str, Any]) -> None:
    """An optimiser that evaluates Lightning's closure more than once per step (SAM) cannot
    re-evaluate gradients accumulated over earlier batches, nor run under 16-bit AMP, whose
    GradScaler steps without a closure: both are refused here, before training."""
    calls = getattr(optimizer, "closure_calls", 1)
    if calls == 1:
        return
    what = f"optimizer {type(optimizer).__name__} evaluates the loss {calls} times per step"
    accumulate = trainer.get("accumulate_grad_batches", 1)
    if accumulate != 1:
        raise ConfigError(
            f"trainer.accumulate_grad_batches={accumulate}: {what} and cannot repeat the earlier "
            "batches of an accumulated gradient; allowed: 1 with it (raise data.batch_size instead)"
        )
    precision = str(trainer.get("precision", "32"))
    if precision in ("16", "16-mixed"):
        raise ConfigError(
            f"trainer.precision={precision!r}: {what}, and 16-bit AMP's GradScaler steps without "
            "a closure; allowed with it: 32, 64, bf16-mixed"
        )


def _trainer(node: dict[str, Any]) -> Any:
    """The Trainer as regopt.build.build_trainer makes it, less what only the run has."""
    return instantiate(node, logger=False, callbacks=[], enable_checkpointing=False)


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Lightning's notices of the dummy Trainer ("GPU available: ..."): the run prints its own."""
    logger = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
