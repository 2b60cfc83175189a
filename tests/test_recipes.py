"""docs/recipes.md, followed to the letter: its files, written into a package and a config folder
outside regopt, train with the command the page gives."""

from __future__ import annotations

import os
import re

import pytest

from conftest import ROOT, read_metrics, read_summary, run_cli

FILE_BLOCK = re.compile(r'```\w+ title="([^"]+)"\n(.*?)```', re.DOTALL)


def recipe_files() -> dict[str, str]:
    return dict(FILE_BLOCK.findall((ROOT / "docs" / "recipes.md").read_text()))


@pytest.mark.slow
def test_the_recipes_files_train_together_from_outside_regopt(tmp_path) -> None:
    files = recipe_files()
    assert {
        "mypkg/nets.py",
        "myconf/model/resnetish.yaml",
        "mypkg/blobs.py",
        "myconf/data/blobs.yaml",
        "mypkg/callbacks.py",
        "myconf/callbacks/weight_max.yaml",
    } <= set(files)
    for name, text in files.items():
        path = tmp_path / "user" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "user" / "mypkg" / "__init__.py").write_text("")
    paths = [str(tmp_path / "user"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {"PYTHONPATH": os.pathsep.join(paths)}
    args = [
        "--config-dir",
        str(tmp_path / "user" / "myconf"),
        "model=resnetish",
        "data=blobs",
        "callbacks=[default,weight_max]",
        "regularizer=dropout",
        "regularizer.dropout.p=0.2",
        "trainer.max_epochs=3",
        "logger=none",
    ]
    result = run_cli(args, tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "logs" / "runs").iterdir()
    summary, rows = read_summary(run_dir), read_metrics(run_dir)
    assert summary["status"] == "completed" and len(rows) == 3
    assert summary["task"]["num_classes"] == 2  # the blobs, not the digits
    assert all(row["weights/max_abs"] > 0 for row in rows)  # the user's callback logged
    assert summary["regularizers"][0]["name"] == "dropout"
    # a key the user's class does not take is refused in one line, naming it
    refused = run_cli([*args, "+model.depth=3"], tmp_path / "refused", env=env)
    assert refused.returncode == 2 and refused.stderr.strip().count("\n") == 0
    assert "model.depth=3" in refused.stderr and "ResNetish" in refused.stderr
