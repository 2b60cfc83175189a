"""The study's view: optuna-dashboard serves a sweep's study on loopback, and its HTTP API shows
the study's trials as they are stored. Slow: the server takes several seconds to start."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str, deadline: float) -> dict:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.slow
def test_the_dashboard_serves_a_sweeps_study_on_loopback(tmp_path: Path) -> None:
    import optuna
    from optuna.trial import TrialState, create_trial

    pytest.importorskip("optuna_dashboard")  # the `search` extra, which make installs
    url = f"sqlite:///{tmp_path}/optuna.db"
    study = optuna.create_study(study_name="optuna", storage=url)
    study.add_trial(create_trial(value=0.2, intermediate_values={0: 0.5, 1: 0.2}))
    study.add_trial(create_trial(state=TrialState.PRUNED, intermediate_values={0: 0.9}))
    port = free_port()
    command = shutil.which("optuna-dashboard", path=str(Path(sys.executable).parent))
    assert command, "optuna-dashboard is installed beside this Python"
    server = subprocess.Popen(
        [command, url, "--host", "127.0.0.1", "--port", str(port), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        studies = get_json(f"http://127.0.0.1:{port}/api/studies", deadline)["study_summaries"]
        assert [s["study_name"] for s in studies] == ["optuna"]
        detail = get_json(f"http://127.0.0.1:{port}/api/studies/{studies[0]['study_id']}", deadline)
        trials = detail["trials"]
        assert [t["state"] for t in trials] == ["Complete", "Pruned"]
        assert [t["intermediate_values"] for t in trials] == [
            [{"step": 0, "value": 0.5}, {"step": 1, "value": 0.2}],
            [{"step": 0, "value": 0.9}],
        ]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert server.returncode is not None
