"""`resume=auto` continues a run dir's checkpoint only if that run had the same config.

A checkpoint restores weights, optimiser state (its learning rate included) and the rows so far,
whatever the command line now says: resuming a run dir of another config (a sweep rerun in the
same sweep dir with other values, so that job N is another job) would silently mix two runs and
record the new config beside the old run's numbers. The run dir's config.yaml (the resolved config
of its last start) says what the checkpoint was trained with. Light: no torch, so a refusal is a
one-line config error like any other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from regopt.config.errors import ConfigError

# Keys a resumed run may change: how long it trains, where it reports, how it runs, how it is
# judged. Everything else shapes the numbers already in the checkpoint.
MAY_CHANGE = (
    "resume",
    "trainer.max_epochs",
    "logger",
    "threads",
    "paths",
    "verdict",
    "divergence_check",
    "trainer.enable_progress_bar",
)
SHOWN = 3  # differences named in the message


def check_resume(cfg: DictConfig) -> None:
    """Raise ConfigError when `resume=auto` would continue a checkpoint of another config."""
    if cfg.get("resume") in (None, "none"):
        return
    run_dir = Path(cfg.paths.output_dir)
    saved = run_dir / "config.yaml"
    if not any((run_dir / "checkpoints").glob("*.ckpt")) or not saved.is_file():
        return  # nothing to resume, or a checkpoint with no config to compare (kept as before)
    before = _flat(OmegaConf.to_container(OmegaConf.load(saved), resolve=False))
    now = _flat(OmegaConf.to_container(cfg, resolve=True))
    changed = sorted(
        key
        for key in before.keys() | now.keys()
        if before.get(key, _MISSING) != now.get(key, _MISSING)
    )
    if not changed:
        return
    shown = ", ".join(f"{k}: {_show(before, k)} -> {_show(now, k)}" for k in changed[:SHOWN])
    more = f" and {len(changed) - SHOWN} more" if len(changed) > SHOWN else ""
    raise ConfigError(
        f"resume={cfg.resume}: {run_dir} holds a checkpoint of another config ({shown}{more}); "
        f"allowed: the same config (only {', '.join(MAY_CHANGE[1:])} may change), "
        "or another run dir"
    )


_MISSING = object()


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> leaf value, without the keys a resumed run may change."""
    if prefix.rstrip(".") in MAY_CHANGE:
        return {}
    if isinstance(tree, dict):
        items: dict[str, Any] = {}
        for key, value in tree.items():
            items.update(_flat(value, f"{prefix}{key}."))
        return items
    return {prefix.rstrip("."): tree}


def _show(values: dict[str, Any], key: str) -> str:
    value = values.get(key, _MISSING)
    return "(absent)" if value is _MISSING else repr(value)
