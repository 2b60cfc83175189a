"""Sweeps under the basic, parallel and stacked launchers, measured in the same invocation.

Two grids on the default digits job, each at hidden widths 32, 128 and 512 (two layers), each
under `hydra/launcher=basic` (one process, jobs in turn), `parallel` (2 joblib workers),
`stacked` (jobs that differ only in member keys train as one stacked model) and `stacked2` (the
same with `hydra.launcher.n_jobs=2`: a stack in each of 2 worker processes): the reg_vs_opt
experiment (regulariser none/l2/dropout x optimiser sgd/adam/adamw x seed 0-4: 45 jobs) and an
AdamW learning rate x weight decay grid (6 x 6: 36 jobs). Every sweep is one fresh
`regopt-train -m` process; its wall time includes start-up and composition. `--epochs` (50 by
default, a quarter of the default job's 200; at 10 the jobs' fixed costs, composition, config
check and curves.png, are two thirds of a job and no launcher can stack them away) and
`logger=none` keep the whole run within about half an hour on 2 cores.
The launchers' order rotates from one width to the next.

Besides wall time, jobs per minute and the speed-up over basic, it prints how many jobs trained
stacked, and the largest relative difference of a job's best val/loss from the same job under
the basic launcher (float32: stacking may reorder sums).

    python scripts/bench_sweep.py           # make bench-sweep: prints, updates docs/benchmarks.md
    python scripts/bench_sweep.py --quick   # one tiny grid, 1 epoch: a smoke test (prints only)
    python scripts/bench_sweep.py --launchers basic,stacked --grids reg_vs_opt --widths 32,512
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from bench import ROOT, TRAIN, machine, machine_cpu_seconds, run_child, write_between_markers

GRIDS = {
    "reg_vs_opt (45 jobs)": ["experiment=reg_vs_opt"],
    "lr x weight decay, AdamW (36 jobs)": [
        "optimizer=adamw",
        "regularizer=none",
        "optimizer.lr=1e-4,3e-4,1e-3,3e-3,1e-2,3e-2",
        "optimizer.weight_decay=0,0.01,0.03,0.1,0.3,1",
    ],
}
GRIDS_BY_NAME = {
    "reg_vs_opt": "reg_vs_opt (45 jobs)",
    "lr_wd": "lr x weight decay, AdamW (36 jobs)",
}
QUICK = {"regularizer=none,l2 x seed=0,1 (4 jobs)": ["regularizer=none,l2", "seed=0,1"]}
LAUNCHERS = {
    "basic": [],
    "parallel": ["hydra/launcher=parallel"],
    "stacked": ["hydra/launcher=stacked", "hydra.launcher.n_jobs=1"],  # one process
    "stacked2": ["hydra/launcher=stacked", "hydra.launcher.n_jobs=2"],  # a stack per core
}
WIDTHS = (32, 128, 512)
START, END = "<!-- bench-sweep:start -->", "<!-- bench-sweep:end -->"
STACK_LINE = re.compile(r"train as one stack of (\d+)")


def run_sweep(
    grid: list[str], launcher: list[str], width: int, epochs: int, threads: int | None
) -> dict:
    """One sweep in a fresh process: wall time, CPU time (user + system, the kernel's account of
    the process), each job's status and best val/loss, and how many jobs the stacked launcher
    trained in stacks (from its log)."""
    with tempfile.TemporaryDirectory() as root:
        sweep_dir = Path(root) / "sweep"
        args = [
            "-m",
            *grid,
            *launcher,
            f"model.widths=[{width},{width}]",
            f"trainer.max_epochs={epochs}",
            "logger=none",
            f"hydra.sweep.dir={sweep_dir}",
            *([f"threads={threads}"] if threads else []),
        ]
        before = machine_cpu_seconds()
        wall, usage, stdout = run_child([*TRAIN, *args], env={"REGOPT_ROOT": root})
        after = machine_cpu_seconds()
        jobs = {}
        for summary in sweep_dir.glob("*/summary.json"):
            record = json.loads(summary.read_text())
            jobs[summary.parent.name] = (
                record["status"],
                (record.get("best") or {}).get("val/loss"),
            )
    stacked = sum(int(n) for n in STACK_LINE.findall(stdout))
    # the machine's CPU time: the stacked launcher's workers are forked by a server process,
    # whose time the kernel's account of the sweep's own process does not include
    known = before is not None and after is not None
    cpu = after - before if known else usage.ru_utime + usage.ru_stime
    return {"wall": wall, "cpu": cpu, "jobs": jobs, "stacked": stacked}


def largest_difference(result: dict, basic: dict) -> float | None:
    pairs = [
        (value, basic["jobs"][job][1])
        for job, (status, value) in result["jobs"].items()
        if status == "completed" and basic["jobs"].get(job, ("", None))[1]
    ]
    if not pairs:
        return None
    return max(abs(a - b) / abs(b) for a, b in pairs)


def render(
    results: dict, epochs: int, loads: tuple[float, float], threads: int | None, command: str
) -> str:
    epochs_text = f"{epochs} epoch" if epochs == 1 else f"{epochs} epochs"
    threads_text = f"`threads={threads}`" if threads else "`threads=auto`"
    lines = [
        f"Written by `{command}` on {time.strftime('%Y-%m-%d')}: {machine()}; {epochs_text} a "
        f"job, `logger=none`, {threads_text}; load average {loads[0]:.2f} at the start, "
        f"{loads[1]:.2f} at the end. One run of each sweep. CPU s: user + system seconds the "
        "machine spent during the sweep (/proc/stat: with the workers forked by the stacked "
        "launcher's server process; less sensitive than wall time to other work on the cores).",
        "",
        "| grid | width | launcher | wall s | jobs/min | speed-up over basic | CPU s "
        "| CPU speed-up | jobs stacked | completed | max rel. diff of best val/loss from basic |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (grid, width), by_launcher in results.items():
        basic = by_launcher["basic"]
        for name, result in by_launcher.items():
            count = len(result["jobs"])
            done = sum(status == "completed" for status, _ in result["jobs"].values())
            diff = largest_difference(result, basic) if name != "basic" else None
            shown = "-" if diff is None else f"{diff:.1e}"
            lines.append(
                f"| {grid} | {width} | {name} | {result['wall']:.1f} | "
                f"{60 * count / result['wall']:.1f} | {basic['wall'] / result['wall']:.2f}x "
                f"| {result['cpu']:.1f} | {basic['cpu'] / result['cpu']:.2f}x "
                f"| {result['stacked']} | {done}/{count} | {shown} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="one tiny grid at width 32, 1 epoch")
    parser.add_argument("--launchers", default=",".join(LAUNCHERS), help="a subset, in order")
    parser.add_argument(
        "--grids", default=",".join(GRIDS_BY_NAME), help="a subset of " + ", ".join(GRIDS_BY_NAME)
    )
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads a job (`threads=N`); default: the job's own (auto)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="the page to update (default: docs/benchmarks.md; none with --quick)",
    )
    args = parser.parse_args()
    launchers = {name: LAUNCHERS[name] for name in args.launchers.split(",")}
    if "basic" not in launchers:
        parser.error("--launchers must include basic (the speed-ups are over it)")
    chosen = {GRIDS_BY_NAME[name]: GRIDS[GRIDS_BY_NAME[name]] for name in args.grids.split(",")}
    widths = tuple(int(w) for w in args.widths.split(","))
    grids, widths = (QUICK, (32,)) if args.quick else (chosen, widths)
    if args.quick:  # stacks of 2 tiny members sit near the CPU probe's threshold: a smoke test
        launchers = {  # of the script stacks them whatever a loaded machine times
            name: [*flags, "hydra.launcher.cpu_probe=false"] if "stacked" in name else flags
            for name, flags in launchers.items()
        }
    epochs = 1 if args.quick else args.epochs
    out = args.out or (None if args.quick else ROOT / "docs" / "benchmarks.md")
    command = " ".join(["python scripts/bench_sweep.py", *sys.argv[1:]])
    start_load = os.getloadavg()[0]
    if start_load > 0.5:
        print(f"warning: load average {start_load:.2f}: other work shares the cores", flush=True)
    results: dict = {}
    turn = 0
    for grid, overrides in grids.items():
        for width in widths:
            names = list(launchers)
            names = names[turn % len(names) :] + names[: turn % len(names)]  # rotate the order
            turn += 1
            runs = {}
            for name in names:
                runs[name] = run_sweep(overrides, launchers[name], width, epochs, args.threads)
                print(
                    f"{grid}, width {width}, {name}: {runs[name]['wall']:.1f} s, "
                    f"{runs[name]['stacked']} stacked",
                    flush=True,
                )
            results[(grid, width)] = {name: runs[name] for name in launchers}
            loads = (start_load, os.getloadavg()[0])
            report = render(results, epochs, loads, args.threads, command)
            if out is not None:  # after each width, so a stopped run leaves what it measured
                write_between_markers(out, report, START, END)
    print(report)


if __name__ == "__main__":
    main()
