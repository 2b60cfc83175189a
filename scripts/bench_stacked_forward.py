"""The batched forward pass of a stack: torch.func.vmap against batched matmuls (torch.baddbmm).

K members of the default digits MLP (64-W-W-10, batch 32), each with its own parameters as the
leaves (as the stacked engine keeps them). One training step = the forward pass of every member's
own batch, the backward pass of the summed losses, and each member's own torch.optim.Adam step;
the variants differ only in the forward pass:
- `loop`: each member's own model, one after another (what K separate runs compute);
- `vmap`: the engine's: each member's parameters stacked per step (torch.stack, inside autograd)
  and `torch.func.vmap(functional_call)` over one template of the model (regopt.stacked.forward);
- `baddbmm`: the same stacked parameters, transposed to (K, in, out), one torch.baddbmm a layer
  (scripts/bench_ensemble.py's forward; its stacked weights there are the leaves themselves);
- `baddbmm_leaves`: stacked leaves, no per-step stacking, for the forward pass alone (the cost the
  per-step stack adds; its update would have to be a fused one on stacked tensors).
Prints one JSON line per width: milliseconds per step (the median of repeats) and each variant's
speed-up over `loop`.

    python scripts/bench_stacked_forward.py --members 9 --widths 32 128 512
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from regopt.models.mlp import MLP
from regopt.stacked.forward import StackedForward


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def baddbmm_forward(models: list[nn.Module], x: Tensor) -> Tensor:
    layers = list(zip(*(linear_layers(m) for m in models), strict=True))
    for depth, per_member in enumerate(layers):
        weight = torch.stack([layer.weight for layer in per_member]).transpose(1, 2)
        bias = torch.stack([layer.bias for layer in per_member]).unsqueeze(1)
        x = torch.baddbmm(bias, x.flatten(2), weight)
        if depth < len(layers) - 1:
            x = torch.relu(x)
    return x


def timed(step: Callable[[], None], steps: int, repeats: int) -> float:
    step()  # warm-up: vmap traces, allocators settle
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - started) / steps * 1e3)
    return statistics.median(times)


def bench(members: int, width: int, steps: int, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    models = [MLP(64, 10, widths=[width, width]) for _ in range(members)]
    optimizers = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in models]
    x = torch.randn(members, 32, 64)
    y = torch.randint(0, 10, (members, 32))
    stacked = StackedForward(models)

    def train(outputs: Callable[[], list[Tensor] | Tensor]) -> Callable[[], None]:
        def step() -> None:
            for optimizer in optimizers:
                optimizer.zero_grad(set_to_none=True)
            out = outputs()
            loss = sum(F.cross_entropy(o, t) for o, t in zip(out, y, strict=True))
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()

        return step

    indices = list(range(members))
    variants = {
        "loop": train(lambda: [m(xb) for m, xb in zip(models, x, strict=True)]),
        "vmap": train(lambda: stacked(indices, list(x), lambda i: None)),
        "baddbmm": train(lambda: baddbmm_forward(models, x)),
    }
    result = {name: timed(step, steps, repeats) for name, step in variants.items()}
    weights = [
        torch.stack([layer.weight.detach().t() for layer in per]).requires_grad_()
        for per in zip(*(linear_layers(m) for m in models), strict=True)
    ]
    biases = [
        torch.stack([layer.bias.detach().unsqueeze(0) for layer in per]).requires_grad_()
        for per in zip(*(linear_layers(m) for m in models), strict=True)
    ]

    def leaves_step() -> None:
        h = x
        for depth, (w, b) in enumerate(zip(weights, biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if depth < len(weights) - 1:
                h = torch.relu(h)
        F.cross_entropy(h.reshape(-1, 10), y.reshape(-1), reduction="sum").backward()

    result["baddbmm_leaves_forward_backward"] = timed(leaves_step, steps, repeats)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=9)
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for width in args.widths:
        ms = bench(args.members, width, args.steps, args.repeats)
        print(
            json.dumps(
                {
                    "members": args.members,
                    "width": width,
                    "threads": torch.get_num_threads(),
                    "ms_per_step": {k: round(v, 3) for k, v in ms.items()},
                    "speedup_over_loop": {
                        k: round(ms["loop"] / v, 2) for k, v in ms.items() if k != "loop"
                    },
                }
            )
        )


if __name__ == "__main__":
    main()
