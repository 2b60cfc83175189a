"""Lightning's hint to prepend `srun` appears on any machine where SLURM is installed (CI's, once
`make test-slow` has installed it); regopt's runs silence it, so a refused config stays one line."""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import pytest
from lightning_fabric.plugins.environments import SLURMEnvironment

from regopt.quiet import quiet_third_party_notices


@pytest.fixture
def srun_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    srun = tmp_path / "srun"
    srun.write_text("#!/bin/sh\nexit 0\n")
    srun.chmod(srun.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    for name in [n for n in os.environ if n.startswith("SLURM_")]:
        monkeypatch.delenv(name)


def _srun_hints() -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # a fresh filter list: the test controls what is kept
        SLURMEnvironment._validate_srun_used()
    return [str(w.message) for w in caught if "srun" in str(w.message)]


def test_lightning_hints_srun_where_slurm_is_installed(srun_on_path: None) -> None:
    assert _srun_hints(), "Lightning no longer warns: the filter in regopt.quiet can go"


def test_regopt_runs_silence_the_srun_hint(srun_on_path: None) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # no once-only registry can hide the warning
        quiet_third_party_notices()  # its filter goes in front of "always"
        SLURMEnvironment._validate_srun_used()
    assert not [w for w in caught if "srun" in str(w.message)]
