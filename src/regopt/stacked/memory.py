"""How many bytes a stack holds on its device at its peak, before it is built.

For the launcher, to bound a stack's members by the device's memory. Each member's model is
built on the meta device (shapes only, no memory), its optimiser takes one step there (so its
state is what the real one allocates: Adam two tensors a parameter, momentum one, SGD none), and
a forward pass of one training batch counts the activations. Per member:
parameters x (weights + gradients + the stacked copy the batched forward makes) + optimiser state
+ activations x 2 (kept for the backward pass, and their gradients) + the batch. An estimate, not a
bound: the allocator's rounding and the evaluation batches (`eval_batch_size`, no gradients) come
on top.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from regopt.build import model_sizes
from regopt.optim.factory import OptimizerFactory

BYTES = {"64": 8, "32": 4, "16": 2, "bf16": 2}  # per element, by the precision's first part


def element_bytes(precision: Any) -> int:
    """Bytes of a parameter at `trainer.precision` (mixed precision keeps float32 weights)."""
    text = str(precision)
    if "mixed" in text:
        return 4
    return BYTES.get(text.split("-")[0], 4)


def _numel(tensors: Any) -> int:
    """Elements of the tensors, scalars (an optimiser's step count) left out."""
    return sum(t.numel() for t in tensors if isinstance(t, torch.Tensor) and t.dim() > 0)


def size_key(cfg: DictConfig) -> str:
    """What a member's bytes depend on: the model, the data (its seed and label noise apart), the
    precision, and which of the optimiser's settings are zero (momentum 0 keeps no buffer)."""
    tree = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(tree, dict)
    data = {k: v for k, v in tree["data"].items() if k not in ("seed", "label_noise")}

    def nonzero(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: nonzero(v) for k, v in value.items()}
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value
        return value != 0

    optimizer = nonzero(tree.get("optimizer") or {})
    precision = (tree.get("trainer") or {}).get("precision")
    return json.dumps([tree["model"], data, optimizer, precision], sort_keys=True, default=str)


def member_bytes(cfg: DictConfig) -> int:
    """One member's bytes (a resolved job config); members of one size are measured once per
    process (a sweep's seeds and learning rates share it)."""
    key = size_key(cfg)
    if key not in _SIZES:
        _SIZES[key] = _measure(cfg)
    return _SIZES[key]


_SIZES: dict[str, int] = {}


def _measure(cfg: DictConfig) -> int:
    """One member's bytes, measured on the meta device."""
    size = element_bytes(cfg.trainer.get("precision", "32-true"))
    datamodule = instantiate(cfg.data)  # its sizes only: nothing is loaded
    with torch.device("meta"):
        model = instantiate(cfg.model, **model_sizes(cfg.model, datamodule))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = OptimizerFactory.from_config(cfg.optimizer)(model)
    for param in params:
        param.grad = torch.zeros_like(param)
    optimizer.step()
    state = sum(_numel(s.values()) for s in optimizer.state.values())
    shape = getattr(datamodule, "input_shape", None) or (datamodule.input_dim,)
    batch = torch.zeros(int(cfg.data.batch_size), *shape, device="meta")
    activations = [0]

    def count(module: nn.Module, inputs: Any, output: Any) -> None:
        if not list(module.children()):  # leaves only: a container's output is a leaf's
            outputs = output if isinstance(output, tuple | list) else (output,)
            activations[0] += _numel(outputs)

    hooks = [m.register_forward_hook(count) for m in model.modules()]
    try:
        model(batch)
    finally:
        for hook in hooks:
            hook.remove()
    elements = 3 * _numel(params) + state + 2 * activations[0] + batch.numel()
    return elements * size


def estimate_bytes(cfgs: list[DictConfig]) -> int:
    """The stack's bytes on its device: the sum over its members (see the module's note). A
    config with its `hydra` node is resolved under it first; one without (the launcher's plan
    passes the jobs' resolved task configs) is read as it is (resolving costs about 0.1 s a job)."""
    from regopt.stacked.check import check_members
    from regopt.stacked.engine import job_config

    resolved = [job_config(cfg)[0] if "hydra" in cfg else cfg for cfg in cfgs]
    check_members(resolved)  # NotStackable, naming the key, for a member the stack refuses
    return sum(member_bytes(cfg) for cfg in resolved)
