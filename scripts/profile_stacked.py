"""Where the time of a stack goes, against the same jobs run one after another (cProfile).

K default digits jobs at hidden width W (seeds 0..K-1, optimisers sgd, adam, adamw in turn, no
regulariser, `logger=none`, the default callbacks and diagnostics) trained (a) one after another
in this process with `regopt.pipeline.run`, as the basic launcher runs them, and (b) as one stack
(`regopt.stacked.engine.fit_stack`), each under cProfile; prints the seconds of each part as a
Markdown table (cumulative times: the parts overlap where one calls another).

    python scripts/profile_stacked.py --width 32 --epochs 10 --threads 1
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
from pathlib import Path

import torch

from bench_stacked import job
from regopt.pipeline import run
from regopt.stacked.engine import fit_stack

PARTS = {  # row -> (file suffix, function name) whose cumulative time is summed
    "whole fit": [("pipeline.py", "run"), ("engine.py", "fit_stack")],
    "build (data, module, callbacks)": [("pipeline.py", "assemble")],
    "training batches (forward, backward, optimiser, hooks)": [
        ("training_epoch_loop.py", "advance")
    ],
    "validation loops": [("evaluation_loop.py", "run")],
    "checkpoints": [("model_checkpoint.py", "_save_checkpoint")],
    "of which fsync": [("~", "<built-in method posix.fsync>")],
    "curves.png": [("plots.py", "draw_curves")],
}


def seconds(stats: pstats.Stats, where: list[tuple[str, str]]) -> float:
    table = stats.stats  # type: ignore[attr-defined]
    return sum(
        row[3]
        for (path, _, name), row in table.items()
        if any(path.endswith(suffix) and name == function for suffix, function in where)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = Path(tempfile.mkdtemp(prefix="profile_stacked_"))

    def configs(name: str) -> list:
        common = ["logger=none", f"model.widths=[{args.width},{args.width}]"]
        return [
            job(
                [
                    *common,
                    f"trainer.max_epochs={args.epochs}",
                    f"seed={k}",
                    f"optimizer={('sgd', 'adam', 'adamw')[k % 3]}",
                ],
                root / name / str(k),
            )
            for k in range(args.members)
        ]

    profiles = {}
    for name, train in (("one after another", lambda c: [run(x) for x in c]), ("stack", fit_stack)):
        cfgs = configs(name.replace(" ", "_"))
        profile = cProfile.Profile()
        profile.runcall(train, cfgs)
        profiles[name] = pstats.Stats(profile)
    print(
        f"| {args.members} jobs, width {args.width}, {args.epochs} epochs, "
        f"{args.threads} thread(s), s | " + " | ".join(profiles) + " |"
    )
    print("|---|" + "---|" * len(profiles))
    for row, where in PARTS.items():
        cells = " | ".join(f"{seconds(stats, where):.1f}" for stats in profiles.values())
        print(f"| {row} | {cells} |")


if __name__ == "__main__":
    main()
