"""The short table printed when a run ends."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)


def _regularizer_label(regularizer: dict[str, Any]) -> str:
    if "label" in regularizer:
        return str(regularizer["label"])
    return f"{regularizer['name']}({regularizer.get('weight', '?')})"


def summary_table(summary: dict[str, Any], paths: dict[str, str]) -> str:
    final, best = summary.get("final", {}), summary.get("best", {})
    regs = ", ".join(_regularizer_label(r) for r in summary.get("regularizers", []))
    opt = summary.get("optimizer", {})
    rows = [
        ("status", summary.get("status")),
        ("regularizers", regs or "none"),
        (
            "optimizer",
            f"{opt.get('name')} lr={opt.get('lr')} "
            f"weight_decay={opt.get('weight_decay')} ({opt.get('weight_decay_kind')})",
        ),
        ("epochs / time", f"{summary.get('epochs')} epochs in {summary.get('wall_time_s')} s"),
        *_metric_rows(final, best),
        ("onset epoch", summary.get("onset_epoch")),
        ("verdict", summary.get("verdict")),
        *paths.items(),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {_fmt(v)}" for k, v in rows)


def _metric_rows(final: dict[str, Any], best: dict[str, Any]) -> list[tuple[str, str]]:
    """Loss and accuracy, or loss and mean absolute error for a regression run."""
    metric = "mae" if final.get("val/mae") is not None else "acc"
    rows = [
        (f"final {part} loss / {metric}",
         f"{_fmt(final.get(f'{part}/loss'))} / {_fmt(final.get(f'{part}/{metric}'))}")
        for part in ("train", "val", "gap")
    ]  # fmt: skip
    rows.append((
        f"best val loss / {metric}",
        f"{_fmt(best.get('val/loss'))} / {_fmt(best.get(f'val/{metric}'))} "
        f"(epoch {_fmt(best.get('epoch'))})",
    ))  # fmt: skip
    return rows
