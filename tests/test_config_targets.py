"""What a Lightning or Hydra user types runs: any keyword a target accepts (all of the Trainer's
flags, every torch optimiser option, any callback class, a model, data module, callback or
regulariser from the user's own package), checked from the target's own signature."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from conftest import read_metrics, read_summary, run_cli

SMALL = ["trainer.max_epochs=2", "logger=none", "data.train_fraction=0.1", "model.widths=[16]"]

MYPKG = {
    "nets.py": '''
        from collections.abc import Sequence

        from torch import nn


        class ResNetish(nn.Module):
            """Residual blocks of one width; `widths`, `dropout`: from conf/model/mlp.yaml."""

            def __init__(self, input_dim: int, num_classes: int, widths: Sequence[int] = (32,),
                         activation: str = "relu", dropout: float = 0.0, blocks: int = 2) -> None:
                super().__init__()
                width = widths[0]
                self.stem = nn.Sequential(nn.Flatten(), nn.Linear(input_dim, width))
                self.blocks = nn.ModuleList(
                    nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(width, width))
                    for _ in range(blocks))
                self.head = nn.Linear(width, num_classes)

            def forward(self, x):
                h = self.stem(x)
                for block in self.blocks:
                    h = h + block(h)
                return self.head(h)
    ''',
    "data.py": '''
        import torch

        from regopt.data.tensor_module import TensorDataModule


        class Blobs(TensorDataModule):
            """Two Gaussian blobs; **kwargs takes the digits' keys it does not use."""

            input_dim, num_classes = 5, 2

            def __init__(self, n: int = 64, batch_size: int = 16, seed: int = 0, **unused) -> None:
                super().__init__(batch_size, 256, seed)
                self.n = n

            def load(self):
                g = torch.Generator().manual_seed(self.seed)
                y = torch.arange(2 * self.n) % 2
                x = torch.randn(2 * self.n, 5, generator=g) + 2.0 * y[:, None]
                return x[: self.n], y[: self.n], x[self.n :], y[self.n :]
    ''',
    "callbacks.py": """
        from pathlib import Path

        from pytorch_lightning.callbacks import Callback


        class EpochFile(Callback):
            def __init__(self, path: str) -> None:
                self.path = Path(path)

            def on_train_epoch_end(self, trainer, pl_module) -> None:
                with self.path.open("a") as handle:
                    handle.write(f"{trainer.current_epoch}\\n")
    """,
    "regs.py": '''
        import torch

        from regopt.regularizers.base import Penalty


        class SumSquares(Penalty):
            """weight * sum w^2 of the covered weights."""

            def penalty(self, outputs=None):
                return torch.stack([p.pow(2).sum() for p in self.parameters]).sum()
    ''',
}


@pytest.fixture
def mypkg(tmp_path: Path) -> dict[str, str]:
    """A tiny external package on PYTHONPATH: the environment for run_cli."""
    package = tmp_path / "site" / "mypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for name, text in MYPKG.items():
        (package / name).write_text(textwrap.dedent(text))
    paths = [str(tmp_path / "site"), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"PYTHONPATH": os.pathsep.join(paths)}


def completed(result, root: Path) -> Path:
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (root / "logs" / "runs").iterdir()
    assert read_summary(run_dir)["status"] == "completed"
    assert len(read_metrics(run_dir)) == 2
    return run_dir


@pytest.mark.parametrize(
    "override",
    [
        "+trainer.profiler=simple",
        "+trainer.overfit_batches=1",
        "+optimizer.foreach=true",
        pytest.param(  # make test-slow
            "+callbacks.lr_monitor._target_=pytorch_lightning.callbacks.LearningRateMonitor",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_a_lightning_or_torch_setting_runs(override: str, tmp_path: Path) -> None:
    completed(run_cli([override, *SMALL], tmp_path, timeout=300), tmp_path)


def test_a_model_from_the_users_own_package_runs(mypkg, tmp_path: Path) -> None:
    args = ["model._target_=mypkg.nets.ResNetish", "+model.blocks=3", *SMALL]
    run_dir = completed(run_cli(args, tmp_path, env=mypkg, timeout=300), tmp_path)
    assert all(row["train/penalty/l2"] > 0 for row in read_metrics(run_dir))  # on its weights


def test_a_data_module_callback_and_regulariser_from_the_users_package_run(mypkg, tmp_path):
    marks = tmp_path / "epochs.txt"
    args = [
        "data._target_=mypkg.data.Blobs",
        "+data.n=48",
        "+callbacks.mine._target_=mypkg.callbacks.EpochFile",
        f"+callbacks.mine.path={marks}",
        "+regularizer.mine._target_=mypkg.regs.SumSquares",
        "+regularizer.mine.weight=0.01",
        *SMALL,
    ]
    run_dir = completed(run_cli(args, tmp_path, env=mypkg, timeout=300), tmp_path)
    assert marks.read_text().split() == ["0", "1"]
    rows = read_metrics(run_dir)
    assert all(row["train/penalty/mine"] > 0 for row in rows)
    assert read_summary(run_dir)["task"]["num_classes"] == 2  # the user's data, not the digits


@pytest.mark.parametrize(
    ("override", "must_name"),
    [
        ("+model.blocks=x", ["model.blocks='x'", "a whole number"]),
        ("+model.depth=3", ["model.depth=3", "not a key of model (ResNetish)", "blocks"]),
        ("model._target_=mypkg.nets.ResNet", ["model._target_", "'mypkg.nets' has no attribute"]),
    ],
)
def test_the_users_own_signature_is_checked(override, must_name, mypkg, tmp_path) -> None:
    target = (
        [] if override.startswith("model._target_") else ["model._target_=mypkg.nets.ResNetish"]
    )
    result = run_cli([*target, override, *SMALL], tmp_path, env=mypkg, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in must_name:
        assert word in lines[0], (word, lines[0])


def test_one_regulariser_sets_its_own_schedule_without_a_plus(tmp_path: Path) -> None:
    """The root schedule is every regulariser's default; `regularizer.l2.schedule.kind=delayed`
    overrides it for l2 alone (its conf/regularizer/l2.yaml has no schedule block of its own)."""
    args = [
        "regularizer=[l1,l2]",
        "regularizer.l2.schedule.kind=delayed",
        "regularizer.l2.schedule.start=1",
        "regularizer.l1.weight=0.001",
        "regularizer.l2.weight=0.01",
        *SMALL,
    ]
    rows = read_metrics(completed(run_cli(args, tmp_path, timeout=300), tmp_path))
    assert [r["reg/l2/strength"] for r in rows] == pytest.approx([0.0, 0.01])
    assert [r["reg/l1/strength"] for r in rows] == pytest.approx([0.001, 0.001])  # the root's
