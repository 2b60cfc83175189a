"""Whether a group of job configs can share a stack, decided before anything trains.

Members may differ only in their member keys (MEMBER_KEYS): each gets its own seed, optimiser,
regularisers, label noise, data subset seed, Optuna trial and run dir. Everything else (the model,
the data's sizes, the trainer, the callbacks) is shared by the one model and the one Trainer of the
stack, so a difference there is refused naming the key. A member's own run dir appears inside other
values (the trainer's `default_root_dir`, the checkpoint dir, W&B's `save_dir`); it is compared as a
placeholder.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

MEMBER_KEYS = (
    "seed",
    "optimizer",
    "regularizer",
    "data.label_noise",
    "data.seed",
    "hparams_search.trial",  # an Optuna batch's trials: each member reports to its own
    "paths",
)
RUN_DIR = "<the member's run dir>"
REFUSED_PRECISIONS = ("16-mixed", "16", 16)  # a gradient scaler steps one optimiser


class NotStackable(Exception):
    """Raised before anything trains: why these configs cannot share a stack."""


def _leaves(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        if not node and prefix:
            yield prefix, {}
        for key, value in node.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, node


def _is_member_key(key: str) -> bool:
    return any(key == k or key.startswith(f"{k}.") for k in MEMBER_KEYS)


def _plain(cfg: DictConfig) -> dict[str, Any]:
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    run_dir = str(cfg.paths.output_dir)

    def placeholder(value: Any) -> Any:
        if isinstance(value, str) and run_dir and run_dir in value:
            return value.replace(run_dir, RUN_DIR)
        if isinstance(value, list):
            return [placeholder(v) for v in value]
        return value

    return {key: placeholder(value) for key, value in _leaves(container)}


def check_stackable(cfgs: Sequence[DictConfig]) -> None:
    """Raise NotStackable (one line naming the key) unless `cfgs` can train as one stack."""
    if not cfgs:
        raise NotStackable("no configs to stack")
    plain = [_plain(cfg) for cfg in cfgs]
    dirs = [str(cfg.paths.output_dir) for cfg in cfgs]
    if len(set(dirs)) != len(dirs):
        raise NotStackable("paths.output_dir: two members share a run dir")
    first = plain[0]
    for index, other in enumerate(plain[1:], start=1):
        for key in sorted(set(first) | set(other)):
            if _is_member_key(key) or first.get(key) == other.get(key):
                continue
            raise NotStackable(
                f"{key} differs across the stack ({first.get(key)!r} in member 0, "
                f"{other.get(key)!r} in member {index}); members may differ only in "
                f"{', '.join(MEMBER_KEYS)}"
            )
    _check_shared(cfgs[0])
    check_members(cfgs)


def check_members(cfgs: Sequence[DictConfig]) -> None:
    """Raise NotStackable for a member that cannot take part in the stack's one step (before
    its size is measured: measuring steps its optimiser, which SAM refuses without a closure)."""
    for index, cfg in enumerate(cfgs):
        _check_member(cfg, index)


def _check_member(cfg: DictConfig, index: int) -> None:
    """What a member cannot do inside the stack's one step."""
    target = (cfg.get("optimizer") or {}).get("_target_")
    if target and getattr(get_class(target), "closure_calls", 1) != 1:
        raise NotStackable(
            f"optimizer={target.rsplit('.', 1)[-1]} (member {index}): it evaluates the loss "
            "more than once per step, and a stack evaluates every member's once"
        )


def _check_shared(cfg: DictConfig) -> None:
    """What one Trainer of K members cannot do as K separate runs would."""
    if cfg.get("resume") not in (None, "none"):
        raise NotStackable(f"resume={cfg.resume}: a stack starts its members from scratch")
    trainer = cfg.trainer
    if trainer.get("precision") in REFUSED_PRECISIONS:
        raise NotStackable(
            f"trainer.precision={trainer.precision}: its gradient scaler steps one optimiser"
        )
    strategy = str(trainer.get("strategy", "auto"))
    devices = trainer.get("devices", 1)
    one = (1, "1", [0]) if trainer.get("accelerator") != "cpu" else (1, "1", [0], "auto")
    if "ddp" in strategy or "fsdp" in strategy or devices not in one:
        raise NotStackable(
            f"trainer.strategy={strategy}, trainer.devices={devices}: a stack trains in one "
            "process on one device"
        )
    if (trainer.get("num_nodes") or 1) != 1:
        raise NotStackable(f"trainer.num_nodes={trainer.num_nodes}: a stack runs on one machine")
    scheduler = str((cfg.get("scheduler") or {}).get("_target_", ""))
    if scheduler.endswith("ReduceLROnPlateau"):
        raise NotStackable("scheduler=ReduceLROnPlateau: it steps on one run's monitored value")
