"""Schedules of regularisers' strengths: the formulas, what a real fit applies and logs, the
one-line errors, and the delayed L2 run that is unregularised training up to its start epoch."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from pytorch_lightning.callbacks import Callback

from conftest import compose_config, fit_watched, read_metrics, run_job
from regopt.build import build_module
from regopt.config.errors import ConfigError
from regopt.config.validate import validate_config
from regopt.models.mlp import MLP
from regopt.objective import Objective
from regopt.regularizers.constraints import MaxNorm
from regopt.regularizers.dropout import Dropout, dropout_layers
from regopt.regularizers.schedule import Schedule
from regopt.tasks import Classification

# (schedule, {epoch: expected factor}), each worked out by hand from the formula
CASES = [
    (Schedule("constant"), {0: 1.0, 7: 1.0}),
    (Schedule("delayed", start=3), {0: 0.0, 2: 0.0, 3: 1.0, 9: 1.0}),
    (Schedule("switch_off", start=3), {0: 1.0, 2: 1.0, 3: 0.0, 9: 0.0}),
    (Schedule("switch_off", start=0), {0: 0.0, 5: 0.0}),
    (Schedule("linear", start=2, end=6), {0: 0.0, 2: 0.0, 3: 0.25, 4: 0.5, 6: 1.0, 10: 1.0}),
    (
        Schedule("cosine", start=2, end=6),
        {1: 0.0, 3: (1 - math.sqrt(0.5)) / 2, 4: 0.5, 5: (1 + math.sqrt(0.5)) / 2, 8: 1.0},
    ),
]


@pytest.mark.parametrize(("schedule", "expected"), CASES, ids=lambda c: getattr(c, "kind", ""))
def test_each_schedule_gives_its_formula(schedule: Schedule, expected: dict[int, float]) -> None:
    for epoch, factor in expected.items():
        assert schedule.factor(epoch) == pytest.approx(factor, abs=1e-12), epoch


def test_schedule_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="kind='step'"):
        Schedule("step")
    with pytest.raises(ValueError, match="end=null with kind=linear"):
        Schedule("linear", start=2)
    with pytest.raises(ValueError, match="end=2 with kind=cosine"):
        Schedule("cosine", start=2, end=2)
    with pytest.raises(ValueError, match="has no strength to schedule"):
        MaxNorm().set_schedule(Schedule("delayed", start=1))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("regularizer.l2.schedule.kind=sometimes", "schedule.kind='sometimes' is not allowed"),
        ("regularizer.l2.schedule.kind=linear", "regularizer.l2.schedule.end=null with"),
        ("schedule.start=-1", "schedule.start=-1 is not allowed"),
        ("schedule.kind=linear", "schedule.end=null with kind=linear"),
    ],
)
def test_bad_schedule_values_fail_before_training(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        validate_config(compose_config([override]))


def test_strength_is_scaled_for_every_kind_of_regulariser() -> None:
    """Penalty weight, dropout p (on the model's layers), noise std, smoothing: one mechanism."""
    model = MLP(input_dim=4, num_classes=3, widths=[8], dropout=0.0)
    regs = {
        "l2": instantiate({"_target_": "regopt.regularizers.penalties.L2Penalty", "weight": 0.2}),
        "dropout": Dropout(p=0.4),
        "input_noise": instantiate({"_target_": "regopt.regularizers.data.InputNoise", "std": 0.3}),
        "label_smoothing": instantiate(
            {"_target_": "regopt.regularizers.data.LabelSmoothing", "smoothing": 0.1}
        ),
    }
    for reg in regs.values():
        reg.set_schedule(Schedule("linear", start=0, end=4))
    objective = Objective(Classification(num_classes=3), regs)
    objective.prepare(model, train_size=10)
    strengths = objective.set_epoch(1)
    assert strengths == pytest.approx(
        {"l2": 0.05, "dropout": 0.1, "input_noise": 0.075, "label_smoothing": 0.025}
    )
    assert regs["l2"].weight == pytest.approx(0.05)
    assert regs["input_noise"].std == pytest.approx(0.075)
    assert regs["label_smoothing"].smoothing == pytest.approx(0.025)
    layers = dropout_layers(model)
    assert layers and [layer.p for layer in layers] == pytest.approx([0.1] * len(layers))
    # and the objective uses them: the training loss is torch's own label smoothing at 0.025,
    # the L2 term is 0.05 * 0.5 * ||W||^2 over the two named matrices, the noise has std 0.075
    torch.manual_seed(0)
    logits, y = torch.randn(6, 3), torch.randint(0, 3, (6,))
    terms = objective.training_terms(logits, y)
    torch.testing.assert_close(terms.data, F.cross_entropy(logits, y, label_smoothing=0.025))
    squared = model.net[1].weight.pow(2).sum() + model.net[4].weight.pow(2).sum()
    torch.testing.assert_close(terms.penalties["l2"], 0.05 * 0.5 * squared)
    noise, _ = objective.transform_batch(torch.zeros(200_000, dtype=torch.float64), y)
    assert abs(noise.std().item() - 0.075) < 5 * 0.075 / (2 * 200_000) ** 0.5
    assert objective.set_epoch(9)["dropout"] == pytest.approx(0.4)  # from the configured p


class RecordDropoutP(Callback):
    def __init__(self) -> None:
        self.p_by_epoch: dict[int, list[float]] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        ps = [layer.p for layer in dropout_layers(pl_module.model)]
        self.p_by_epoch.setdefault(trainer.current_epoch, []).extend(ps)


def test_a_real_fit_trains_each_epoch_at_the_scheduled_dropout(tmp_path) -> None:
    watch = RecordDropoutP()
    fit_watched(
        [
            "regularizer=dropout",
            "regularizer.dropout.p=0.6",
            "regularizer.dropout.schedule.kind=cosine",
            "regularizer.dropout.schedule.end=2",
            "trainer.max_epochs=3",
            "data.train_size=64",
        ],
        [watch],
        tmp_path,
    )
    assert sorted(watch.p_by_epoch) == [0, 1, 2]
    for epoch, want in {0: 0.0, 1: 0.3, 2: 0.6}.items():  # 0.6 * (1 - cos(pi * epoch / 2)) / 2
        seen = watch.p_by_epoch[epoch]
        assert seen == pytest.approx([want] * len(seen)), epoch


@pytest.mark.parametrize(
    ("regularizer", "setting", "schedule"),
    [
        ("l2", "weight=0.02", ["kind=linear", "start=1", "end=3"]),
        ("input_noise", "std=0.4", ["kind=delayed", "start=2"]),
        ("label_smoothing", "smoothing=0.2", ["kind=switch_off", "start=2"]),
    ],
)
def test_logged_strength_matches_the_formula(tmp_path, regularizer, setting, schedule) -> None:
    prefix = f"regularizer.{regularizer}"
    overrides = [
        f"regularizer={regularizer}",
        f"{prefix}.{setting}",
        "trainer.max_epochs=4",
        "callbacks=none",
        "data.train_size=96",
        *(f"{prefix}.schedule.{s}" for s in schedule),
    ]
    run_job(overrides, tmp_path)
    configured = float(setting.split("=")[1])
    spec = dict(s.split("=") for s in schedule)
    expected = Schedule(
        spec["kind"], int(spec.get("start", 0)), int(spec["end"]) if "end" in spec else None
    )
    rows = read_metrics(tmp_path)
    assert [row["epoch"] for row in rows] == [0, 1, 2, 3]
    for row in rows:
        want = configured * expected.factor(int(row["epoch"]))
        assert row[f"reg/{regularizer}/strength"] == pytest.approx(want, rel=1e-6, abs=1e-9)
        if regularizer == "l2":  # the strength in effect, not only the one logged
            assert (row["train/penalty/l2"] > 0) == (want > 0), row["epoch"]


def test_delayed_l2_is_unregularised_training_until_its_start(tmp_path) -> None:
    """Same seed: identical (bit for bit) to regularizer=none up to epoch k, different after."""
    k, epochs = 3, 5
    common = [
        f"trainer.max_epochs={epochs}",
        "callbacks=none",
        "seed=3",
        "data.label_noise=0.2",
        "data.train_size=128",
    ]
    run_job(["regularizer=none", *common], tmp_path / "plain")
    run_job(
        [
            "regularizer=l2",
            "regularizer.l2.weight=0.05",
            "regularizer.l2.schedule.kind=delayed",
            f"regularizer.l2.schedule.start={k}",
            *common,
        ],
        tmp_path / "delayed",
    )
    plain, delayed = read_metrics(tmp_path / "plain"), read_metrics(tmp_path / "delayed")
    for key in ("train/loss_data", "val/loss", "val/acc"):
        before = [(p[key], d[key]) for p, d in zip(plain[:k], delayed[:k], strict=True)]
        assert all(a == b for a, b in before), (key, before)
    for p, d in zip(plain[k:], delayed[k:], strict=True):
        assert p["val/loss"] != d["val/loss"]
        assert d["train/penalty/l2"] > 0
    assert [d["reg/l2/strength"] for d in delayed] == pytest.approx([0, 0, 0, 0.05, 0.05])


def test_a_regulariser_without_strength_refuses_a_schedule_in_one_line(tmp_path) -> None:
    cfg = compose_config(
        [
            "regularizer=max_norm",
            "+regularizer.max_norm.schedule.kind=delayed",
            "+regularizer.max_norm.schedule.start=3",
        ],
        tmp_path,
    )
    with pytest.raises(ConfigError, match="^regularizer.max_norm: has no strength to schedule"):
        build_module(cfg, instantiate(cfg.data))


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        (Schedule("delayed", start=12), "never on"),
        (Schedule("switch_off", start=10), "never off"),
        (Schedule("linear", start=2, end=20), "at most 39% of it"),  # (9 - 2) / (20 - 2) = 0.39
    ],
    ids=lambda c: getattr(c, "kind", ""),
)
def test_a_schedule_that_cannot_play_out_within_the_run_warns(
    schedule: Schedule, says: str, tmp_path, caplog
) -> None:
    """10 epochs (0 to 9): each of these never reaches what it is for."""
    end = schedule.end or "null"
    overrides = ["trainer.max_epochs=10", f"schedule.kind={schedule.kind}"]
    overrides += [f"schedule.start={schedule.start}", f"schedule.end={end}"]
    cfg = compose_config(overrides, tmp_path)
    with caplog.at_level("WARNING", logger="regopt"):
        build_module(cfg, instantiate(cfg.data))
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(m.startswith("regularizer.l2.schedule: ") and says in m for m in warned), warned
    assert Schedule("delayed", start=9).unreached(10) is None  # on in the last epoch: fine
