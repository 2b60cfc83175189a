"""A pytest plugin (loaded by conftest.py): SIGTERM ends the session as Ctrl-C does.

Killed by SIGTERM (a CI job's timeout, `kill`), pytest would die where it stands and skip the
fixtures' finalizers, leaving the SLURM daemons and the Ray cluster the slow tests started
running. Raised as KeyboardInterrupt instead, the session stops and tears its fixtures down.
"""

from __future__ import annotations

import signal
from types import FrameType

import pytest


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


@pytest.hookimpl
def pytest_configure(config: pytest.Config) -> None:
    signal.signal(signal.SIGTERM, _interrupt)
