"""optimizer=sam: one step is the SAM formula computed by hand followed by torch's own base
optimiser; in Lightning's loop it clips both gradients and logs the loss at w; combinations it
cannot run are refused in one line."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from conftest import compose_config, read_metrics, run_job
from regopt.config.errors import ConfigError
from regopt.config.validate import validate_config
from regopt.data.gaussian import gaussian_classes
from regopt.models.mlp import MLP
from regopt.optim.factory import OptimizerFactory
from regopt.optim.sam import SAM

RHO = 0.3


def tiny() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    x, y = torch.randn(8, 3, dtype=torch.float64), torch.randint(0, 2, (8,))
    return model, x, y


def hand_step(model: nn.Module, x, y, adaptive: bool, base: torch.optim.Optimizer) -> None:
    """w_adv = w + rho * T^2 g / ||T g|| (T = |w| elementwise if adaptive, else 1), then torch's
    own base optimiser applied to the gradient at w_adv, from w."""
    params = list(model.parameters())
    loss = nn.functional.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, params)
    scales = [p.detach().abs() if adaptive else torch.ones_like(p) for p in params]
    norm = torch.sqrt(sum(((t * g) ** 2).sum() for t, g in zip(scales, grads, strict=True)))
    originals = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, t, g in zip(params, scales, grads, strict=True):
            p.add_(RHO * t * t * g / norm)
    adv_grads = torch.autograd.grad(nn.functional.cross_entropy(model(x), y), params)
    with torch.no_grad():
        for p, w, g in zip(params, originals, adv_grads, strict=True):
            p.copy_(w)
            p.grad = g.clone()
    base.step()


BASES = {
    "momentum": {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1, "momentum": 0.9},
    "adam": {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 0.01},
}


@pytest.mark.parametrize("adaptive", [False, True])
@pytest.mark.parametrize("base", sorted(BASES))
def test_a_sam_step_is_the_formula_then_the_base_step(base: str, adaptive: bool) -> None:
    node = {
        "_target_": "regopt.optim.sam.SAM",
        "_partial_": True,
        "rho": RHO,
        "adaptive": adaptive,
        "base": {**BASES[base], "weight_decay": 0.0},
    }
    model, x, y = tiny()
    reference, _, _ = tiny()
    optimizer = OptimizerFactory.from_config(node)(model)
    assert isinstance(optimizer, SAM)
    options = {k: v for k, v in BASES[base].items() if not k.startswith("_")}
    torch_base = getattr(torch.optim, BASES[base]["_target_"].split(".")[-1])
    own = torch_base(reference.parameters(), **options)
    for _ in range(3):  # the base's state (momentum, Adam's moments) carries over

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            return loss

        optimizer.step(closure)
        own.zero_grad()
        hand_step(reference, x, y, adaptive, own)
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)
    plain, _, _ = tiny()  # and SAM is not the base optimiser alone
    assert not torch.allclose(next(plain.parameters()), next(model.parameters()))


N_TRAIN, N_VAL, BATCH, CLIP = 300, 100, 64, 0.2
JOB = [
    "data=synthetic",
    f"data.n_train={N_TRAIN}",
    f"data.n_val={N_VAL}",
    f"data.batch_size={BATCH}",
    "model.widths=[16]",
    "optimizer=sam",
    f"optimizer.rho={RHO}",
    "regularizer=none",
    "trainer.max_epochs=1",
    "callbacks=none",
    "diagnostics=none",
    f"trainer.gradient_clip_val={CLIP}",
]


def plain_sam_loop() -> tuple[float, float]:
    """SAM in a plain loop (same data, init and batch order as data=synthetic), each of the two
    gradients clipped as Lightning clips every closure's: (mean loss at w, final val loss)."""
    x, y = gaussian_classes(N_TRAIN + N_VAL, 64, 10, 4.0, 0)
    torch.manual_seed(0)
    model = MLP(64, 10, widths=[16])
    sgd = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)  # conf/optimizer/momentum
    loss_fn, total = nn.CrossEntropyLoss(), 0.0
    order = torch.randperm(N_TRAIN, generator=torch.Generator().manual_seed(0))
    for start in range(0, N_TRAIN, BATCH):
        index = order[start : start + BATCH]
        sgd.zero_grad()
        loss = loss_fn(model(x[index]), y[index])
        total += loss.item() * len(index)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        params = list(model.parameters())
        norm = torch.sqrt(sum((p.grad**2).sum() for p in params))
        steps = [RHO * p.grad / norm for p in params]
        with torch.no_grad():
            for p, e in zip(params, steps, strict=True):
                p.add_(e)
        sgd.zero_grad()
        loss_fn(model(x[index]), y[index]).backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        with torch.no_grad():
            for p, e in zip(params, steps, strict=True):
                p.sub_(e)
        sgd.step()
    with torch.no_grad():
        return total / N_TRAIN, loss_fn(model(x[N_TRAIN:]), y[N_TRAIN:]).item()


def test_sam_in_lightnings_loop_matches_a_plain_sam_loop(tmp_path) -> None:
    train_loss, val_loss = plain_sam_loop()
    summary = run_job(JOB, tmp_path)
    assert summary["status"] == "completed"
    assert summary["optimizer"]["wrapper"] == "SAM" and summary["optimizer"]["type"] == "SGD"
    last = read_metrics(tmp_path)[-1]
    assert last["val/loss"] == pytest.approx(val_loss, rel=1e-5)
    assert last["train/loss_data"] == pytest.approx(train_loss, rel=1e-5)  # at w, not w + e


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("trainer.accumulate_grad_batches=2", "^trainer.accumulate_grad_batches=2: optimizer SAM"),
        ("trainer.precision=16-mixed", "^trainer.precision='16-mixed': optimizer SAM"),
        ("optimizer.base=adam", r"with optimizer@optimizer.base=adam\)$"),
        ("optimizer@optimizer.base=sam", "^optimizer.base=SAM wraps an optimiser itself"),
        ("+optimizer.base.lrr=1", "^optimizer.base.lrr=1: 'lrr' is not a key of optimizer.base"),
        ("optimizer.rho=-1", "^optimizer.rho=-1 is not allowed"),
    ],
)
def test_what_sam_cannot_run_is_refused_in_one_line(override, message, tmp_path) -> None:
    cfg = compose_config(["optimizer=sam", override], tmp_path)
    with pytest.raises(ConfigError, match=message) as caught:
        validate_config(cfg)
    assert "\n" not in str(caught.value)


def test_the_base_is_any_option_of_the_group(tmp_path) -> None:
    cfg = compose_config(["optimizer=sam", "optimizer@optimizer.base=adamw"], tmp_path)
    validate_config(cfg)
    factory = OptimizerFactory.from_config(cfg.optimizer)
    assert factory.describe()["type"] == "AdamW" and factory.weight_decay_kind == "decoupled"
    assert isinstance(factory(nn.Linear(2, 2)).base, torch.optim.AdamW)


def test_a_checkpoint_of_sam_restores_the_base_state_and_shares_its_groups() -> None:
    """Lightning saves optimizer.state_dict() and resumes with load_state_dict: the base's
    momentum comes back, and a scheduler still sets the lr the base steps with."""
    node = {"_target_": "regopt.optim.sam.SAM", "_partial_": True, "base": BASES["momentum"]}
    model, x, y = tiny()
    optimizer = OptimizerFactory.from_config(node)(model)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    optimizer.step(closure)
    saved = optimizer.state_dict()
    fresh = OptimizerFactory.from_config(node)(model)
    fresh.load_state_dict(saved)
    buffers = [fresh.base.state[p]["momentum_buffer"] for p in model.parameters()]
    expected = [optimizer.base.state[p]["momentum_buffer"] for p in model.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(buffers, expected, strict=True))
    scheduler = torch.optim.lr_scheduler.StepLR(fresh, step_size=1, gamma=0.5)
    fresh.step(closure)
    scheduler.step()
    assert (
        fresh.base.param_groups[0]["lr"] == 0.05 and fresh.param_groups is fresh.base.param_groups
    )
