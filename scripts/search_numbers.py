"""The same Optuna search with and without pruning, in one run: docs/search.md's numbers.

For each seed (the sampler's and the training's), `regopt-train hparams_search=optuna` runs 30
trials over lr, weight decay and the L2 weight on a small default-like job (digits with 20% for
training, a 64-128-128-10 MLP, AdamW, an L2 penalty, 20 epochs) with each pruner of `--pruners`
(default: median, successive halving, none), each with its default settings. Per study: trials
completed and pruned, epochs trained (every trial's, from its summary.json), wall time and the
best value; then the mean and spread over seeds. Writes docs/results/search/search_numbers.{csv,md}.

    python scripts/search_numbers.py [--seeds 0 1 2] [--trials 30] [--epochs 20] [--parallel]
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


def study_command(pruner: str, seed: int, trials: int, epochs: int, sweep: Path) -> list[str]:
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
        "threads=1",
    ]
    return args


def study_numbers(pruner: str, seed: int, sweep: Path, wall: float) -> dict:
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


def run_batch(studies: list[tuple[str, int]], trials: int, epochs: int, work: Path) -> list[dict]:
    """Run the studies at once; each one's wall time from its start to its own end."""
    env = {**os.environ, "REGOPT_ROOT": str(work)}
    running = {}
    for pruner, seed in studies:
        sweep = work / f"{pruner}_{seed}"
        command = study_command(pruner, seed, trials, epochs, sweep)
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        running[(pruner, seed)] = (proc, sweep, time.perf_counter())
    rows = []
    while running:
        for (pruner, seed), (proc, sweep, started) in list(running.items()):
            if proc.poll() is None:
                continue
            del running[(pruner, seed)]
            if proc.returncode != 0:
                raise SystemExit(f"the {pruner} study of seed {seed} failed: see {sweep}")
            rows.append(study_numbers(pruner, seed, sweep, time.perf_counter() - started))
            print(rows[-1], flush=True)
        time.sleep(0.5)
    return rows


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
    parser.add_argument("--pruners", nargs="+", default=["median", "successive_halving", "none"])
    parser.add_argument(
        "--parallel", action="store_true", help="run the studies at once (one thread each)"
    )
    args = parser.parse_args()
    studies = [(pruner, seed) for seed in args.seeds for pruner in args.pruners]
    rows = []
    with tempfile.TemporaryDirectory(prefix="regopt-search-") as work:
        batches = [studies] if args.parallel else [[study] for study in studies]
        for batch in batches:  # --parallel: every study at once, both arms under the same load
            rows += run_batch(batch, args.trials, args.epochs, Path(work))
    rows.sort(key=lambda r: (args.pruners.index(r["pruner"]), r["seed"]))
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "search_numbers.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    (OUT / "search_numbers.md").write_text(table(rows) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
