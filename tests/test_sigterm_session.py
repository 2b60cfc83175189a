"""SIGTERM to a pytest session (a CI timeout) still runs the fixtures' finalizers, which stop the
SLURM and Ray clusters the slow tests start (tests/sigterm_ends_session.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent

SESSION = """
import time
from pathlib import Path
import pytest

@pytest.fixture(scope="session")
def daemon():
    Path("started").write_text("")
    yield
    Path("stopped").write_text("")

def test_waits(daemon):
    time.sleep(60)
"""


def test_sigterm_to_a_session_runs_the_session_fixtures_finalizers(tmp_path: Path) -> None:
    (tmp_path / "test_session.py").write_text(SESSION)
    env = {**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "sigterm_ends_session",
        "-p",
        "no:cacheprovider",
    ]
    proc = subprocess.Popen(
        [*command, "-c", os.devnull, "--rootdir", str(tmp_path), "test_session.py"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "started").exists(), proc.communicate(timeout=30)[0]
    time.sleep(0.2)  # inside the test now
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert (tmp_path / "stopped").exists(), out
    assert proc.returncode != 0, out  # interrupted, not passed
