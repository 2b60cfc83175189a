"""docs/data_and_models.md's MNIST-1D benchmark quotes the committed experiment=mnist1d sweep
(docs/results/mnist1d/): every row of its table and every mean ± std in its prose is
mnist1d.csv's number, as rounded, and the paper's numbers are the report's."""

from __future__ import annotations

import csv
import re

from conftest import ROOT
from regopt.analysis.mnist1d import PUBLISHED

DOC = ROOT / "docs" / "data_and_models.md"
CSV = ROOT / "docs" / "results" / "mnist1d" / "mnist1d.csv"
SECTION = "## MNIST-1D's benchmark: `experiment=mnist1d`"
HEADER = (
    "| model | parameters | seeds | paper | paper's code (2020 / 2024) | regopt mean ± std "
    "| regopt − paper |"
)
SPREAD = re.compile(r"(\d+\.\d) ± (\d+\.\d)")
DECIMAL = re.compile(r"(?<![\d.])\d+\.\d(?![\d.])")  # an accuracy or a difference, in %


def section() -> str:
    text = DOC.read_text()
    assert SECTION in text
    return text.split(SECTION, 1)[1].split("\n## ", 1)[0]


def pct(value: str) -> str:
    return f"{100 * float(value):.1f}"


def test_every_quoted_accuracy_is_the_generated_tables() -> None:
    with open(CSV) as handle:
        rows = {r["model"]: r for r in csv.DictReader(handle)}
    assert set(rows) == set(PUBLISHED)  # all four models ran to the end
    body = section()
    lines = body.split(HEADER, 1)[1].strip().splitlines()[1:]
    table = [line for line in lines if line.startswith("| ")]
    assert [line.split("|")[1].strip() for line in table] == list(PUBLISHED)
    for line in table:
        model, params, seeds, paper, code, spread, diff = (
            c.strip() for c in line.strip("|").split("|")
        )
        row = rows[model]
        assert params == f"{int(row['params']):,}" and seeds == row["runs"], line
        assert paper == pct(row["paper_acc"]), line
        assert code == f"{pct(row['paper_code_2020_acc'])} / {pct(row['paper_code_2024_acc'])}"
        assert spread == f"{pct(row['acc_mean'])} ± {pct(row['acc_std'])}", line
        assert diff == f"{100 * float(row['diff_vs_paper']):+.1f}", line
    quoted = {(pct(r["acc_mean"]), pct(r["acc_std"])) for r in rows.values()}
    prose = body.split(HEADER, 1)[0] + "\n".join(lines[len(table) :])
    for match in SPREAD.finditer(prose):
        assert match.groups() in quoted, match.group(0)
    numbers = {pct(v) for r in rows.values() for k, v in r.items() if k not in ("model", "runs")}
    numbers |= {pct(str(abs(float(r["diff_vs_paper"])))) for r in rows.values()}
    for match in DECIMAL.finditer(prose):  # every other number quoted is the table's too
        assert match.group(0) in numbers, match.group(0)
