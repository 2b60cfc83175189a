"""W&B: the offline run of a job holds the gap, the onset and the verdict; names, tags, groups."""

from __future__ import annotations

import time

import pytest

from conftest import compose_config, read_metrics, read_summary
from regopt.config.resolvers import register_resolvers, sweep_group
from regopt.tracking.naming import (
    chosen_options,
    option_config,
    override_label,
    run_name,
    run_tags,
)
from regopt.tracking.offline_records import raw_records, read_run


def run_with_wandb(overrides: list[str], output_dir) -> dict:
    from regopt.config.validate import validate_config
    from regopt.pipeline import run

    cfg = compose_config(overrides, output_dir)  # logger=wandb, offline: the default
    validate_config(cfg)
    run(cfg)
    return read_summary(output_dir)


def test_offline_run_record_holds_gap_onset_verdict_and_curves(tmp_path) -> None:
    summary = run_with_wandb(
        ["data.label_noise=0.2", "regularizer=none", "optimizer=adam", "trainer.max_epochs=20"],
        tmp_path,
    )
    (record,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    wandb_run = read_run(record)
    for _ in range(50):  # wandb-core writes the record asynchronously; finish() waits for it
        if wandb_run["finished"]:
            break
        time.sleep(0.2)
        wandb_run = read_run(record)
    assert wandb_run["finished"]
    # measured once complete (on a busy machine it was caught at exactly one 32 KiB block)
    assert record.stat().st_size > 32768  # spans several 32 KiB blocks: chunks are reassembled
    s = wandb_run["summary"]
    assert summary["diagnosis"]["kind"] == "overfitting"
    assert s["onset_epoch"] == summary["onset_epoch"]
    assert s["verdict"] == summary["verdict"]
    assert s["status"] == "completed" and s["diagnosis/kind"] == "overfitting"
    assert s["gap/loss"] == pytest.approx(summary["final"]["gap/loss"])
    assert s["val/loss"] == {"min": pytest.approx(summary["best"]["val/loss"])}
    assert s["val/acc"]["max"] >= summary["best"]["val/acc"]
    assert s["curves"]["_type"] == "image-file"  # the learning-curve figure, logged at the end
    # every epoch's gap is in the history, with the epoch as its step
    rows = read_metrics(tmp_path)
    history = {h["epoch"]: h["gap/loss"] for h in wandb_run["history"] if "gap/loss" in h}
    assert sorted(history) == list(range(20))
    assert [pytest.approx(history[r["epoch"]]) for r in rows] == [r["gap/loss"] for r in rows]
    run_info = wandb_run["run"]
    assert run_info["job_type"] == "default" and run_info["group"] == "default"
    assert run_info["tags"] == ["none", "adam"]
    assert run_info["name"] == "label_noise=0.2 none adam max_epochs=20"
    assert wandb_run["config"]["data"]["label_noise"] == 0.2


def test_reader_rejects_a_file_that_is_not_a_run_record(tmp_path) -> None:
    path = tmp_path / "run-x.wandb"
    path.write_bytes(b"not a record at all")
    with pytest.raises(ValueError, match="not a W&B run record"):
        list(raw_records(path))


def test_readable_names_and_tags() -> None:
    assert override_label("optimizer=sgd") == "sgd"
    assert override_label("regularizer=[l1,l2]") == "l1+l2"
    assert override_label("regularizer.l2.weight=1e-3") == "l2.weight=1e-3"
    assert override_label("+data.label_noise=0.2") == "label_noise=0.2"
    assert override_label("seed=2") == "seed=2"
    assert override_label("experiment.switch_epoch=10") == "switch_epoch=10"  # its own setting
    assert override_label("experiment/l2_vs_weight_decay/l2_form=decoupled") == "decoupled"
    assert override_label("experiment=l2_vs_weight_decay") is None  # the job type says it
    assert override_label("experiment=reg_vs_opt") is None
    assert (
        run_name(["experiment=reg_vs_opt", "regularizer=l2", "optimizer=sgd", "seed=1"], "x")
        == "l2 sgd seed=1"
    )
    assert run_name([], "reg_vs_opt") == "reg_vs_opt"
    static = {"regularizers": [], "optimizer": {"name": "adamw"}}
    assert run_tags(static) == ["none", "adamw"]
    choices = {"optimizer": "nesterov", "data": "digits", "model": "mlp", "experiment": None}
    assert chosen_options(choices, []) == {
        "regularizer": "none",
        "optimizer": "nesterov",
        "data": "digits",
        "model": "mlp",
        "experiment": "none",
    }
    assert chosen_options(choices, ["l2", "dropout"])["regularizer"] == "l2+dropout"
    assert option_config({"optimizer": "nesterov"}) == {"choices/optimizer": "nesterov"}


def test_wandb_group_is_the_sweep_in_a_multirun(tmp_path) -> None:
    register_resolvers()
    compose_config(["hydra.mode=MULTIRUN", f"hydra.sweep.dir={tmp_path}/my_sweep"], tmp_path)
    assert sweep_group("reg_vs_opt") == "reg_vs_opt/my_sweep"
    compose_config([], tmp_path)
    assert sweep_group("reg_vs_opt") == "reg_vs_opt"
