"""W&B trouble never costs a run: no key, an unreachable server, and secrets kept out of files."""

from __future__ import annotations

import os
import pty
import secrets
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, read_metrics, read_summary, run_cli


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again once the probe goes


def test_online_wandb_failure_warns_and_the_run_completes(tmp_path) -> None:
    env = {
        "HOME": str(tmp_path / "home"),
        "WANDB_MODE": "online",
        "WANDB_API_KEY": "a" * 40,
        "WANDB_BASE_URL": f"http://127.0.0.1:{closed_port()}",
    }
    started = time.monotonic()
    result = run_cli(["trainer.max_epochs=2"], tmp_path / "out", env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "W&B" in output and "continuing with the local record only" in output
    (run_dir,) = (tmp_path / "out" / "logs" / "runs").iterdir()
    assert read_summary(run_dir)["status"] == "completed"
    assert len(read_metrics(run_dir)) == 2
    assert not (run_dir / "wandb").exists() or not list((run_dir / "wandb").glob("run-*"))
    assert elapsed < 90  # never waits out wandb's own 90 s init timeout


def test_api_key_never_written_to_any_file(tmp_path) -> None:
    key = secrets.token_hex(20)
    result = run_cli(["trainer.max_epochs=1"], tmp_path, env={"WANDB_API_KEY": key})
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "logs" / "runs").iterdir()
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".wandb") for p in files)  # the W&B offline run is scanned too
    leaks = [p for p in files if key.encode() in p.read_bytes()]
    assert leaks == []


def serve_http_errors() -> int:
    """A local server that answers every request with a 500: reachable, yet no use to W&B."""
    server = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        while True:
            connection, _ = server.accept()
            with connection:
                try:
                    connection.recv(65536)
                    connection.sendall(b"HTTP/1.1 500 Error\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    threading.Thread(target=answer, daemon=True).start()
    return server.getsockname()[1]


@pytest.mark.parametrize("terminal", [pytest.param(True, marks=pytest.mark.slow), False])
def test_online_wandb_without_credentials_never_waits_for_a_login(terminal: bool, tmp_path) -> None:
    """At a terminal wandb asks which account to use and waits; regopt must not let it ask."""
    server = f"http://127.0.0.1:{serve_http_errors()}"
    env = {
        **os.environ,
        "REGOPT_ROOT": str(tmp_path),
        "HOME": str(tmp_path / "home"),
        "WANDB_MODE": "online",
        "WANDB_BASE_URL": server,
    }
    env.pop("WANDB_API_KEY", None)
    controller, terminal_end = pty.openpty()
    stdin = terminal_end if terminal else subprocess.DEVNULL
    stderr = terminal_end if terminal else subprocess.PIPE
    args = [sys.executable, "-m", "regopt.train", "trainer.max_epochs=1"]
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr
    )
    os.close(terminal_end)
    seen = bytearray()
    reader = threading.Thread(target=read_all, args=(controller, seen), daemon=True)
    reader.start()
    try:
        out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"the run waited (for a login?): {bytes(seen)[-500:]!r}")
    reader.join(timeout=5)
    output = out.decode() + (err or b"").decode() + seen.decode(errors="replace")
    assert proc.returncode == 0, output[-3000:]
    assert "continuing with the local record only" in output
    (run_dir,) = (tmp_path / "logs" / "runs").iterdir()
    assert read_summary(run_dir)["status"] == "completed"


def read_all(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            return
        if not chunk:
            return
        into.extend(chunk)


def test_a_wandb_error_at_finish_only_warns(caplog) -> None:
    """finish_wandb runs in the pipeline's `finally`: raising there failed a completed run."""
    from types import SimpleNamespace

    from regopt.tracking.wandb_logger import finish_wandb

    def broken() -> None:
        raise ConnectionError("upload cut off")

    finish_wandb(SimpleNamespace(experiment=SimpleNamespace(finish=broken)))
    assert "upload cut off" in caplog.text
