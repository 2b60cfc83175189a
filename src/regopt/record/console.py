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


def _span(summary: dict[str, Any]) -> str:
    epochs, seconds = summary.get("epochs"), summary.get("wall_time_s")
    if summary.get("fast_dev_run"):
        return f"fast_dev_run ({summary['fast_dev_run']} batch each) in {seconds} s"
    return f"{epochs} epoch{'' if epochs == 1 else 's'} in {seconds} s"


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
        ("epochs / time", _span(summary)),
        *_metric_rows(final, best),
        ("onset epoch", summary.get("onset_epoch")),
        ("verdict", summary.get("verdict")),
        *paths.items(),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {_fmt(v)}" for k, v in rows)


def _metric_rows(final: dict[str, Any], best: dict[str, Any]) -> list[tuple[str, str]]:
    """The objective with its parts, then data losses and accuracy (or mean absolute error for a
    regression run): train as the gap measures it (eval mode on a training subset), val, gap."""
    metric = "mae" if final.get("val/mae") is not None else "acc"
    rows = []
    objective, data = final.get("train/loss"), final.get("train/loss_data")
    if objective is not None and data is not None:
        rows.append(
            (
                "final objective",
                f"{_fmt(objective)} = data loss {_fmt(data)} + penalties {_fmt(objective - data)} "
                "(training batches)",
            )
        )
    evaluated = final.get("train_eval/loss") is not None
    train = "train_eval" if evaluated else "train"
    note = " (eval mode, as in the gap)" if evaluated else " (training batches)"
    train_loss = final.get("train_eval/loss") if evaluated else data
    rows.append(
        (
            f"final train loss / {metric}",
            f"{_fmt(train_loss)} / {_fmt(final.get(f'{train}/{metric}'))}{note}",
        )
    )
    rows += [
        (
            f"final {part} loss / {metric}",
            f"{_fmt(final.get(f'{part}/loss'))} / {_fmt(final.get(f'{part}/{metric}'))}",
        )
        for part in ("val", "gap")
    ]
    rows.append(
        (
            f"best val loss / {metric}",
            f"{_fmt(best.get('val/loss'))} / {_fmt(best.get(f'val/{metric}'))} "
            f"(epoch {_fmt(best.get('epoch'))})",
        )
    )
    return rows
