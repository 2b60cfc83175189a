"""docs/regularizers.md's worked example: its two files, and nothing else, add a regulariser."""

from __future__ import annotations

import math
import re

import pytest
from hydra.utils import instantiate

import regopt.regularizers
from conftest import ROOT, compose_config, read_metrics, run_job
from regopt.config.cli_errors import ConfigError
from regopt.config.validate import validate_config
from regopt.pipeline import build_module

FILE_BLOCK = re.compile(r'```\w+ title="([^"]+)"\n(.*?)```', re.DOTALL)


def test_worked_example_trains_from_its_two_files_alone(tmp_path, monkeypatch) -> None:
    files = dict(FILE_BLOCK.findall((ROOT / "docs" / "regularizers.md").read_text()))
    expected = {"src/regopt/regularizers/confidence.py", "conf/regularizer/confidence.yaml"}
    assert set(files) == expected
    assert not (ROOT / "src/regopt/regularizers/confidence.py").exists()  # it is not shipped
    # The class goes into a directory added to the package's path, the YAML into a config dir
    # Hydra searches too: the repository itself is left untouched.
    package_dir, conf_dir = tmp_path / "package", tmp_path / "conf"
    (package_dir).mkdir()
    (conf_dir / "regularizer").mkdir(parents=True)
    (package_dir / "confidence.py").write_text(files["src/regopt/regularizers/confidence.py"])
    (conf_dir / "regularizer" / "confidence.yaml").write_text(
        files["conf/regularizer/confidence.yaml"]
    )
    monkeypatch.setattr(regopt.regularizers, "__path__",
                        [*regopt.regularizers.__path__, str(package_dir)])  # fmt: skip

    run_dir = tmp_path / "run"
    summary = run_job([f"hydra.searchpath=[file://{conf_dir}]", "regularizer=[confidence,l2]",
                       "callbacks=none", "trainer.max_epochs=2"], run_dir)  # fmt: skip
    assert summary["status"] == "completed"
    assert [r["label"] for r in summary["regularizers"]] == ["confidence(0.1)", "l2(0.0001)"]
    rows = read_metrics(run_dir)
    for row in rows:
        for key in ("train/penalty/confidence", "val/penalty/confidence"):
            assert 0 < row[key] <= 0.1 * math.log(10)  # weight * KL(p || uniform), at most log K
        assert "penalty/confidence" not in row  # batch-dependent: no value between batches
        parts = row["train/loss_data"] + row["train/penalty/confidence"] + row["train/penalty/l2"]
        assert row["train/loss"] == pytest.approx(parts, rel=1e-5)

    # its signature refuses a bad value before training; the same annotation refuses it when the
    # pipeline builds it (a Python call), reported as a config error naming the key
    bad = compose_config([f"hydra.searchpath=[file://{conf_dir}]", "regularizer=confidence",
                          "regularizer.confidence.weight=-1"], tmp_path / "bad")  # fmt: skip
    refusal = r"^regularizer.confidence.weight=-1 is not allowed .*; allowed: a number >= 0$"
    with pytest.raises(ConfigError, match=refusal):
        validate_config(bad)
    with pytest.raises(ConfigError, match=refusal):
        build_module(bad, instantiate(bad.data))
    # and its own schedule needs no `+`: the YAML's defaults line gives it the node
    search = f"hydra.searchpath=[file://{conf_dir}]"
    own_schedule = "regularizer.confidence.schedule.kind=delayed"
    own = compose_config([search, "regularizer=confidence", own_schedule], tmp_path / "own")
    validate_config(own)
