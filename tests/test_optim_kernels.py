"""A stack's optimisers on torch's fused or multi-tensor kernels (regopt.optim.kernels): the same
update as torch's per-parameter loop, for every optimiser of conf/optimizer."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from regopt.models.mlp import MLP
from regopt.optim.decoupled import GROUP_KEY
from regopt.optim.factory import OptimizerFactory
from regopt.optim.kernels import use_fast_kernels

CONF = Path(__file__).resolve().parents[1] / "conf" / "optimizer"
OPTIMIZERS = sorted(p.stem for p in CONF.glob("*.yaml"))


def optimizer_node(name: str) -> dict:
    node = OmegaConf.to_container(OmegaConf.load(CONF / f"{name}.yaml"))
    node.pop("defaults", None)
    if name == "sam":
        node["base"] = optimizer_node("momentum")
    return node


def trained(model: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int) -> None:
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(16, 4, generator=generator, dtype=torch.float64)
        y = torch.randint(0, 3, (16,), generator=generator)

        def closure(x: torch.Tensor = x, y: torch.Tensor = y) -> torch.Tensor:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            return loss

        optimizer.step(closure)


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("decoupled", [False, True])
def test_the_fast_kernel_updates_as_torchs_loop(name: str, decoupled: bool) -> None:
    node = optimizer_node(name)
    node["weight_decay" if name != "sam" else "rho"] = 0.05
    if decoupled and name not in ("sam", "adamw"):
        node["decoupled_weight_decay"] = True
    factory = OptimizerFactory.from_config(node)
    model = MLP(4, 3, widths=[6, 5]).double()
    twin = copy.deepcopy(model)
    loop, fast = factory(model), factory(twin)
    coupled = not decoupled or name in ("sam", "adamw")
    if decoupled and not coupled:
        assert any(g.get(GROUP_KEY) for g in fast.param_groups)
    initial = copy.deepcopy(list(model.parameters()))
    assert use_fast_kernels(fast) == expected_kernel(name, coupled)
    trained(model, loop, 30)
    trained(twin, fast, 30)
    for start, a, b in zip(initial, model.parameters(), twin.parameters(), strict=True):
        assert not torch.equal(a, start)
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-14)


def expected_kernel(name: str, coupled: bool) -> str:
    """torch's fused kernels: Adam, AdamW and SGD themselves (regopt's decoupled variants are
    subclasses with their own step, as is SAM, which shares its base's groups: the multi-tensor
    one); Adagrad makes its state when built."""
    if name in ("adam", "adamw", "sgd", "momentum", "nesterov") and coupled:
        return "fused"
    return "foreach"


def test_a_configured_kernel_is_kept() -> None:
    model = MLP(4, 3, widths=[5])
    loop = torch.optim.Adam(model.parameters(), foreach=False)
    assert use_fast_kernels(loop) == "as configured"
    assert loop.param_groups[0]["foreach"] is False and loop.param_groups[0]["fused"] is None
    stepped = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 4)).sum().backward()
    stepped.step()  # a momentum buffer exists: the fused step would keep another kind of state
    assert use_fast_kernels(stepped) == "foreach"
