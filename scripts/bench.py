"""regopt against the fastest plain PyTorch loop, measured in the same invocation.

Runs the same model (64-512-512-10 MLP), data (10,000 Gaussian-cluster samples, 2,000 validation),
seed, optimiser (Adam 1e-3) and batch size (128) for 5 epochs (a) in scripts/bench_plain.py,
(b) in the barest Lightning loop (scripts/bench_lightning.py: the floor under any Lightning
template) and (c) through `regopt-train` (which trains in Lightning's own loop): with its default
callbacks and diagnostics, and with them off. Repetitions alternate between the variants, each in
a fresh process; medians are reported.
scripts/bench_steps.py measures the cost of a step beyond its arithmetic. Also times
`regopt-train --help`, `--cfg job` and a 9-job multirun of the default digits job (basic
launcher: one process; and `hydra/launcher=parallel`: 2 joblib workers).

    python scripts/bench.py                # prints the tables, updates docs/benchmarks.md
    python scripts/bench.py --reps 5 --no-sweep --out /tmp/bench.md

Timings on a busy machine mean little (2 threads on 2 shared cores slow a fit 5-40x): the script
prints the load average it started with, and the docs page records it.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TRAIN = [sys.executable, "-m", "regopt.train"]
JOB = [
    "data=synthetic",
    "model.widths=[512,512]",
    "optimizer=adam",
    "optimizer.lr=1e-3",
    "regularizer=none",
    "data.batch_size=128",
    "trainer.max_epochs=5",
    "logger=none",
]
OFF = ["callbacks=none", "diagnostics=none"]
SWEEP = ["optimizer=sgd,adam,adamw", "regularizer=none,l2,elastic"]  # 9 jobs of the default job
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def timed(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB, from the kernel's accounting of that child) and stdout."""
    wall, usage, stdout = run_child(command, env)
    return wall, usage.ru_maxrss / 1024, stdout


def machine_cpu_seconds() -> float | None:
    """User + system seconds all CPUs have spent since boot (/proc/stat), or None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system = (int(value) for value in fields[:3])
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


def run_child(command: list[str], env: dict | None = None) -> tuple[float, Any, str]:
    """Wall seconds, the kernel's resource usage of the child (CPU seconds, peak RSS) and its
    stdout; raises with its stderr when it fails."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out, stderr=err, text=True
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    return wall, usage, stdout


def script_rep(script: str) -> dict[str, float]:
    wall, peak, out = timed([sys.executable, script])
    result = json.loads(out.strip().splitlines()[-1])
    return {
        "fit": result["fit_s"],
        "process": wall,
        "peak_mb": peak,
        "val_loss": result["val_loss"],
    }


def regopt_rep(extra: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as run_dir:
        wall, peak, _ = timed([*TRAIN, *JOB, *extra, f"hydra.run.dir={run_dir}"])
        summary = json.loads((Path(run_dir) / "summary.json").read_text())
    return {
        "fit": summary["wall_time_s"],
        "process": wall,
        "peak_mb": peak,
        "val_loss": summary["final"]["val/loss"],
    }


def cli_rep(args: list[str]) -> float:
    return timed([*TRAIN, *args])[0]


def sweep(launcher: list[str]) -> dict[str, float]:
    """Wall time of the 9-job multirun, and the sum of its jobs' own fit times."""
    with tempfile.TemporaryDirectory() as root:
        sweep_dir = Path(root) / "sweep"
        wall = timed(
            [*TRAIN, "-m", *SWEEP, *launcher, f"hydra.sweep.dir={sweep_dir}"],
            env={"REGOPT_ROOT": root},
        )[0]
        summaries = [json.loads(p.read_text()) for p in sweep_dir.glob("*/summary.json")]
    completed = sum(s["status"] == "completed" for s in summaries)
    return {
        "wall": wall,
        "fits": sum(s["wall_time_s"] for s in summaries),
        "jobs": len(summaries),
        "completed": completed,
    }


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
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--no-sweep", action="store_true", help="skip the 9-job multiruns")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: load average {load:.2f}: other work shares the cores", flush=True)

    variants: dict[str, Callable[[], dict[str, float]]] = {
        "plain PyTorch loop": lambda: script_rep("scripts/bench_plain.py"),
        "bare Lightning loop": lambda: script_rep("scripts/bench_lightning.py"),
        "regopt, default callbacks + diagnostics": lambda: regopt_rep([]),
        "regopt, callbacks=none diagnostics=none": lambda: regopt_rep(OFF),
    }
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    names = list(variants)
    for rep in range(args.reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:  # alternate the order
            results[name].append(variants[name]())
            print(f"rep {rep + 1}/{args.reps} {name}: {results[name][-1]}", flush=True)
    steps = json.loads(
        timed([sys.executable, "scripts/bench_steps.py"])[2].strip().splitlines()[-1]
    )
    cli = {
        "--help": median([cli_rep(["--help"]) for _ in range(args.reps)]),
        "--cfg job": median([cli_rep(["--cfg", "job"]) for _ in range(args.reps)]),
    }
    sweeps = {}
    if not args.no_sweep:
        sweeps["basic launcher (one process, jobs in turn)"] = sweep([])
        sweeps["hydra/launcher=parallel (2 joblib workers)"] = sweep(["hydra/launcher=parallel"])
    report = render(results, steps, cli, sweeps, args.reps, load)
    print(report)
    write_between_markers(args.out, report)


def render(results, steps, cli, sweeps, reps, load) -> str:
    plain_fit = median([r["fit"] for r in next(iter(results.values()))])
    plain_process = median([r["process"] for r in next(iter(results.values()))])
    lines = [
        f"Written by `python scripts/bench.py` (`make bench`) on {time.strftime('%Y-%m-%d')}: "
        f"{machine()}; load average {load:.2f} at the start. Medians of {reps} alternating "
        "repetitions, each in a fresh process.",
        "",
        "| variant | fit s | fit / plain | whole process s | process - plain s | peak MB "
        "| final val loss |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, rows in results.items():
        fit, process = median([r["fit"] for r in rows]), median([r["process"] for r in rows])
        peak, val = median([r["peak_mb"] for r in rows]), median([r["val_loss"] for r in rows])
        lines.append(
            f"| {name} | {fit:.2f} | {fit / plain_fit:.2f}x | {process:.2f} | "
            f"{process - plain_process:+.2f} | {peak:.0f} | {val:.4f} |"
        )
    plain_step = steps["plain"]
    lines += [
        "",
        "Per step, with a tiny model (`scripts/bench_steps.py`: 8-8-10 MLP, batch 16, "
        "2,500 steps, 1 thread): what each loop adds beyond the arithmetic.",
        "",
        "| loop | us per step | over plain us |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {us:.0f} | {us - plain_step:+.0f} |" for name, us in steps.items()]
    lines += ["", "| command | s |", "|---|---|"]
    lines += [f"| `regopt-train {k}` | {v:.2f} |" for k, v in cli.items()]
    if sweeps:
        header = (
            "| 9-job multirun of the default digits job | wall s | sum of the jobs' fits s "
            "| wall - fits, per job s | completed |"
        )
        lines += ["", header, "|---|---|---|---|---|"]
        for name, s in sweeps.items():
            per_job = (s["wall"] - s["fits"]) / max(s["jobs"], 1)
            overhead = "jobs overlap" if "parallel" in name else f"{per_job:.2f}"
            lines.append(
                f"| {name} | {s['wall']:.1f} | {s['fits']:.1f} | {overhead} | "
                f"{s['completed']}/{s['jobs']} |"
            )
    return "\n".join(lines) + "\n"


def write_between_markers(path: Path, report: str, start: str = START, end: str = END) -> None:
    """Replace the generated part of the page (between `start` and `end`; scripts/bench_sweep.py
    has its own block) and keep the hand-written analysis around it."""
    block = f"{start}\n{report}{end}"
    text = path.read_text() if path.exists() else ""
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = f"# Benchmarks\n\n{block}\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
