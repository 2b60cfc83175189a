"""What the per-epoch diagnostics cost: fit time per epoch with `diagnostics=none`, each diagnostic
alone, and the default set, on digits, in one process, interleaved, medians over repeats.

    .venv/bin/python scripts/bench_diagnostics.py --epochs 60 --reps 5 --threads 1

Prints a markdown table (docs/diagnostics.md quotes one). W&B and the other callbacks are off so
only the diagnostics differ. Two numbers per variant: the extra fit time per epoch against
`diagnostics=none` (everything included, but noisy on a shared machine), and the time spent inside
the diagnostics' own hooks, timed directly (`hook ms/epoch`: their computing, the host transfer and
the loggers' work for their keys). The end-of-run figure is timed on its own.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

ONLY = {
    "train_eval": ["~diagnostics.best", "~diagnostics.weights", "~diagnostics.gradients"],
    "best": ["~diagnostics.train_eval", "~diagnostics.weights", "~diagnostics.gradients"],
    "weights": ["~diagnostics.train_eval", "~diagnostics.best", "~diagnostics.gradients"],
    "gradients (every epoch)": [
        "~diagnostics.train_eval",
        "~diagnostics.best",
        "~diagnostics.weights",
        "diagnostics.gradients.every_n_epochs=1",
    ],
}
WORKLOADS = {
    "digits, 359 train samples": [],
    "digits, 1437 train samples": ["data.train_fraction=0.8"],
}


HOOK_SECONDS = [0.0]


def time_diagnostic_hooks() -> None:
    """Wrap the diagnostics' hooks that do work so the time spent inside them is added up."""
    from regopt.diagnostics.epoch_log import EpochDiagnostic
    from regopt.diagnostics.train_eval import TrainEvalGap

    def timed(fn):  # noqa: ANN001, ANN202
        def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                HOOK_SECONDS[0] += time.perf_counter() - start

        return wrapper

    EpochDiagnostic.on_train_epoch_end = timed(EpochDiagnostic.on_train_epoch_end)
    TrainEvalGap.on_validation_epoch_end = timed(TrainEvalGap.on_validation_epoch_end)


def fit_seconds_per_epoch(overrides: list[str], epochs: int, out: Path) -> tuple[float, float]:
    """(fit seconds per epoch, seconds per epoch inside the diagnostics' hooks)"""
    from conftest import run_job

    HOOK_SECONDS[0] = 0.0
    summary = run_job(
        [
            f"trainer.max_epochs={epochs}",
            "callbacks=none",
            "trainer.enable_model_summary=false",
            *overrides,
        ],
        out,
    )
    return summary["wall_time_s"] / summary["epochs"], HOOK_SECONDS[0] / summary["epochs"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    for name in ("pytorch_lightning", "lightning_fabric", "regopt"):
        logging.getLogger(name).setLevel(logging.WARNING)
    time_diagnostic_hooks()
    variants = {"none": ["diagnostics=none"], **ONLY, "default": []}
    print(f"torch threads {args.threads}, {args.epochs} epochs, median of {args.reps}")
    print("| workload | variant | ms/epoch | extra ms/epoch | extra % | hook ms/epoch |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        fit_seconds_per_epoch([], 2, Path(tmp) / "warm-up")
        for workload, base in WORKLOADS.items():
            times: dict[str, list[float]] = {k: [] for k in variants}
            hooks: dict[str, list[float]] = {k: [] for k in variants}
            for rep in range(args.reps):
                for name, extra in variants.items():
                    out = Path(tmp) / f"{workload[-15:-12]}-{rep}-{name.split()[0]}"
                    fit, hook = fit_seconds_per_epoch([*base, *extra], args.epochs, out)
                    times[name].append(fit)
                    hooks[name].append(hook)
            none = statistics.median(times["none"])
            for name, values in times.items():
                m, h = statistics.median(values), statistics.median(hooks[name])
                print(
                    f"| {workload} | {name} | {1000 * m:.1f} | {1000 * (m - none):+.1f} | "
                    f"{100 * (m - none) / none:+.1f} | {1000 * h:.1f} |"
                )
    from regopt.record.plots import draw_curves

    rows = [
        {
            "epoch": e,
            "val/loss": 1 / (e + 1),
            "train_eval/loss": 1 / (e + 2),
            "val/acc": 0.5,
            "gap/loss": 0.1,
        }
        for e in range(200)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        draw_curves(rows, {"onset_epoch": 20}, Path(tmp) / "curves.png")
        print(f"curves.png for 200 epochs, once per run: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
