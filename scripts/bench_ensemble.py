"""Several small models of a sweep trained at once in one process, against one after another.

K members of the default digits job (64-512-512-10 MLP, 20% of digits for training, batch 32, Adam),
differing in seed (initial weights and batch order) and learning rate:
(a) one after another, each in the fastest plain PyTorch loop (the per-job baseline, without any
    framework or start-up cost);
(b) all at once: the members' weights stacked along a leading member axis, one batched matmul
    (torch.baddbmm) per layer for all members' batches, one backward of the summed losses, and
    Adam's update applied to the stacked tensors with a learning rate per member (the arithmetic of
    torch.optim.Adam's single-tensor path). torch.func's vmap(grad(...)) computes the same, but in a
    trial its per-call transforms cost more than they saved (docs/benchmarks.md).
It checks that every member of (b) ends at the validation loss of its own run in (a), then prints
both times and the speed-up as one JSON line. A prototype for a sweep mode: see docs/benchmarks.md.

    python scripts/bench_ensemble.py --members 9 --epochs 50
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import Tensor

from regopt.data.digits import DigitsDataModule
from regopt.models.mlp import MLP

BETAS, EPS = (0.9, 0.999), 1e-8


def batches(n: int, size: int, seed: int, epoch: int) -> list[Tensor]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    return list(order.split(size))


def one_after_another(
    data, seeds, lrs, widths, epochs: int, batch_size: int
) -> tuple[float, list[float]]:
    x, y, x_val, y_val = data
    started, losses = time.perf_counter(), []
    for seed, lr in zip(seeds, lrs, strict=True):
        torch.manual_seed(seed)
        model = MLP(x.shape[1], 10, widths=widths)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=BETAS, eps=EPS)
        for epoch in range(epochs):
            for index in batches(len(x), batch_size, seed, epoch):
                loss = F.cross_entropy(model(x[index]), y[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            losses.append(F.cross_entropy(model(x_val), y_val).item())
    return time.perf_counter() - started, losses


def all_at_once(
    data, seeds, lrs, widths, epochs: int, batch_size: int
) -> tuple[float, list[float]]:
    x, y, x_val, y_val = data
    members = []
    for seed in seeds:
        torch.manual_seed(seed)
        members.append(MLP(x.shape[1], 10, widths=widths))
    # each member's Linear weights (out, in) stacked as (K, in, out), its biases as (K, 1, out)
    linears = [
        [m for m in member.modules() if isinstance(m, torch.nn.Linear)] for member in members
    ]
    params = {}
    for depth in range(len(linears[0])):
        weight = torch.stack([layers[depth].weight.detach().t() for layers in linears])
        bias = torch.stack([layers[depth].bias.detach().unsqueeze(0) for layers in linears])
        params[f"{depth}.weight"] = weight.contiguous().requires_grad_()
        params[f"{depth}.bias"] = bias.requires_grad_()
    depth = len(linears[0])

    def forward(xb: Tensor) -> Tensor:  # (K, B, in) -> (K, B, classes): one bmm a layer
        for layer in range(depth):
            xb = torch.baddbmm(params[f"{layer}.bias"], xb, params[f"{layer}.weight"])
            if layer < depth - 1:
                xb = torch.relu(xb)
        return xb

    state = {name: (torch.zeros_like(p), torch.zeros_like(p)) for name, p in params.items()}
    rates = torch.tensor(lrs)
    classes = 10
    started, step = time.perf_counter(), 0
    for epoch in range(epochs):
        orders = [batches(len(x), batch_size, seed, epoch) for seed in seeds]
        for per_member in zip(*orders, strict=True):
            index = torch.stack(per_member)  # (K, B): every member its own batch
            outputs = forward(x[index])
            # the sum of the members' mean losses: each member's gradient is its own loss's
            flat = F.cross_entropy(
                outputs.reshape(-1, classes), y[index].reshape(-1), reduction="none"
            )
            per_member_loss = flat.view(index.shape).mean(dim=1)
            for p in params.values():
                p.grad = None
            per_member_loss.sum().backward()
            step += 1
            with torch.no_grad():
                adam_step(params, {n: p.grad for n, p in params.items()}, state, rates, step)
    with torch.no_grad():
        outputs = forward(x_val.expand(len(seeds), *x_val.shape))
        losses = [F.cross_entropy(out, y_val).item() for out in outputs]
    return time.perf_counter() - started, losses


def adam_step(params: dict, grads: dict, state: dict, rates: Tensor, step: int) -> None:
    """torch.optim.Adam's single-tensor update on stacked tensors, one learning rate per member."""
    beta1, beta2 = BETAS
    correction1, correction2_sqrt = 1 - beta1**step, (1 - beta2**step) ** 0.5
    for name, param in params.items():
        g, (exp_avg, exp_avg_sq) = grads[name], state[name]
        exp_avg.lerp_(g, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        denom = (exp_avg_sq.sqrt() / correction2_sqrt).add_(EPS)
        step_size = (rates / correction1).view(-1, *([1] * (param.dim() - 1)))
        param.sub_(step_size * exp_avg / denom)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=512, help="units of each of the 2 layers")
    args = parser.parse_args()
    module = DigitsDataModule(seed=0)
    data = module.load()
    seeds, widths = list(range(args.members)), [args.width, args.width]
    lrs = [(3e-4, 1e-3, 3e-3)[k % 3] for k in seeds]  # a seed x lr grid
    sequential, expected = one_after_another(data, seeds, lrs, widths, args.epochs, args.batch_size)
    together, got = all_at_once(data, seeds, lrs, widths, args.epochs, args.batch_size)
    worst = max(abs(a - b) / abs(a) for a, b in zip(expected, got, strict=True))
    print(
        json.dumps(
            {
                "members": args.members,
                "width": args.width,
                "epochs": args.epochs,
                "one_after_another_s": round(sequential, 2),
                "all_at_once_s": round(together, 2),
                "speedup": round(sequential / together, 2),
                "max_relative_val_loss_difference": worst,
                "threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
