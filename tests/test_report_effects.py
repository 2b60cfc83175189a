"""regopt-report's two axes and effects: time to target counted against a plain loop, effects and
their intervals against scipy's paired t-test, the sentences, the heatmap and the plane; and on a
real small sweep, the paired interval against the unpaired one."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from conftest import run_job
from regopt.report.cli import build_report, main
from regopt.report.collect import load_runs
from regopt.report.stats import welch_interval

REGS, OPTS, SEEDS = ["none", "l2", "dropout"], ["sgd", "adamw"], [0, 1, 2]
EPOCHS, STEPS_PER_EPOCH = 30, 10
SEED_OFFSET = [0.0, 0.04, -0.035]  # the seed moves every cell alike (the spread users saw)
EFFECT = {("l2", "sgd"): -0.012, ("l2", "adamw"): -0.006}  # dropout: no effect
ADAMW = -0.018
RATE = {"sgd": 0.15, "adamw": 0.4}  # how fast the training loss falls


def curves(reg: str, opt: str, seed: int) -> tuple[list[float], list[float]]:
    """Training and validation loss per epoch of one made-up run."""
    jitter = np.random.default_rng([REGS.index(reg), OPTS.index(opt), seed]).normal(0, 0.001)
    best = 0.176 + SEED_OFFSET[seed] + EFFECT.get((reg, opt), 0.0) + jitter
    best += ADAMW * (opt == "adamw")
    floor = 0.2 if (reg, opt, seed) == ("dropout", "sgd", 2) else 0.01  # this run stalls
    train = [floor + 2.0 * math.exp(-RATE[opt] * e) for e in range(EPOCHS)]
    val = [best + 1.5 * math.exp(-RATE[opt] * e) + 0.002 * max(0, e - 20) for e in range(EPOCHS)]
    return train, val


def write_run(path: Path, reg: str, opt: str, seed: int, label: int | None = None) -> None:
    """A run dir as regopt-train leaves it: metrics.csv with `step`, summary.json from it
    (`label`: the seed the run records, when not `seed`)."""
    path.mkdir(parents=True)
    train, val = curves(reg, opt, seed)
    rows = [
        {
            "epoch": e,
            "step": STEPS_PER_EPOCH * (e + 1) - 1,
            "train_eval/loss": t,
            "val/loss": v,
            "gap/loss": v - t,
        }
        for e, (t, v) in enumerate(zip(train, val, strict=True))
    ]
    with open(path / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    best = min(rows, key=lambda r: r["val/loss"])
    label = seed if label is None else label
    overrides = [f"regularizer={reg}", f"optimizer={opt}", f"seed={label}"]
    summary = {
        "status": "completed",
        "overrides": overrides,
        "epochs": EPOCHS,
        "seed": label,
        "best": {"val/loss": best["val/loss"], "epoch": best["epoch"]},
        "final": {"gap/loss": rows[-1]["gap/loss"]},
        "diagnosis": {"kind": "none"},
    }
    (path / "summary.json").write_text(json.dumps(summary))


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    job = 0
    for reg in REGS:
        for opt in OPTS:
            for seed in SEEDS:
                write_run(tmp_path / str(job), reg, opt, seed)
                job += 1
    return tmp_path


def best(reg: str, opt: str) -> np.ndarray:
    return np.array([min(curves(reg, opt, s)[1]) for s in SEEDS])


def first_at_or_below(values: list[float], target: float) -> int | None:
    for epoch, value in enumerate(values):
        if value <= target:
            return epoch
    return None


def test_effects_sentences_and_csv_against_scipys_paired_t_test(sweep: Path, capsys) -> None:
    assert main([str(sweep)]) == 0
    text = (sweep / "report.md").read_text()
    with open(sweep / "report.csv") as handle:
        rows = {(r["regularizer"], r["optimizer"]): r for r in csv.DictReader(handle)}
    for reg, opt in [("l2", "sgd"), ("l2", "adamw"), ("dropout", "sgd"), ("dropout", "adamw")]:
        diff = best(reg, opt) - best("none", opt)
        low, high = scipy_stats.ttest_rel(best(reg, opt), best("none", opt)).confidence_interval()
        row = rows[(reg, opt)]
        assert row["baseline_regularizer"] == "none"
        assert float(row["best_val_loss_vs_regularizer"]) == pytest.approx(diff.mean())
        assert float(row["best_val_loss_vs_regularizer_low"]) == pytest.approx(low)
        assert float(row["best_val_loss_vs_regularizer_high"]) == pytest.approx(high)
        assert row["best_val_loss_vs_regularizer_test"] == "paired"
        assert row["best_val_loss_vs_regularizer_within_noise"] == str(low <= 0 <= high).lower()
    assert rows[("none", "sgd")]["best_val_loss_vs_regularizer"] == ""  # the baseline itself
    # l2 under sgd: a real effect, far inside the seed spread of either cell
    assert best("none", "sgd").std(ddof=1) > 3 * abs(EFFECT[("l2", "sgd")])
    sentence = next(s for s in text.splitlines() if s.startswith("- Under optimizer=sgd, again"))
    found = re.search(
        r"l2 lowers best val loss by ([\d.]+) \[([\d.]+), ([\d.]+)\] \(paired, 3", sentence
    )
    assert found, sentence
    diff = best("l2", "sgd") - best("none", "sgd")
    low, high = scipy_stats.ttest_rel(best("l2", "sgd"), best("none", "sgd")).confidence_interval()
    tolerance = (high - low) / 10
    assert [float(g) for g in found.groups()] == pytest.approx(
        [-diff.mean(), -high, -low], abs=tolerance
    )
    assert "dropout: within seed noise" in sentence
    # the optimiser: adamw against sgd, per regulariser, also as sentences
    assert "- Under regularizer=dropout, against optimizer=sgd: adamw lowers best val loss" in text
    for name in ("heatmap_best_val_loss.png", "plane.png"):
        assert (sweep / name).read_bytes().startswith(b"\x89PNG"), name
        assert f"]({name})" in text


def test_time_to_target_counted_as_a_plain_loop_would(sweep: Path) -> None:
    assert main([str(sweep), "--no-figures"]) == 0
    baseline = [curves("none", "sgd", s)[0] for s in SEEDS]
    target = max(min(train) for train in baseline)  # the level every baseline run reached
    with open(sweep / "runs.csv") as handle:
        runs = list(csv.DictReader(handle))
    assert len(runs) == 18
    # each path leads to its run from where runs.csv lies, wherever the sweep dir is
    assert all(not Path(r["path"]).is_absolute() for r in runs)
    assert all((sweep / r["path"] / "summary.json").is_file() for r in runs)
    for run in runs:
        train, _ = curves(run["regularizer"], run["optimizer"], int(run["seed"]))
        epoch = first_at_or_below(train, target)
        if epoch is None:
            assert run["epochs_to_train_target"] == run["steps_to_train_target"] == "inf"
        else:
            assert float(run["epochs_to_train_target"]) == epoch + 1
            assert float(run["steps_to_train_target"]) == STEPS_PER_EPOCH * (epoch + 1)
    stalled = next(
        r for r in runs if (r["regularizer"], r["optimizer"], r["seed"]) == ("dropout", "sgd", "2")
    )
    assert stalled["epochs_to_train_target"] == "inf"
    text = (sweep / "report.md").read_text()
    assert f"Targets: training loss {target:.4g} (train_eval/loss; the level every" in text
    assert "| 14 | dropout | sgd | 2 | completed |" in text
    assert "not reached" in next(line for line in text.splitlines() if line.startswith("| 14 |"))
    axes = text.split("## Convergence and generalisation")[1].split("## Groups")[0]
    dropout_sgd = next(line for line in axes.splitlines() if line.startswith("| dropout | sgd"))
    assert "(2/3)" in dropout_sgd  # 2 of its 3 runs reached the target
    # a target given on the command line
    assert main([str(sweep), "--no-figures", "--train-target", "0.5"]) == 0
    assert (
        "training loss 0.5 (train_eval/loss; given: --train-target)"
        in (sweep / "report.md").read_text()
    )
    with open(sweep / "runs.csv") as handle:
        first = next(csv.DictReader(handle))
    epoch = first_at_or_below(curves("none", "sgd", 0)[0], 0.5)
    assert float(first["epochs_to_train_target"]) == epoch + 1


def test_baseline_option_and_its_one_line_errors(sweep: Path, capsys) -> None:
    assert main([str(sweep), "--no-figures", "--baseline", "optimizer=adamw"]) == 0
    text = (sweep / "report.md").read_text()
    assert "Baselines: regularizer=none, optimizer=adamw." in text
    assert "- Under regularizer=none, against optimizer=adamw: sgd raises best val loss" in text
    capsys.readouterr()
    assert main([str(sweep), "--baseline", "regularizer=nonee"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "regopt-report: --baseline regularizer=nonee: 'nonee' is not a value of regularizer "
        "(none, l2, dropout)"
    )
    docs = (Path(__file__).resolve().parents[1] / "docs" / "report.md").read_text()
    assert err in docs  # the page quotes the message as it is
    assert main([str(sweep), "--baseline", "lr=0.1"]) == 2
    assert "'lr' is not a swept key" in capsys.readouterr().err


def test_a_real_sweep_pairs_seeds_into_a_narrower_interval(tmp_path: Path) -> None:
    """none vs l2 x 3 seeds of a tiny digits job, trained in this process: the same seed gives
    both arms the same initial weights and data order, so the paired interval of the effect on
    best val loss is narrower than Welch's unpaired one on the same runs."""
    for job, (reg, seed) in enumerate((r, s) for r in ("none", "l2") for s in SEEDS):
        run_job(
            [
                f"regularizer={reg}",
                f"seed={seed}",
                "data.train_size=96",
                "model.widths=[32]",
                "trainer.max_epochs=3",
                "callbacks=none",
            ],
            tmp_path / str(job),
        )
    runs = load_runs(tmp_path)
    for run in runs:  # a sweep records no run dir override; this harness sets one per job
        del run.overrides["paths.output_dir"]
    build_report(runs, tmp_path)
    by_job = {r.name: r.summary["best"]["val/loss"] for r in runs}
    none, l2 = [by_job[str(j)] for j in range(3)], [by_job[str(j)] for j in range(3, 6)]
    assert len(set(none)) == 3 and none != l2  # the seeds differ, and l2 changed the runs
    with open(tmp_path / "report.csv") as handle:
        row = next(r for r in csv.DictReader(handle) if r["regularizer"] == "l2")
    assert row["best_val_loss_vs_regularizer_test"] == "paired"
    low, high = scipy_stats.ttest_rel(l2, none).confidence_interval()
    paired = (
        float(row["best_val_loss_vs_regularizer_low"]),
        float(row["best_val_loss_vs_regularizer_high"]),
    )
    assert paired == pytest.approx((low, high))
    unpaired = welch_interval(l2, none)
    assert high - low < (unpaired.high - unpaired.low) / 5
    text = (tmp_path / "report.md").read_text()
    assert "- Against regularizer=none: l2" in text and "### Every effect" in text
    assert "| regularizer | l2 | none | - | paired (3) |" in text
    assert (tmp_path / "plane.png").read_bytes().startswith(b"\x89PNG")


def test_cells_without_shared_seeds_fall_back_to_welch(tmp_path: Path) -> None:
    """l2 ran seeds 10-12, its baseline 0-2: nothing to pair, so Welch's interval (as scipy)."""
    for job, seed in enumerate(SEEDS):
        write_run(tmp_path / str(job), "none", "sgd", seed)
        write_run(tmp_path / str(job + 3), "l2", "sgd", seed, label=10 + seed)
    assert main([str(tmp_path), "--no-figures"]) == 0
    with open(tmp_path / "report.csv") as handle:
        row = next(r for r in csv.DictReader(handle) if r["regularizer"] == "l2")
    low, high = scipy_stats.ttest_ind(
        best("l2", "sgd"), best("none", "sgd"), equal_var=False
    ).confidence_interval()
    assert row["best_val_loss_vs_regularizer_test"] == "welch"
    assert float(row["best_val_loss_vs_regularizer_low"]) == pytest.approx(low)
    assert float(row["best_val_loss_vs_regularizer_high"]) == pytest.approx(high)
    assert row["best_val_loss_vs_regularizer_within_noise"] == "true"  # the seed spread hides it
    assert "l2: within seed noise" in (tmp_path / "report.md").read_text()
