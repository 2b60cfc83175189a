"""docs/report.md reads the committed reg_vs_opt sweep (docs/results/reg_vs_opt/): every effect it
quotes is a row of its table, and every row of the table is report.csv's number, as rounded."""

from __future__ import annotations

import csv
import re

from conftest import ROOT

DOC = ROOT / "docs" / "report.md"
CSV = ROOT / "docs" / "results" / "reg_vs_opt" / "report.csv"
SECTION = "## Reading reg_vs_opt"
HEADER = "| regularizer | optimizer | against | metric | effect [95% interval] | test |"
COLUMNS = {
    "best val loss": "best_val_loss",
    "final gap/loss": "final_gap_loss",
    "steps to train target": "steps_to_train_target",
}
NUMBER = r"[+-]?\d+(?:\.\d+)?"
QUOTE = re.compile(rf"({NUMBER}) \[({NUMBER}), ({NUMBER})\]")
SPREAD = re.compile(rf"({NUMBER}) ± ({NUMBER})")  # a cell's mean ± std over seeds


def section() -> str:
    text = DOC.read_text()
    assert SECTION in text
    return text.split(SECTION, 1)[1].split("\n## ", 1)[0]


def same(quoted: str, value: str) -> bool:
    """`quoted` is `value` rounded to the quote's decimals."""
    decimals = len(quoted.partition(".")[2])
    return float(quoted) == round(float(value), decimals)


def test_every_quoted_effect_is_report_csvs() -> None:
    body = section()
    with open(CSV) as handle:
        rows = {(r["regularizer"], r["optimizer"]): r for r in csv.DictReader(handle)}
    lines = body.split(HEADER, 1)[1].strip().splitlines()[1:]
    table = [line for line in lines if line.startswith("| ")]
    assert len(table) >= 6
    quoted_in_table = set()
    for line in table:
        reg, opt, against, label, quote, test = (c.strip() for c in line.strip("|").split("|"))
        factor, baseline = against.split("=")
        row, column = rows[reg, opt], f"{COLUMNS[label]}_vs_{factor}"
        assert row[f"baseline_{factor}"] == baseline, line
        mean, low, high = QUOTE.fullmatch(quote.removesuffix(" within seed noise")).groups()
        assert same(mean, row[column]) and same(low, row[f"{column}_low"]), line
        assert same(high, row[f"{column}_high"]), line
        noise = row[f"{column}_within_noise"] == "true"
        assert quote.endswith("within seed noise") == noise, line
        assert test == f"{row[f'{column}_test']} ({row[f'{column}_n']})", line
        quoted_in_table.add(quote.removesuffix(" within seed noise"))
    prose = body.split(HEADER, 1)[0] + "\n".join(lines[len(table) :])
    for match in QUOTE.finditer(prose):  # the sentences quote the table, never another number
        assert match.group(0) in quoted_in_table, match.group(0)
    spreads = {(r["best_val_loss_mean"], r["best_val_loss_std"]) for r in rows.values()}
    spreads |= {(r["final_gap_loss_mean"], r["final_gap_loss_std"]) for r in rows.values()}
    for match in SPREAD.finditer(prose):  # a quoted mean ± std is a cell's, as rounded
        mean, std = match.groups()
        assert any(same(mean, m) and same(std, s) for m, s in spreads), match.group(0)
