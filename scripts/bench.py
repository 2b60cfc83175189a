"""regopt against the fastest plain PyTorch loop, measured in the same invocation.

Runs the same model (64-512-512-10 MLP), data (10,000 Gaussian-cluster samples, 2,000 validation),
seed, optimiser (Adam 1e-3) and batch size (128) for 5 epochs (a) in scripts/bench_plain.py and
(b) through `regopt-train`, with its default callbacks and diagnostics and once with them off.
Repetitions alternate between the variants, each in a fresh process; medians are reported.
Also times `regopt-train --help`, `--cfg job` and a 9-job multirun of the default digits job.

    python scripts/bench.py                # prints the table, writes docs/benchmarks.md
    python scripts/bench.py --reps 5 --no-sweep --out /tmp/bench.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAIN = [sys.executable, "-m", "regopt.train"]
JOB = ["data=synthetic", "model.widths=[512,512]", "optimizer=adam", "optimizer.lr=1e-3",
       "regularizer=none", "data.batch_size=128", "trainer.max_epochs=5",
       "logger=none"]  # fmt: skip
OFF = ["callbacks=none", "diagnostics=none"]


def timed(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB, from the kernel's accounting of that child) and stdout."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})},
                                stdout=out, stderr=err, text=True)  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    return wall, usage.ru_maxrss / 1024, stdout


def plain_rep() -> dict[str, float]:
    wall, peak, out = timed([sys.executable, "scripts/bench_plain.py"])
    result = json.loads(out.strip().splitlines()[-1])
    return {"fit": result["fit_s"], "process": wall, "peak_mb": peak,
            "val_loss": result["val_loss"]}  # fmt: skip


def regopt_rep(extra: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as run_dir:
        wall, peak, _ = timed([*TRAIN, *JOB, *extra, f"hydra.run.dir={run_dir}"])
        summary = json.loads((Path(run_dir) / "summary.json").read_text())
    return {"fit": summary["wall_time_s"], "process": wall, "peak_mb": peak,
            "val_loss": summary["final"]["val/loss"]}  # fmt: skip


def cli_rep(args: list[str]) -> float:
    return timed([*TRAIN, *args])[0]


def sweep_time() -> float:
    with tempfile.TemporaryDirectory() as root:
        return timed([*TRAIN, "-m", "optimizer=sgd,adam,adamw", "regularizer=none,l2,elastic"],
                     env={"REGOPT_ROOT": root})[0]  # fmt: skip


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-sweep", action="store_true", help="skip the 9-job multirun")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()

    variants = {"plain": plain_rep, "regopt": lambda: regopt_rep([]),
                "regopt_off": lambda: regopt_rep(OFF)}  # fmt: skip
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    names = list(variants)
    for rep in range(args.reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:  # alternate the order
            results[name].append(variants[name]())
            print(f"rep {rep + 1}/{args.reps} {name}: {results[name][-1]}", flush=True)
    cli = {"--help": median([cli_rep(["--help"]) for _ in range(args.reps)]),
           "--cfg job": median([cli_rep(["--cfg", "job"]) for _ in range(args.reps)])}  # fmt: skip
    sweep = None if args.no_sweep else sweep_time()
    report = render(results, cli, sweep, args.reps)
    print(report)
    args.out.write_text(report)


def render(results, cli, sweep, reps) -> str:
    plain_fit = median([r["fit"] for r in results["plain"]])
    plain_process = median([r["process"] for r in results["plain"]])
    lines = [
        "# Benchmarks",
        "",
        f"Written by `python scripts/bench.py` (`make bench`) on {time.strftime('%Y-%m-%d')}: "
        f"{machine()}. Medians of {reps} alternating repetitions, each in a fresh process.",
        "",
        "| variant | fit loop s | fit / plain | whole process s | process - plain s | peak MB "
        "| final val loss |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for name, rows in results.items():
        fit, process = median([r["fit"] for r in rows]), median([r["process"] for r in rows])
        peak, val = median([r["peak_mb"] for r in rows]), median([r["val_loss"] for r in rows])
        lines.append(f"| {name} | {fit:.2f} | {fit / plain_fit:.2f}x | {process:.2f} | "
                     f"{process - plain_process:+.2f} | {peak:.0f} | {val:.4f} |")  # fmt: skip
    lines += ["", "| command | s |", "|---|---|"]
    lines += [f"| `regopt-train {k}` | {v:.2f} |" for k, v in cli.items()]
    if sweep is not None:
        lines.append(f"| 9-job multirun of the default digits job | {sweep:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
