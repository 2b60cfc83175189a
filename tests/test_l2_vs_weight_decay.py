"""experiment=l2_vs_weight_decay: the sweep runs, and its record says which pairs matched."""

from __future__ import annotations

import json

import pytest

from conftest import read_summary, run_cli
from regopt.analysis.compare import compare_runs, to_markdown

# same as the experiment, smaller: 10% of the digits, 32 hidden units, 3 epochs, no W&B
SMALL = ["data.train_fraction=0.1", "model.widths=[32]", "trainer.max_epochs=3", "logger=none"]


def verdicts(result: dict) -> dict[tuple[str, str, str], str]:
    """(what the two runs share, one value, the other) -> match | differ."""
    out = {}
    for pair in result["pairs"]:
        shared = ",".join(f"{k}={v}" for k, v in sorted(pair["shared"].items()))
        out[(shared, pair["a_value"], pair["b_value"])] = pair["verdict"]
    return out


EXPECTED = {
    # plain SGD: the penalty, coupled decay and decoupled decay are one and the same update
    ("optimizer=sgd", "penalty", "coupled"): "match",
    ("optimizer=sgd", "penalty", "decoupled"): "match",
    ("optimizer=sgd", "coupled", "decoupled"): "match",
    # Adam: the penalty is Adam's coupled weight_decay, and neither is decoupled decay (AdamW)
    ("optimizer=adam", "penalty", "coupled"): "match",
    ("optimizer=adam", "penalty", "decoupled"): "differ",
    ("optimizer=adam", "coupled", "decoupled"): "differ",
    # and the two optimisers never end at the same weights
    ("l2_form=penalty", "sgd", "adam"): "differ",
    ("l2_form=coupled", "sgd", "adam"): "differ",
    ("l2_form=decoupled", "sgd", "adam"): "differ",
}


@pytest.mark.slow
def test_full_experiment_as_documented(tmp_path) -> None:
    """The acceptance command itself: 6 runs of 30 epochs in float64, W&B offline (minutes)."""
    result = run_cli(["-m", "experiment=l2_vs_weight_decay"], tmp_path, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "logs" / "multiruns").iterdir()
    written = json.loads((sweep / "weights_comparison.json").read_text())
    assert verdicts(written) == EXPECTED
    assert "final weights compared" in result.stderr + result.stdout


@pytest.mark.slow
def test_sweep_records_which_pairs_matched(tmp_path) -> None:
    result = run_cli(["-m", "experiment=l2_vs_weight_decay", *SMALL], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "logs" / "multiruns").iterdir()
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert len(jobs) == 6
    summaries = [read_summary(j) for j in jobs]
    assert all(s["status"] == "completed" for s in summaries)
    kinds = {
        (
            s["optimizer"]["name"],
            tuple(r["name"] for r in s["regularizers"]),
            s["optimizer"]["weight_decay"],
            s["optimizer"]["weight_decay_kind"],
        )
        for s in summaries
    }
    assert kinds == {
        ("sgd", ("l2",), 0.0, "coupled"),
        ("sgd", (), 0.01, "coupled"),
        ("sgd", (), 0.01, "decoupled"),
        ("adam", ("l2",), 0.0, "coupled"),
        ("adam", (), 0.01, "coupled"),
        ("adam", (), 0.01, "decoupled"),
    }

    written = json.loads((sweep / "weights_comparison.json").read_text())
    assert written["swept"] == ["l2_form", "optimizer"]
    assert (sweep / "weights_comparison.md").read_text() == to_markdown(written)
    got = verdicts(written)
    assert got == EXPECTED
    distances = {p["verdict"]: [] for p in written["pairs"]}
    for pair in written["pairs"]:
        distances[pair["verdict"]].append(pair["relative_distance"])
    assert max(distances["match"]) < 1e-9 < 1e-4 < min(distances["differ"])  # far apart
    assert compare_runs(sweep)["pairs"] == written["pairs"]  # the CLI's function, same answer
