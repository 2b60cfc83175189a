"""What the per-epoch diagnostics cost: fit time per epoch with `diagnostics=none`, each diagnostic
alone, and the default set, on digits, in one process, interleaved, medians over repeats.

    .venv/bin/python scripts/bench_diagnostics.py --epochs 60 --reps 5 --threads 1

Prints a markdown table (docs/diagnostics.md quotes one). W&B and the other callbacks are off so
only the diagnostics differ; the end-of-run figure is timed on its own.
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
    "gradients (every epoch)": ["~diagnostics.train_eval", "~diagnostics.best",
                                "~diagnostics.weights", "diagnostics.gradients.every_n_epochs=1"],
}  # fmt: skip
WORKLOADS = {
    "digits, 359 train samples": [],
    "digits, 1437 train samples": ["data.train_fraction=0.8"],
}


def fit_seconds_per_epoch(overrides: list[str], epochs: int, out: Path) -> float:
    from conftest import run_job

    summary = run_job(
        [
            f"trainer.max_epochs={epochs}",
            "callbacks=none",
            "trainer.enable_model_summary=false",
            *overrides,
        ],
        out,
    )
    return summary["wall_time_s"] / summary["epochs"]


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
    variants = {"none": ["diagnostics=none"], **ONLY, "default": []}
    print(f"torch threads {args.threads}, {args.epochs} epochs, median of {args.reps}")
    print("| workload | variant | ms/epoch | extra ms/epoch | extra % |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        fit_seconds_per_epoch([], 2, Path(tmp) / "warm-up")
        for workload, base in WORKLOADS.items():
            times: dict[str, list[float]] = {k: [] for k in variants}
            for rep in range(args.reps):
                for name, extra in variants.items():
                    out = Path(tmp) / f"{workload[-15:-12]}-{rep}-{name.split()[0]}"
                    times[name].append(fit_seconds_per_epoch([*base, *extra], args.epochs, out))
            none = statistics.median(times["none"])
            for name, values in times.items():
                m = statistics.median(values)
                print(f"| {workload} | {name} | {1000 * m:.1f} | {1000 * (m - none):+.1f} | "
                      f"{100 * (m - none) / none:+.1f} |")  # fmt: skip
    from regopt.record.plots import draw_curves

    rows = [{"epoch": e, "val/loss": 1 / (e + 1), "train_eval/loss": 1 / (e + 2),
             "val/acc": 0.5, "gap/loss": 0.1} for e in range(200)]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        draw_curves(rows, {"onset_epoch": 20}, Path(tmp) / "curves.png")
        print(f"curves.png for 200 epochs, once per run: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
