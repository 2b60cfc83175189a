"""experiment=adamw_decoupling: its four grids, the per-step decay they give, and its report on
landscapes whose ridge and separability are known in closed form."""

from __future__ import annotations

import csv
import itertools
import json
import math
import re

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from conftest import CONF, ROOT, compose_config, run_cli
from regopt.analysis.decoupling import PAIRS, report
from regopt.config.resolvers import register_resolvers
from regopt.config.validate import validate_config

DECAYS = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]


def pair_jobs(pair: str) -> list[list[str]]:
    """The jobs `regopt-train -m experiment=adamw_decoupling .../pair=<pair>` launches."""
    register_resolvers()
    chosen = ["experiment=adamw_decoupling", f"experiment/adamw_decoupling/pair={pair}"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", chosen, return_hydra_config=True)
    params = cfg.hydra.sweeper.params
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    axes = [[f"{o.key_or_group}={v}" for v in o.sweep_string_iterator()] for o in parsed]
    return [[*chosen, *job] for job in itertools.product(*axes)]


def test_the_pairs_of_the_group_are_the_reports_pairs() -> None:
    group = CONF / "experiment" / "adamw_decoupling" / "pair"
    assert sorted(p.stem for p in group.glob("*.yaml")) == sorted(PAIRS)


@pytest.mark.parametrize("pair", ["adamw", "sgd_l2"])
def test_a_pair_is_five_lrs_by_five_strengths_by_two_seeds(pair, tmp_path) -> None:
    jobs = pair_jobs(pair)
    assert len(jobs) == 50
    cfg = compose_config(jobs[-1], tmp_path)
    validate_config(cfg)
    assert cfg.name == "adamw_decoupling" and cfg.scheduler._target_.endswith("CosineAnnealingLR")
    if pair == "adamw":  # decoupled: the shrink per step lr * weight_decay is the grid's d
        assert cfg.optimizer._target_ == "torch.optim.AdamW" and cfg.regularizer == {}
        assert cfg.optimizer.lr * cfg.optimizer.weight_decay == pytest.approx(DECAYS[-1])
    else:
        assert cfg.optimizer.momentum == 0.9 and cfg.optimizer.weight_decay == 0
        assert cfg.regularizer.l2.weight == 0.1 and cfg.optimizer.lr == 0.3


@pytest.mark.parametrize("lr", [1e-4, 3e-2])
def test_per_lr_decay_shrinks_by_d_a_step_whatever_the_lr(lr) -> None:
    """torch's AdamW with weight_decay = ${regopt.per_lr:d}: with a zero gradient (no Adam step)
    one step multiplies the weights by 1 - d, at any lr."""
    register_resolvers()
    node = OmegaConf.create({"optimizer": {"lr": lr, "weight_decay": "${regopt.per_lr:1e-3}"}})
    weight = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = torch.optim.AdamW([weight], lr=lr, weight_decay=node.optimizer.weight_decay)
    weight.grad = torch.zeros_like(weight)
    opt.step()
    assert weight.detach().tolist() == pytest.approx([1 - 1e-3, -2 * (1 - 1e-3)], rel=1e-12)


def test_per_lr_outside_an_optimiser_node_is_left_for_the_job() -> None:
    """Hydra's sweeper reads its params (no lr beside them) before any job: the value must reach
    each job as typed, to be resolved against that job's lr."""
    register_resolvers()
    params = OmegaConf.create({"params": {"optimizer.weight_decay": "${regopt.per_lr:1e-3}"}})
    passed_on = params.params["optimizer.weight_decay"]
    assert passed_on.startswith("${regopt.per_lr:")
    job = OmegaConf.create({"optimizer": {"lr": 0.02, "weight_decay": passed_on}})
    assert job.optimizer.weight_decay == pytest.approx(1e-3 / 0.02, rel=1e-15)


def write_job(run_dir, pair: str, lr: float, strength: float, loss: float | None) -> None:
    """A finished job's record as a run writes it: summary, resolved config, metrics."""
    run_dir.mkdir(parents=True)
    family, decoupled = ("adam" if pair.startswith("adam") else "sgd"), pair.endswith("w")
    target = {"adam": "torch.optim.Adam", "sgd": "torch.optim.SGD"}[family]
    if pair == "adamw":
        target = "torch.optim.AdamW"
    optimizer = {"_target_": target, "lr": lr, "weight_decay": strength / lr if decoupled else 0}
    if family == "sgd":
        optimizer["decoupled_weight_decay"] = decoupled
    regularizer = {} if decoupled else {"l2": {"weight": strength}}
    OmegaConf.save({"optimizer": optimizer, "regularizer": regularizer}, run_dir / "config.yaml")
    (run_dir / "metrics.csv").write_text("epoch,step,val/loss\n0,49,1.0\n1,99,1.0\n")
    status = "diverged" if loss is None else "completed"
    record = {"val/loss": loss}
    summary = {"status": status, "best": record, "final": record}
    (run_dir / "summary.json").write_text(json.dumps(summary))


def test_report_finds_the_ridge_and_the_separability_of_known_landscapes(tmp_path) -> None:
    """SGDW: log loss = (log10 lr + 2)^2 + (log10 d + 3)^2, additive, its best d the same at every
    lr (slope 0, interaction share 0). SGD + L2: log loss = (log10 lr + log10 w + 4.6)^2, a
    diagonal valley: best w = 10^-4.6 / lr (slope -1), which the parabola finds between grid
    points.
    One SGD + L2 job diverged: its cell is left out of the ridge and counted."""
    lrs, strengths = [1e-3, 1e-2, 1e-1], [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    cells = list(itertools.product(lrs, strengths))
    for job, (lr, s) in enumerate(cells):
        loss = math.exp((math.log10(lr) + 2) ** 2 + (math.log10(s) + 3) ** 2)
        write_job(tmp_path / "sgdw" / str(job), "sgdw", lr, s, loss)
    for job, (lr, s) in enumerate(cells):
        loss = math.exp((math.log10(lr) + math.log10(s) + 4.6) ** 2)
        diverged = (lr, s) == (1e-1, 1e-1)
        write_job(tmp_path / "sgd_l2" / str(job), "sgd_l2", lr, s, None if diverged else loss)
    text = report(tmp_path).read_text()
    with open(tmp_path / "decoupling.csv", newline="") as handle:
        rows = {(r["pair"], r["metric"]): r for r in csv.DictReader(handle)}
    sgdw, sgd_l2 = rows["sgdw", "best"], rows["sgd_l2", "best"]
    assert float(sgdw["ridge_slope"]) == pytest.approx(0, abs=1e-9)
    assert float(sgdw["interaction_share"]) == pytest.approx(0, abs=1e-9)
    assert float(sgdw["min_loss"]) == 1 and float(sgdw["lr_at_min"]) == 1e-2
    assert float(sgdw["strength_at_min"]) == 1e-3
    assert float(sgdw["strength_norm_at_min"]) == pytest.approx(1e-3 * 10)  # sqrt(100 steps)
    assert float(sgd_l2["ridge_slope"]) == pytest.approx(-1)
    assert float(sgd_l2["ridge_r"]) == pytest.approx(-1)
    assert float(sgd_l2["interaction_share"]) > 0.5
    # every lr reaches the valley's floor: all are good, and their ridge is the same line
    assert sgd_l2["good_lrs"] == "3" and float(sgd_l2["good_ridge_slope"]) == pytest.approx(-1)
    assert sgdw["good_lrs"] == "1" and sgdw["good_ridge_slope"] == "nan"  # lr 1e-2 alone
    assert sgd_l2["diverged_cells"] == "1" and sgd_l2["strength_norm_at_min"] == ""
    assert "| SGD + L2 | best val loss |" in text and "| 0.1 | " in text
    assert (tmp_path / "decoupling.png").stat().st_size > 10_000


@pytest.mark.slow
def test_a_tiny_real_sweep_stacks_and_reports(tmp_path) -> None:
    """Two lrs x two decays of SGDW through the CLI: all stacked, each job's decay per step d."""
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "experiment=adamw_decoupling",
        "experiment/adamw_decoupling/pair=sgdw",
        "logger=none",
        "trainer.max_epochs=2",
        "optimizer.lr=0.01,0.1",  # the command line's sweeps replace the experiment's
        "optimizer.weight_decay=${regopt.per_lr:1e-4},${regopt.per_lr:1e-2}",
        "seed=0",
        f"hydra.sweep.dir={sweep / 'sgdw'}",
    ]
    result = run_cli(args, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    # every job stacked: one stack, or one per worker (`n_jobs: auto` is a worker per CPU)
    sizes = re.findall(r"train as one stack of (\d+)", result.stderr + result.stdout)
    assert sizes and sum(map(int, sizes)) == 4, sizes
    # each job's hydra.yaml records the workers that ran: one per stack here (at most the CPUs)
    launcher = OmegaConf.load(sweep / "sgdw" / "0" / ".hydra" / "hydra.yaml").hydra.launcher
    assert launcher.n_jobs == len(sizes), (launcher.n_jobs, sizes)
    # the sweep's progress reads the interpolated override as typed, not resolved
    assert f"sweep: 4 jobs in {sweep / 'sgdw'}" in result.stderr
    cells = set()
    for job in range(4):
        opt = json.loads((sweep / "sgdw" / str(job) / "summary.json").read_text())["optimizer"]
        assert opt["weight_decay_kind"] == "decoupled"
        cells.add((opt["lr"], round(opt["lr"] * opt["weight_decay"], 12)))
    assert cells == {(0.01, 1e-4), (0.01, 1e-2), (0.1, 1e-4), (0.1, 1e-2)}
    report(sweep)
    with open(sweep / "decoupling.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["pair"], r["cells"]) for r in rows] == [("sgdw", "4"), ("sgdw", "4")]


RESULTS = ROOT / "docs" / "results" / "adamw_decoupling"
SECTION = "## L2 with Adam is not weight decay"
NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.])")


def _summary_rows(md: str) -> list[str]:
    """The rows of decoupling.md's first table (one per pair and metric)."""
    table = md.split("\n\n")[2]
    return [line for line in table.splitlines()[2:] if line.startswith("| ")]


def test_the_committed_table_is_its_csv_as_rounded() -> None:
    with open(RESULTS / "decoupling.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    lines = _summary_rows((RESULTS / "decoupling.md").read_text())
    assert len(lines) == len(rows) == 2 * len(PAIRS)
    keys = ["min_loss", "lr_at_min", "strength_at_min", "strength_norm_at_min", "ridge_slope"]
    keys += ["ridge_r", "good_lrs", "good_ridge_slope", "interaction_share"]
    for line, row in zip(lines, rows, strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == PAIRS[row["pair"]], line
        for cell, key in zip(cells[2:11], keys, strict=True):
            if key == "good_lrs":
                cell = cell.split(" of ")[0]
            if cell == "-":
                assert row[key] in ("", "nan"), (line, key)
                continue
            decimals = len(cell.partition(".")[2]) if "e" not in cell else None
            expected = float(row[key]) if decimals is None else round(float(row[key]), decimals)
            assert float(cell) == pytest.approx(expected, rel=5e-3 if "." not in cell else 0), key
        assert cells[11] == f"{row['diverged_cells']} of {row['cells']}", line


def test_the_docs_section_quotes_the_committed_table() -> None:
    """docs/concepts.md's section shows every row of the table, and every decimal number in its
    sentences is one of the table's cells."""
    text = (ROOT / "docs" / "concepts.md").read_text()
    assert SECTION in text
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = _summary_rows((RESULTS / "decoupling.md").read_text())
    assert all(row in body for row in rows)
    cells = {c.strip() for row in rows for c in row.strip("|").split("|")}
    prose = [line for line in body.splitlines() if not line.startswith(("| ", "    ", "```"))]
    quoted = NUMBER.findall("\n".join(prose))
    assert quoted, "the section quotes no number"
    for number in quoted:
        assert number in cells, number
    assert "![" in body and "results/adamw_decoupling/decoupling.png" in body
