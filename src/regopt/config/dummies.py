"""Build the cheap objects of a config once, before training, so that what only their
constructors check is refused in one line naming the key (regopt.config.construct).

Built here: the root schedule and each regulariser's, the data module (its constructor checks
its settings against its data set; nothing is loaded), the regularisers, the optimiser on one
dummy parameter (through regopt's own factory, as the run builds it) and the learning-rate
scheduler on that optimiser, and the verdict's rules. The model (it needs the data's sizes),
the Trainer, callbacks and loggers are built by the pipeline under `naming_the_key`.
"""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from torch import nn

from regopt.config.construct import build
from regopt.optim.factory import OptimizerFactory
from regopt.regularizers.build import build_regularizer, merged_schedule
from regopt.regularizers.schedule import Schedule


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
    optimizer = build(
        "optimizer", tree["optimizer"], lambda node: OptimizerFactory.from_config(node)(dummy)
    )
    if tree.get("scheduler"):
        build("scheduler", tree["scheduler"], lambda node: instantiate(node)(optimizer))
    if tree.get("verdict"):
        build("verdict", tree["verdict"], instantiate)
