"""Which runs of a sweep ended at the same weights.

Two runs that are the same mathematics (an L2 penalty and SGD's weight decay, say) take the same
steps and end at the same weights, up to floating-point rounding; runs that are different
mathematics do not. For every pair of runs whose overrides differ in exactly one key, this
compares the final weights (checkpoints/last.ckpt) by their relative distance
||w_a - w_b|| / max(||w_a||, ||w_b||) and calls the pair `match` below a tolerance.

Writes weights_comparison.json and weights_comparison.md into the sweep dir. Runs at the end of a
sweep as a Hydra callback (experiment=l2_vs_weight_decay sets it) or as `regopt-compare DIR`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from regopt.report.collect import short_key

log = logging.getLogger("regopt")
JSON_NAME, MD_NAME = "weights_comparison.json", "weights_comparison.md"


def find_runs(path: Path) -> list[Path]:
    """The run dir itself, or the job dirs of a sweep (in job order)."""
    if (path / "summary.json").is_file():
        return [path]
    runs = [p for p in path.iterdir() if (p / "summary.json").is_file()]
    return sorted(
        runs, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name)
    )


def override_map(overrides: list[str]) -> dict[str, str]:
    """key -> value of each override, an experiment's own groups by their own name (`l2_form`)."""
    pairs = (item.lstrip("+~").split("=", 1) for item in overrides if "=" in item)
    return {short_key(key): value for key, value in pairs}


def final_weights(run_dir: Path) -> dict[str, Any] | None:
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    if not checkpoint.is_file():
        return None
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    return {k: v.double() for k, v in state.items() if k.startswith("model.")}


def relative_distance(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        return None
    difference = math.sqrt(sum(float((a[k] - b[k]).pow(2).sum()) for k in a))
    scale = max(math.sqrt(sum(float(v.pow(2).sum()) for v in w.values())) for w in (a, b))
    return difference / scale if scale > 0 else difference


def compare_runs(path: str | Path, tolerance: float = 1e-6) -> dict[str, Any]:
    path = Path(path)
    runs = []
    for run_dir in find_runs(path):
        summary = json.loads((run_dir / "summary.json").read_text())
        runs.append(
            {
                "run": run_dir.name,
                "overrides": override_map(summary.get("overrides", [])),
                "status": summary.get("status"),
                "val/loss": (summary.get("final") or {}).get("val/loss"),
                "weights": final_weights(run_dir),
            }
        )
    all_keys = {k for r in runs for k in r["overrides"]}
    swept = sorted(k for k in all_keys if len({r["overrides"].get(k) for r in runs}) > 1)
    pairs = []
    for a, b in itertools.combinations(runs, 2):
        keys = set(a["overrides"]) | set(b["overrides"])
        differing = sorted(k for k in keys if a["overrides"].get(k) != b["overrides"].get(k))
        if len(differing) != 1:
            continue
        key = differing[0]
        distance = None
        if a["weights"] is not None and b["weights"] is not None:
            distance = relative_distance(a["weights"], b["weights"])
        verdict = (
            "no weights" if distance is None else ("match" if distance <= tolerance else "differ")
        )
        pairs.append(
            {
                "a": a["run"],
                "b": b["run"],
                "differs_in": key,
                "a_value": a["overrides"].get(key),
                "b_value": b["overrides"].get(key),
                "shared": {k: a["overrides"].get(k) for k in swept if k != key},
                "relative_distance": distance,
                "verdict": verdict,
                "val_loss_a": a["val/loss"],
                "val_loss_b": b["val/loss"],
            }
        )
    listed = [{k: v for k, v in r.items() if k != "weights"} for r in runs]
    return {
        "path": str(path),
        "tolerance": tolerance,
        "swept": swept,
        "runs": listed,
        "pairs": pairs,
    }


def to_markdown(result: dict[str, Any]) -> str:
    def fmt(value: Any) -> str:
        return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = [
        f"# Final weights compared ({result['path']})",
        "",
        f"Pairs of runs whose overrides differ in one key; `match`: relative distance of the final "
        f"weights ||w_a - w_b|| / max(||w_a||, ||w_b||) <= {result['tolerance']:g}.",
        "",
        "| same | a | b | relative distance | verdict | val/loss a | val/loss b |",
        "|---|---|---|---|---|---|---|",
    ]
    for pair in result["pairs"]:
        shared = " ".join(f"{k}={v}" for k, v in pair["shared"].items()) or "-"
        key = pair["differs_in"]
        lines.append(
            f"| {shared} | {key}={pair['a_value']} ({pair['a']}) | {key}={pair['b_value']} "
            f"({pair['b']}) | {fmt(pair['relative_distance'])} | **{pair['verdict']}** | "
            f"{fmt(pair['val_loss_a'])} | {fmt(pair['val_loss_b'])} |"
        )
    return "\n".join(lines) + "\n"


def write_comparison(path: str | Path, tolerance: float = 1e-6) -> dict[str, Any]:
    from regopt.record.atomic import write_json_atomic, write_text_atomic

    result = compare_runs(path, tolerance)
    write_json_atomic(Path(path) / JSON_NAME, result)
    write_text_atomic(Path(path) / MD_NAME, to_markdown(result))
    return result


class CompareWeightsOnMultirunEnd(Callback):
    """A Hydra callback: compare the sweep's runs once all jobs have finished."""

    def __init__(self, tolerance: float = 1e-6) -> None:
        self.tolerance = float(tolerance)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            result = write_comparison(sweep_dir, self.tolerance)
        except Exception as error:  # noqa: BLE001 - the runs are done; a report must not fail them
            log.warning(f"comparing the final weights failed: {type(error).__name__}: {error}")
            return
        log.info(f"final weights compared: {sweep_dir / MD_NAME}\n" + to_markdown(result))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="regopt-compare", description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path, help="a multirun dir (or a run dir)")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=1e-6,
        help="largest relative weight distance called a match",
    )
    args = parser.parse_args(argv)
    result = write_comparison(args.path, args.tolerance)
    print(to_markdown(result), end="")
