"""A sweep's jobs as one stack (regopt.stacked.engine.fit_stack) against one after another.

K jobs of the default digits job at hidden width W (a seed x learning-rate grid, the record and
diagnostics as configured by default, no W&B), trained (a) one after another in this process with
`regopt.pipeline.run`, as the basic launcher runs a sweep (imports paid once), (b) as one stack,
with its batched forward pass, and (c) as one stack whose members each run their own forward pass
(the batched pass switched off), to see what the batching itself buys. Prints one JSON line.

    python scripts/bench_stacked.py --members 9 --epochs 10 --width 32
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from regopt.config.resolvers import register_resolvers
from regopt.pipeline import run
from regopt.stacked import forward
from regopt.stacked.engine import fit_stack

CONF = Path(__file__).resolve().parents[1] / "conf"


def job(overrides: list[str], output_dir: Path) -> DictConfig:
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", [*overrides, f"paths.output_dir={output_dir}"])
    with open_dict(cfg):
        cfg.threads = torch.get_num_threads()
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--width", type=int, default=32)
    args = parser.parse_args()
    grid = [(k, (3e-4, 1e-3, 3e-3)[k % 3]) for k in range(args.members)]
    common = [
        "logger=none",
        f"model.widths=[{args.width},{args.width}]",
        f"trainer.max_epochs={args.epochs}",
    ]
    root = Path(tempfile.mkdtemp(prefix="bench_stacked_"))

    def configs(name: str) -> list[DictConfig]:
        return [
            job([*common, f"seed={seed}", f"optimizer.lr={lr}"], root / name / str(k))
            for k, (seed, lr) in enumerate(grid)
        ]

    started = time.perf_counter()
    separate = [run(cfg) for cfg in configs("separate")]
    one_after_another = time.perf_counter() - started

    started = time.perf_counter()
    stacked = fit_stack(configs("stacked"))
    stack_s = time.perf_counter() - started

    batchable = forward.StackedForward.__init__

    def unbatched(self: forward.StackedForward, models: list) -> None:
        batchable(self, models)
        self.batchable_kind = False

    forward.StackedForward.__init__ = unbatched  # type: ignore[method-assign]
    started = time.perf_counter()
    fit_stack(configs("looped"))
    looped_s = time.perf_counter() - started
    worst = max(abs(a - b) / abs(a) for a, b in zip(separate, stacked, strict=True))
    print(
        json.dumps(
            {
                "members": args.members,
                "width": args.width,
                "epochs": args.epochs,
                "threads": torch.get_num_threads(),
                "one_after_another_s": round(one_after_another, 2),
                "stack_s": round(stack_s, 2),
                "stack_own_forward_s": round(looped_s, 2),
                "speedup": round(one_after_another / stack_s, 2),
                "max_relative_best_val_loss_difference": worst,
            }
        )
    )


if __name__ == "__main__":
    main()
