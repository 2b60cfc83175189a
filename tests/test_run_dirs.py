"""Where runs go: one dir per job, unique even when started in the same second."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT, read_summary, run_cli


def test_multirun_gives_each_job_its_own_dir_record_and_wandb_run(tmp_path) -> None:
    result = run_cli(["-m", "optimizer=sgd,adam", "trainer.max_epochs=2"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "logs" / "multiruns").iterdir()
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name for p in jobs] == ["0", "1"]
    assert [read_summary(j)["optimizer"]["name"] for j in jobs] == ["sgd", "adam"]
    assert all(read_summary(j)["status"] == "completed" for j in jobs)
    runs = [list((j / "wandb").glob("offline-run-*")) for j in jobs]
    assert [len(r) for r in runs] == [1, 1]
    assert runs[0][0].name.split("-")[-1] != runs[1][0].name.split("-")[-1]


@pytest.mark.slow
def test_two_runs_started_together_never_share_a_dir(tmp_path) -> None:
    env = {**os.environ, "REGOPT_ROOT": str(tmp_path)}
    args = [sys.executable, "-m", "regopt.train", "trainer.max_epochs=1", "logger=none"]
    procs = [
        subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
    run_dirs = list((tmp_path / "logs" / "runs").iterdir())
    assert len(run_dirs) == 2
    assert all(read_summary(d)["status"] == "completed" for d in run_dirs)


def files_under(path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*")) if path.exists() else []


@pytest.mark.slow
def test_a_refused_single_run_leaves_no_run_dir(tmp_path) -> None:
    # refused by the config check, and by the pipeline while it builds the model (digits are 8x8
    # images, cnn1d needs (channels, length))
    for bad, key in (["optimizer.lr=-1"], "optimizer.lr"), (["model=cnn1d"], "model"):
        result = run_cli([*bad, "trainer.max_epochs=1", "logger=none"], tmp_path)
        assert result.returncode == 2, result.stderr[-3000:]
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("regopt-train: config error:") and key in line
        assert files_under(tmp_path / "logs") == []
    elsewhere = tmp_path / "given" / "run"
    result = run_cli(["optimizer.lr=-1", f"hydra.run.dir={elsewhere}"], tmp_path)
    assert result.returncode == 2 and not elsewhere.exists()


@pytest.mark.slow
def test_a_refused_resume_keeps_the_run_dir_it_targets(tmp_path) -> None:
    run_dir = tmp_path / "run"
    args = ["trainer.max_epochs=1", "logger=none", "diagnostics=none", f"hydra.run.dir={run_dir}"]
    assert run_cli(args, tmp_path).returncode == 0
    before = {
        name: (run_dir / name).read_bytes()
        for name in files_under(run_dir)
        if not name.startswith(".hydra") and (run_dir / name).is_file()
    }
    refused = run_cli([*args, "resume=auto", "optimizer.lr=0.5"], tmp_path)  # another config
    assert refused.returncode == 2 and "another config" in refused.stderr
    after = {name: (run_dir / name).read_bytes() for name in before}
    assert after == before
