"""hydra/launcher=ray_cluster: a sweep run through a local Ray cluster (`ray start --head`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import read_summary, run_cli

pytestmark = pytest.mark.slow
RAY = Path(sys.executable).parent / "ray"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def descendants(root: int) -> set[int]:
    """`root` and every process below it (from /proc)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(parents.get(pid, []))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def ray_address() -> Iterator[str]:
    """A one-node Ray cluster on loopback, started with this test's environment (its workers
    inherit it: the data dir, no W&B key). Stopped always, by ending the `ray start --block`
    process, which stops what it started; `ray stop` would stop every Ray on the machine."""
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="pip install '.[ray]'")
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths
    head = subprocess.Popen(
        [
            str(RAY),
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while not list(temp.glob("session_*/logs/raylet.out")):
            assert head.poll() is None and time.monotonic() < deadline, "ray start failed"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        started = descendants(head.pid)
        head.terminate()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, 9)
            head.wait()
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.5)
    shutil.rmtree(temp, ignore_errors=True)
    assert not [pid for pid in started if alive(pid)], "Ray processes left after the stop"
    with socket.socket() as probe:  # the head's port is free again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", int(port)))


def test_a_sweep_runs_through_a_ray_cluster(ray_address: str, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    # lr 1e8 diverges, cnn1d fails while its job builds it (digits are 8x8 images)
    result = run_cli(
        [
            "-m",
            "hydra/launcher=ray_cluster",
            f"hydra.launcher.ray.init.address={ray_address}",
            "optimizer=sgd",
            "optimizer.lr=0.05,1e8",
            "model=mlp,cnn1d",
            "trainer.max_epochs=2",
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted((p for p in sweep.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    summaries = [read_summary(job) for job in jobs]
    assert [s["status"] for s in summaries] == ["completed", "failed", "diverged", "failed"]
    assert "needs (channels, length)" in summaries[1]["error"]
    assert "Connecting to existing Ray cluster at address" in result.stdout + result.stderr
    assert "sweep finished: 4 jobs in " in result.stderr
    assert "(_run_job pid=" in result.stdout + result.stderr  # the jobs ran as Ray tasks
    for job, summary in zip(jobs, summaries, strict=True):
        runs = {p.name.rsplit("-", 1)[1] for p in (job / "wandb").glob("offline-run-*")}
        # one W&B run for each job that trained; the failed ones stopped while being built
        assert len(runs) == (0 if summary["status"] == "failed" else 1), job
