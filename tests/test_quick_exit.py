"""regopt.quick_exit: the end of a regopt process skips Python's final collections."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

CYCLE = """
import sys
class Cycle:
    def __del__(self, write=sys.stdout.write):
        write("collected by the final collections\\n")
cycle = Cycle()
cycle.self = cycle
del cycle
"""


def ends(prelude: str) -> str:
    code = prelude + CYCLE
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout


def test_regopt_train_and_the_worker_server_skip_the_final_collections() -> None:
    """Python's finalisation collects an unreachable cycle (and spent 1.2 s doing so over
    Lightning's objects); after regopt.quick_exit, which regopt-train and the stacked launcher's
    server import first, it does not."""
    from regopt.sweep.worker_pool import PRELOAD

    assert "collected" in ends("")
    assert "collected" not in ends("import regopt.quick_exit\n")
    assert "collected" not in ends("import regopt.train\n")
    assert "collected" not in ends("".join(f"import {module}\n" for module in PRELOAD))
