"""docs/search.md's numbers are those of scripts/search_numbers.py's run (its csv), and they say
what the doc says: pruning trained at most half the epochs of no pruning, for a best value within
the unpruned search's seed spread."""

from __future__ import annotations

import csv
import re
import statistics

from conftest import ROOT

DOC = ROOT / "docs" / "search.md"
CSV = ROOT / "docs" / "results" / "search" / "search_numbers.csv"


def numbers() -> list[dict[str, str]]:
    with open(CSV, newline="") as handle:
        return list(csv.DictReader(handle))


def doc_rows() -> list[list[str]]:
    """The per-seed rows of the doc's table (pruner, seed, trials, ...)."""
    rows = []
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[1].isdigit():
            rows.append(cells)
    return rows


def test_the_docs_table_is_the_scripts_run() -> None:
    expected = [
        [
            r["pruner"],
            r["seed"],
            r["trials"],
            r["completed"],
            r["pruned"],
            r["epochs"],
            r["wall_s"],
            r["best"],
        ]
        for r in numbers()
    ]
    assert doc_rows() == expected


def test_pruning_trains_at_most_half_the_epochs_for_a_best_value_within_the_seed_spread() -> None:
    rows = numbers()
    by = {
        p: [r for r in rows if r["pruner"] == p] for p in dict.fromkeys(r["pruner"] for r in rows)
    }
    unpruned = by.pop("none")
    epochs = statistics.fmean(float(r["epochs"]) for r in unpruned)
    best = [float(r["best"]) for r in unpruned]
    text = DOC.read_text()
    for pruner, arm in by.items():
        share = statistics.fmean(float(r["epochs"]) for r in arm) / epochs
        claim = re.search(rf"`{pruner}` trained (\d+)% of the epochs", text)
        assert claim, f"docs/search.md states the share of epochs for {pruner}"
        assert int(claim[1]) == round(100 * share)
        if pruner == "successive_halving":  # the doc's claim: at most half, as good
            assert share <= 0.5
            mean = statistics.fmean(float(r["best"]) for r in arm)
            assert mean <= statistics.fmean(best) + statistics.stdev(best)
