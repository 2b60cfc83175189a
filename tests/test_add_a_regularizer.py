"""A regulariser is one class and one YAML: docs/regularizers.md's worked example, added to a copy
of the project, joins the grid, resume and effect tests with no other edit; and a class from a
package outside regopt trains with its `_target_` alone."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT, options, read_metrics, read_summary, run_cli

FILE_BLOCK = re.compile(r'```\w+ title="([^"]+)"\n(.*?)```', re.DOTALL)
NEW = "confidence"
BAD_WEIGHT = [f"regularizer.{NEW}.weight=-1"]
# the tests that pick up every regulariser in conf/regularizer/, and how many cases each gives one
JOINS = {
    "tests/test_grid.py": len(options("optimizer")),
    "tests/test_resume.py": 1,
    "tests/test_regularizer_effects.py": 1,
}


def worked_example() -> dict[str, str]:
    return dict(FILE_BLOCK.findall((ROOT / "docs" / "regularizers.md").read_text()))


@pytest.mark.slow  # a pytest session of its own: the grid (every optimiser), resume, effect
def test_one_class_and_one_yaml_join_the_grid_resume_and_effect_tests(tmp_path) -> None:
    files = worked_example()
    assert set(files) == {f"src/regopt/regularizers/{NEW}.py", f"conf/regularizer/{NEW}.yaml"}
    assert not (ROOT / "src" / "regopt" / "regularizers" / f"{NEW}.py").exists()  # not shipped
    copy = tmp_path / "project"
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache")
    for part in ("src", "conf", "tests"):  # src/regopt/conf stays a link to the copy's conf/
        shutil.copytree(ROOT / part, copy / part, symlinks=True, ignore=junk)
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    for path, text in files.items():  # the two files, and nothing else
        (copy / path).write_text(text)

    env = {**os.environ, "PYTHONPATH": str(copy / "src"), "REGOPT_ROOT": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-k", NEW, *JOINS],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = re.findall(rf"^PASSED (\S+\[[^\]]*{NEW}[^\]]*\])", result.stdout, re.MULTILINE)
    for test_file, count in JOINS.items():
        assert sum(p.startswith(test_file) for p in passed) == count, (test_file, passed)

    # its own check of its settings is a one-line config error naming it, in the copy too
    bad = subprocess.run(
        [sys.executable, "-m", "regopt.train", f"regularizer={NEW}", *BAD_WEIGHT, "logger=none"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2, bad.stderr[-2000:]
    assert len(bad.stderr.strip().splitlines()) == 1 and f"regularizer.{NEW}" in bad.stderr


QUICK = ["trainer.max_epochs=2", "logger=none", "callbacks=none", "diagnostics=none"]
OUTSIDE = '''
"""A regulariser that is not part of regopt: a quartic penalty on the weights."""

import torch

from regopt.regularizers.base import Penalty


class MyReg(Penalty):
    def __init__(self, weight: float = 0.01) -> None:
        super().__init__(weight)

    def penalty(self, outputs=None):
        return torch.stack([p.pow(4).sum() for p in self.parameters]).sum()
'''


def test_a_regularizer_from_another_package_trains_with_its_target_alone(tmp_path) -> None:
    package = tmp_path / "outside" / "mypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(OUTSIDE))
    path = os.pathsep.join([str(tmp_path / "outside"), os.environ.get("PYTHONPATH", "")])
    run_dir = tmp_path / "run"
    result = run_cli(
        ["+regularizer.mine._target_=mypkg.MyReg", *QUICK, f"hydra.run.dir={run_dir}"],
        tmp_path,
        env={"PYTHONPATH": path},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = read_summary(run_dir)
    assert summary["status"] == "completed"
    assert [(r["name"], r["type"]) for r in summary["regularizers"]] == [
        ("l2", "L2Penalty"),
        ("mine", "MyReg"),
    ]
    for row in read_metrics(run_dir):
        assert row["train/penalty/mine"] > 0
        parts = row["train/loss_data"] + row["train/penalty/l2"] + row["train/penalty/mine"]
        assert row["train/loss"] == pytest.approx(parts, rel=1e-5)
