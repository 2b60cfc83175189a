"""The benchmark compares like with like, and refreshes only its own part of the docs page."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_block_is_replaced_and_the_analysis_kept(tmp_path) -> None:
    bench = _bench_module()
    page = tmp_path / "benchmarks.md"
    bench.write_between_markers(page, "first table\n")
    assert page.read_text() == f"# Benchmarks\n\n{bench.START}\nfirst table\n{bench.END}\n"
    page.write_text(
        page.read_text().replace("# Benchmarks\n", "# Benchmarks\nintro\n")
        + "## Where the time goes\nanalysis\n"
    )
    bench.write_between_markers(page, "second table\n")
    text = page.read_text()
    assert "first table" not in text and "second table" in text
    assert text.startswith("# Benchmarks\nintro\n") and text.endswith("analysis\n")


@pytest.mark.slow
def test_bench_runs_every_variant_on_the_same_work(tmp_path) -> None:
    out = tmp_path / "bench.md"
    result = subprocess.run(
        [sys.executable, "scripts/bench.py", "--reps", "1", "--no-sweep", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [
        line
        for line in out.read_text().splitlines()
        if re.match(r"\| (plain PyTorch|bare Lightning|regopt,)", line)
    ]
    assert len(rows) == 4
    # the same model, data, batches and updates: every variant ends at the same validation loss
    val_losses = {row.strip("|").split("|")[-1].strip() for row in rows}
    assert len(val_losses) == 1, rows
    assert rows[0].split("|")[3].strip() == "1.00x"
    assert "`regopt-train --help`" in out.read_text()


@pytest.mark.slow
def test_members_trained_at_once_end_where_their_own_runs_end() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "scripts/bench_ensemble.py",
            "--members",
            "3",
            "--epochs",
            "2",
            "--width",
            "16",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    # stacked weights, one batched matmul per layer, per-member lr: the same training per member
    assert measured["max_relative_val_loss_difference"] < 1e-5
    assert measured["one_after_another_s"] > 0 and measured["all_at_once_s"] > 0


@pytest.mark.slow
def test_bench_sweep_quick_runs_one_grid_under_every_launcher(tmp_path) -> None:
    out = tmp_path / "bench.md"
    result = subprocess.run(
        [sys.executable, "scripts/bench_sweep.py", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [
        line.strip("|").split("|")
        for line in out.read_text().splitlines()
        if line.startswith("| regularizer=none,l2")
    ]
    assert [row[2].strip() for row in rows] == ["basic", "parallel", "stacked", "stacked2"]
    assert all(row[9].strip() == "4/4" for row in rows)  # every job completed
    # one stack of the 4 jobs; on two workers, two stacks of 2
    assert [row[8].strip() for row in rows] == ["0", "0", "4", "4"]
    assert all(float(row[10]) < 1e-4 for row in rows[2:])  # each stacked job ends as its basic run
    assert all(float(row[6]) > 0 for row in rows)  # the CPU seconds of the sweep
