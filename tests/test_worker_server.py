"""The stacked launcher's worker server (regopt.sweep.server, regopt.sweep.worker_pool): a worker
forked from it starts with what its first stack needs already imported and drawn once."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT

SCRIPT = """
import json, sys
from hydra import compose, initialize_config_dir
from regopt.sweep.worker_pool import target_modules, worker_context

with initialize_config_dir(config_dir=sys.argv[1], version_base="1.3"):
    config = compose("train")
context = worker_context(config)
probe = "[m in __import__('sys').modules for m in %r]"
names = ["torch", "pytorch_lightning", "regopt.stacked.engine", "sklearn.datasets",
         "regopt.data.digits", "regopt.models.mlp",
         "PIL.JpegImagePlugin"]  # one of the plugins PIL loads at its first save: the figure's
with context.Pool(1) as pool:
    loaded = pool.apply(eval, (probe % names,))
print(json.dumps({"targets": target_modules(config), "loaded": dict(zip(names, loaded))}))
"""


def test_a_worker_starts_with_the_training_code_its_jobs_data_and_a_drawn_figure() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "conf")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["targets"] == ["regopt.data.digits", "regopt.models.mlp"]
    # the digits' scikit-learn and PIL's plugins are not the engine's imports: the server's
    assert all(found["loaded"].values()), found["loaded"]
