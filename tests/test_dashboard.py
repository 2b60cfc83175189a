"""The W&B workspace and sweep report name only keys that regopt's runs really log, and
wandb-workspaces' own models accept their specs; building them touches no network."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from regopt.tracking.offline_records import read_run
from test_cli import ConnectionCounter
from test_wandb_isolation import closed_port

JOBS = ["optimizer=sgd,nesterov", "regularizer=[l2,dropout]", "trainer.max_epochs=3"]


def named_keys(spec: dict) -> dict[str, set[str]]:
    """What a spec's panels and run sets ask W&B for, read from the JSON that save() sends."""
    named: dict[str, set[str]] = {
        "history": set(),
        "summary": set(),
        "config": set(),
        "regex": set(),
    }

    def accessor(text: str) -> None:
        section, _, name = text.partition(":")
        if section in ("config", "summary"):
            named[section].add(name.removesuffix(".value") if section == "config" else name)

    def panel(p: dict) -> None:
        kind, config = p["viewType"], p.get("config", {})
        if kind == "Run History Line Plot":
            named["history"].update([config["xAxis"], *config.get("metrics", [])])
            if config.get("metricRegex"):
                named["regex"].add(config["metricRegex"])
        elif kind in ("Scalar Chart", "Bar Chart"):
            for metric in config["metrics"]:
                assert metric.startswith("summary_metrics."), metric
                named["summary"].add(metric.removeprefix("summary_metrics."))
        elif kind == "Parallel Coordinates Plot":
            for column in config["columns"]:
                accessor(column["accessor"])
        elif kind == "Media Browser":
            named["summary"].update(config["mediaKeys"])  # an image's last value: the summary
        else:
            assert kind == "Run Comparer", f"a panel kind this test does not check: {kind}"

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "viewType" in node and node["viewType"] != "Panel Grid":
                panel(node)
            if "runFeed" in node:
                for key in node.get("grouping", []):
                    if key["section"] == "config":
                        named["config"].add(key["name"].removesuffix(".value"))
                for column in node["runFeed"].get("columnOrder", []):
                    accessor(column)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return named


def missing_keys(spec: dict, runs: list[dict]) -> list[str]:
    """Every key the spec names that one of `runs` lacks, as `<where>:<key>`."""
    named, missing = named_keys(spec), []
    for run in runs:
        history = {key for row in run["history"] for key in row}
        missing += [f"history:{k}" for k in sorted(named["history"] - history)]
        missing += [f"summary:{k}" for k in sorted(named["summary"] - set(run["summary"]))]
        missing += [f"config:{k}" for k in sorted(named["config"] - set(run["config"]))]
        missing += [
            f"regex:{r}"
            for r in sorted(named["regex"])
            if not any(re.fullmatch(r, key) for key in history)
        ]
    return missing


def python_m(module: str, args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two jobs of 3 epochs, logger=wandb offline; then both specs, every address W&B could
    reach pointing at a counting listener."""
    root = tmp_path_factory.mktemp("dashboard")
    counter = ConnectionCounter()
    url = f"http://127.0.0.1:{counter.port}"
    env = {
        "WANDB_BASE_URL": url,
        "HTTP_PROXY": url,
        "HTTPS_PROXY": url,
        "http_proxy": url,
        "https_proxy": url,
        "NO_PROXY": "",
        "no_proxy": "",
    }
    full_env = {**os.environ, "REGOPT_ROOT": str(root), **env}
    full_env.pop("WANDB_API_KEY", None)
    try:
        result = run_cli(["-m", f"hydra.sweep.dir={root}/sweep", *JOBS], root, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        records = sorted((root / "sweep").glob("*/wandb/offline-run-*/run-*.wandb"))
        runs = [read_run(path) for path in records]
        group = runs[0]["run"]["group"]
        workspace = python_m(
            "regopt.dashboard.cli",
            ["--dry-run", "--group", group, "--out", str(root / "workspace.json")],
            full_env,
        )
        report = python_m(
            "regopt.report.cli",
            [str(root / "sweep"), "--wandb", "--dry-run", "--no-figures"],
            full_env,
        )
    finally:
        counter.close()
    for done in (workspace, report):
        assert done.returncode == 0, done.stderr[-3000:]
    return {
        "root": root,
        "runs": runs,
        "group": group,
        "connections": counter.connections,
        "workspace": json.loads((root / "workspace.json").read_text()),
        "report": json.loads((root / "sweep" / "wandb_report.json").read_text()),
    }


def test_building_the_specs_touches_no_network(sweep: dict) -> None:
    assert len(sweep["runs"]) == 2 and all(run["finished"] for run in sweep["runs"])
    assert sweep["connections"] == 0


@pytest.mark.parametrize("kind", ["workspace", "report"])
def test_every_key_a_panel_names_is_logged_by_the_sweeps_runs(sweep: dict, kind: str) -> None:
    named = named_keys(sweep[kind])
    assert {"val/loss", "gap/loss", "val/epochs_since_best", "grad/ratio", "opt/lr"} <= named[
        "history"
    ]
    assert {
        "verdict",
        "onset_epoch",
        "diagnosis/kind",
        "best/val/loss",
        "final/gap/loss",
        "status",
        "curves",
    } <= named["summary"]
    assert {"choices/regularizer", "choices/optimizer", "seed"} <= named["config"]
    assert missing_keys(sweep[kind], sweep["runs"]) == []


def test_a_key_regopt_does_not_log_is_caught(sweep: dict) -> None:
    """The check above can fail: a panel on a misspelt key, a config column nobody writes."""
    spec = json.loads(json.dumps(sweep["workspace"]))
    section = spec["spec"]["section"]
    section["panelBankConfig"]["sections"][0]["panels"][0]["config"]["metrics"].append("val/losss")
    section["runSets"][0]["runFeed"]["columnOrder"].append("config:choices/optimiser.value")
    assert missing_keys(spec, sweep["runs"][:1]) == [
        "history:val/losss",
        "config:choices/optimiser",
    ]


def test_options_are_config_keys_of_their_own(sweep: dict) -> None:
    configs = [run["config"] for run in sweep["runs"]]
    assert sorted(c["choices/optimizer"] for c in configs) == ["nesterov", "sgd"]
    for config in configs:
        assert config["choices/regularizer"] == "l2+dropout"
        assert (config["choices/data"], config["choices/model"]) == ("digits", "mlp")
        assert config["choices/experiment"] == "none"


def test_wandb_workspaces_own_models_accept_both_specs(sweep: dict) -> None:
    from regopt.dashboard.spec import report_from_spec, workspace_from_spec

    workspace = workspace_from_spec(sweep["workspace"])
    assert [s.name for s in workspace.sections] == [
        "Learning curves",
        "Overfitting",
        "Regularisation vs optimisation",
        "Sweep",
    ]
    # only the sweep's runs: its W&B group, as the library writes the filter back
    assert workspace.runset_settings.filters == f"Metric(\"Group\") == '{sweep['group']}'"
    report = report_from_spec(sweep["report"])
    grids = [b for b in report.blocks if type(b).__name__ == "PanelGrid"]
    assert len(grids) == 4 and sum(len(g.panels) for g in grids) == sum(
        len(s.panels) for s in workspace.sections
    )
    assert report.title == f"regopt: {sweep['group']}"
    text = [b.text for b in report.blocks if type(b).__name__ == "MarkdownBlock"]
    assert any("nesterov" in t and "sgd" in t for t in text)  # report.md's tables


def saving_env(tmp_path: Path, key: str | None) -> dict:
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "NETRC": str(tmp_path / "no-netrc"),
        "WANDB_BASE_URL": f"http://127.0.0.1:{closed_port()}",
    }
    env.pop("WANDB_API_KEY", None)
    return {**env, "WANDB_API_KEY": key} if key else env


@pytest.mark.parametrize(
    ("key", "code", "says"), [(None, 2, "needs a W&B key"), ("a" * 40, 1, "unreachable")]
)
def test_saving_without_a_key_or_a_server_says_so_in_one_line(
    sweep: dict, tmp_path: Path, key: str | None, code: int, says: str
) -> None:
    env = saving_env(tmp_path, key)
    for module, args in [
        ("regopt.dashboard.cli", ["--entity", "me"]),
        (
            "regopt.report.cli",
            [str(sweep["root"] / "sweep"), "--wandb", "--entity", "me", "--no-figures"],
        ),
    ]:
        result = python_m(module, args, env)
        assert result.returncode == code, result.stderr[-2000:]
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and says in lines[0], result.stderr[-2000:]
        assert "Traceback" not in result.stdout + result.stderr


def test_the_layout_picture_in_docs_is_drawn_from_the_workspace_the_command_builds() -> None:
    """Regenerate it with `make dashboard ARGS="--dry-run --layout docs/wandb_workspace.png"`."""
    from regopt.dashboard.cli import PLACEHOLDER_ENTITY
    from regopt.dashboard.layout import drawn_labels, layout_labels
    from regopt.dashboard.spec import to_spec
    from regopt.dashboard.workspace import build_workspace

    spec = to_spec(build_workspace(PLACEHOLDER_ENTITY, "regopt"))
    labels = layout_labels(spec)
    assert drawn_labels(ROOT / "docs" / "wandb_workspace.png") == labels
    panels = [
        p for s in spec["spec"]["section"]["panelBankConfig"]["sections"] for p in s["panels"]
    ]
    assert sum(len(section) - 1 for section in labels[1:]) == len(panels)  # every panel drawn
