"""Failures outside the config check are one line too: the cause, the record, exit code 1 (or 2
for settings Lightning refuses before training); REGOPT_DEBUG=1 keeps the traceback."""

from __future__ import annotations

import pytest

from conftest import run_cli

QUICK = ["logger=none", "trainer.max_epochs=1", "diagnostics=none"]


def one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return lines[0]


@pytest.mark.parametrize("where", ["/proc/nope", "file"])
def test_an_unwritable_run_dir_is_one_line_naming_it(where: str, tmp_path) -> None:
    if where == "file":  # a path through a regular file: not writable, even as root
        (tmp_path / "afile").write_text("")
        where = str(tmp_path / "afile" / "run")
    result = run_cli([*QUICK, f"hydra.run.dir={where}"], tmp_path)
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith("regopt-train: failed: cannot write ") and where.split("/")[1] in line
    assert "REGOPT_DEBUG=1" in line


def test_the_traceback_is_there_with_regopt_debug(tmp_path) -> None:
    result = run_cli([*QUICK, "hydra.run.dir=/proc/nope"], tmp_path, env={"REGOPT_DEBUG": "1"})
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_checkpointing_off_beside_the_checkpoint_callback_is_refused_in_one_line(tmp_path):
    result = run_cli([*QUICK, "+trainer.enable_checkpointing=false"], tmp_path)
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("regopt-train: config error: trainer.enable_checkpointing=false: ")
    assert "enable_checkpointing=False" in line and "ModelCheckpoint" in line


def test_a_progress_bar_callback_turns_the_auto_bar_on(tmp_path) -> None:
    """trainer.enable_progress_bar: null (auto) with a bar of the user's own: the bar is shown."""
    bar = "+callbacks.bar._target_=pytorch_lightning.callbacks.RichProgressBar"
    result = run_cli([*QUICK, bar], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


def test_a_progress_bar_callback_with_the_bar_off_is_refused_in_one_line(tmp_path) -> None:
    bar = "+callbacks.bar._target_=pytorch_lightning.callbacks.RichProgressBar"
    result = run_cli([*QUICK, bar, "trainer.enable_progress_bar=false"], tmp_path)
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("regopt-train: config error: trainer.enable_progress_bar=false: ")
    assert "RichProgressBar" in line
