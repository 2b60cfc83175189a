"""The same Optuna search with and without pruning, in one run: docs/search.md's numbers.

For each seed (the sampler's and the training's), `regopt-train hparams_search=optuna` runs 30
trials over lr, weight decay and the L2 weight on a small default-like job (digits with 20% for
training, a 64-128-128-10 MLP, AdamW, an L2 penalty, 20 epochs), once with the median pruner and
once with none. Per study: trials completed and pruned, epochs trained (every trial's, from its
summary.json), wall time and the best value; then the mean and spread over seeds. Writes
docs/results/search/search_numbers.{csv,md}.

    python scripts/search_numbers.py [--seeds 0 1 2] [--trials 30] [--epochs 20]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "results" / "search"
FIELDS = ["pruner", "seed", "trials", "completed", "pruned", "failed", "epochs", "wall_s", "best"]


def run_study(pruner: str, seed: int, trials: int, epochs: int, work: Path) -> dict:
    sweep = work / f"{pruner}_{seed}"
    args = [
        sys.executable,
        "-m",
        "regopt.train",
        "hparams_search=optuna",
        f"hparams_search/pruner={pruner}",
        f"seed={seed}",
        f"hydra.sweeper.n_trials={trials}",
        f"trainer.max_epochs={epochs}",
        f"hydra.sweep.dir={sweep}",
        "logger=none",
        "callbacks=none",
        "diagnostics=none",
        "model.widths=[128,128]",
    ]
    env = {**os.environ, "REGOPT_ROOT": str(work)}
    started = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    summaries = [json.loads(p.read_text()) for p in sweep.glob("*/summary.json")]
    statuses = [s["status"] for s in summaries]
    best = min(s["best"]["val/loss"] for s in summaries if s["status"] == "completed")
    return {
        "pruner": pruner,
        "seed": seed,
        "trials": len(summaries),
        "completed": statuses.count("completed"),
        "pruned": statuses.count("pruned"),
        "failed": len(statuses) - statuses.count("completed") - statuses.count("pruned"),
        "epochs": sum(s["epochs"] for s in summaries),
        "wall_s": round(wall, 1),
        "best": round(best, 4),
    }


def spread(values: list[float]) -> str:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.4g} ± {std:.2g}"


def table(rows: list[dict]) -> str:
    lines = [
        "| pruner | seed | trials | completed | pruned | epochs trained | wall time (s) | "
        "best val/loss |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['pruner']} | {r['seed']} | {r['trials']} | {r['completed']} | "
            f"{r['pruned']} | {r['epochs']} | {r['wall_s']} | {r['best']} |"
        )
    for pruner in dict.fromkeys(r["pruner"] for r in rows):
        arm = [r for r in rows if r["pruner"] == pruner]
        cells = [spread([float(r[k]) for r in arm]) for k in ("epochs", "wall_s", "best")]
        lines.append(f"| {pruner} | mean ± std | | | | {cells[0]} | {cells[1]} | {cells[2]} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="regopt-search-") as work:
        for seed in args.seeds:
            for pruner in ("median", "none"):
                rows.append(run_study(pruner, seed, args.trials, args.epochs, Path(work)))
                print(rows[-1], flush=True)
    rows.sort(key=lambda r: (r["pruner"] != "median", r["seed"]))
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "search_numbers.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    (OUT / "search_numbers.md").write_text(table(rows) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
