"""experiment=calibrate: its grid composes to the strengths it names, its table's effects are
scipy's paired t-intervals, the rule picks as written, and conf/regularizer/ holds the picks."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from scipy import stats as scipy_stats

from conftest import CONF, ROOT, compose_config
from regopt.analysis.calibrate import main
from regopt.config.validate import validate_config

TABLE = ROOT / "docs" / "results" / "calibrate" / "calibrate.csv"
# the strength key of each regulariser in its conf/regularizer/<name>.yaml
KEYS = {
    "l1": "weight",
    "l2": "weight",
    "elastic": "weight",
    "dropout": "p",
    "input_noise": "std",
    "label_smoothing": "smoothing",
    "mixup": "alpha",
    "max_norm": "bound",
    "shift": "max_shift",
}


@pytest.mark.parametrize(("reg", "level"), [("l2", "s1"), ("max_norm", "s4"), ("dropout", "s4")])
def test_a_level_of_the_grid_sets_that_strength(reg: str, level: str, tmp_path: Path) -> None:
    grid = yaml.safe_load((CONF / "experiment" / "calibrate" / "reg" / f"{reg}.yaml").read_text())
    cfg = compose_config(
        ["experiment=calibrate", f"experiment/calibrate/reg={reg}", f"experiment.level={level}"],
        tmp_path,
    )
    validate_config(cfg)
    assert list(cfg.regularizer) == [reg]
    assert cfg.regularizer[reg][KEYS[reg]] == grid["experiment"]["grid"][level]


def fake(path: Path, reg: str, level: str, seed: int, best: float, gap: float, label: str) -> None:
    path.mkdir(parents=True)
    overrides = [
        "experiment=calibrate",
        f"experiment/calibrate/reg={reg}",
        f"experiment.level={level}",
        f"seed={seed}",
    ]
    regs = [] if reg == "none" else [{"name": reg, "label": label}]
    summary = {
        "status": "completed",
        "overrides": overrides,
        "regularizers": regs,
        "best": {"val/loss": best},
        "final": {"gap/loss": gap},
    }
    (path / "summary.json").write_text(json.dumps(summary))


def test_table_effects_are_paired_t_intervals_and_the_rule_picks_as_written(tmp_path) -> None:
    seeds = range(3)
    none_best, none_gap = [0.20, 0.22, 0.25], [0.20, 0.21, 0.23]
    # a: s1 no clear effect, s2 lowers best val loss a little, s3 most (the pick), s4 hurts
    # b: no strength helps best val loss; s2 is the weakest that clearly shrinks the gap
    # c: nothing clear anywhere
    shifts = {
        ("a", "s1"): ((0.01, -0.01, 0.0), (0, 0, 0)),
        ("a", "s2"): ((-0.010, -0.011, -0.012), (-0.1, -0.1, -0.1)),
        ("a", "s3"): ((-0.030, -0.032, -0.031), (-0.1, -0.11, -0.1)),
        ("a", "s4"): ((0.05, 0.06, 0.05), (-0.2, -0.2, -0.21)),
        ("b", "s1"): ((0.01, -0.01, 0.0), (0.01, -0.01, 0.0)),
        ("b", "s2"): ((0.02, -0.01, 0.0), (-0.05, -0.06, -0.05)),
        ("b", "s3"): ((0.03, 0.0, 0.01), (-0.09, -0.1, -0.1)),
        ("c", "s1"): ((0.01, -0.01, 0.0), (0.01, -0.02, 0.0)),
    }
    job = 0
    for seed in seeds:
        fake(tmp_path / "none" / str(seed), "none", "s1", seed, none_best[seed], none_gap[seed], "")
    for (reg, level), (dbest, dgap) in shifts.items():
        for seed in seeds:
            fake(
                tmp_path / "grid" / str(job),
                reg,
                level,
                seed,
                none_best[seed] + dbest[seed],
                none_gap[seed] + dgap[seed],
                f"{reg}(w={level})",
            )
            job += 1
    main([str(tmp_path)])
    with open(tmp_path / "calibrate.csv") as handle:
        rows = {(r["regularizer"], r["level"]): r for r in csv.DictReader(handle)}
    assert len(rows) == len(shifts)
    for (reg, level), (dbest, dgap) in shifts.items():
        row = rows[reg, level]
        assert row["strength"] == f"w={level}"
        for name, delta, base in (
            ("best_val_loss", dbest, none_best),
            ("final_gap_loss", dgap, none_gap),
        ):
            setting = [b + d for b, d in zip(base, delta, strict=True)]
            test = scipy_stats.ttest_rel(setting, base)
            low, high = test.confidence_interval()
            assert float(row[f"{name}_vs_none"]) == pytest.approx(sum(delta) / 3, abs=1e-6)
            if high - low > 1e-9:
                assert float(row[f"{name}_low"]) == pytest.approx(low, abs=1e-5)
                assert float(row[f"{name}_high"]) == pytest.approx(high, abs=1e-5)
                assert row[f"{name}_within_noise"] == str(low <= 0 <= high).lower()
    chosen = {k: r["chosen_by"] for k, r in rows.items() if r["chosen"] == "true"}
    assert chosen == {("a", "s3"): "best val loss", ("b", "s2"): "gap"}
    text = (tmp_path / "calibrate.md").read_text()
    assert "c: no strength of the grid passes the rule." in text
    mean_a3 = sum(b + d for b, d in zip(none_best, shifts["a", "s3"][0], strict=True)) / 3
    assert f"| a | w=s3 | {mean_a3:.4f} |" in text and "**chosen** (best val loss)" in text


def test_the_defaults_are_the_calibration_tables_picks() -> None:
    """Each regulariser the table calibrated has its pick as the default in conf/regularizer/,
    with a comment that points at the table."""
    with open(TABLE) as handle:
        rows = list(csv.DictReader(handle))
    assert {r["regularizer"] for r in rows} == set(KEYS)
    for reg, key in KEYS.items():
        text = (CONF / "regularizer" / f"{reg}.yaml").read_text()
        default = yaml.safe_load(text)[key]
        picks = [r for r in rows if r["regularizer"] == reg and r["chosen"] == "true"]
        assert len(picks) <= 1, reg
        assert "docs/results/calibrate/calibrate.md" in text, reg
        if picks:  # else no strength passed the rule, and the default stayed as it was
            name, _, value = picks[0]["strength"].partition("=")
            assert name == key and float(value) == pytest.approx(float(default)), reg


@pytest.mark.slow
def test_make_calibrate_reduced_writes_the_table_into_its_docs_dir(tmp_path: Path) -> None:
    """`make calibrate` with two regularisers at their extreme strengths, 2 seeds, 2 epochs: the
    none and grid sweeps run, and the table (one row per strength, effects against none over
    both seeds) lands in CAL_DOCS."""
    docs = tmp_path / "docs"
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "calibrate",
            f"CAL_DIR={tmp_path / 'cal'}",
            f"CAL_DOCS={docs}",
            "ARGS=seed=0,1 trainer.max_epochs=2 callbacks=none",
            "CAL_GRID_ARGS=experiment/calibrate/reg=l2,max_norm experiment.level=s1,s4",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(docs / "calibrate.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["regularizer"], r["level"]) for r in rows] == [
        ("l2", "s1"),
        ("l2", "s4"),
        ("max_norm", "s1"),
        ("max_norm", "s4"),
    ]
    assert [r["strength"] for r in rows] == ["weight=0.0001", "weight=0.1", "bound=4", "bound=0.5"]
    assert all(r["best_val_loss_n"] == "2" and r["best_val_loss_test"] == "paired" for r in rows)
    assert (docs / "calibrate.md").read_text().startswith("# Calibration of the default strengths")
