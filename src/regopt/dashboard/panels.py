"""The panels of regopt's W&B dashboard, section by section: one definition for the workspace and
the sweep reports. Every key comes from regopt.tracking.keys."""

from __future__ import annotations

from typing import Any

from regopt.tracking import keys as k

AGGREGATE = {"groupby_aggfunc": "mean", "groupby_rangefunc": "minmax"}  # seeds as a band
RESULTS = (k.BEST_VAL_LOSS, k.FINAL_GAP_LOSS, k.ONSET)
OPTIONS = ("regularizer", "optimizer")


def _line(wr: Any, title: str, y: tuple[str, ...] | list[str], **extra: Any) -> Any:
    return wr.LinePlot(title=title, x=k.EPOCH, y=list(y), aggregate=True, **AGGREGATE, **extra)


def learning_curves(wr: Any) -> list[Any]:
    return [
        _line(wr, "losses (log y)", k.LOSS_CURVES, log_y=True),
        _line(wr, "accuracies", k.ACC_CURVES),
    ]


def overfitting(wr: Any) -> list[Any]:
    results = [wr.ScalarChart(title=n, metric=wr.SummaryMetric(n), **AGGREGATE) for n in RESULTS]
    return [
        _line(wr, "generalisation gap: loss (growing = overfitting)", [k.GAP_LOSS]),
        _line(wr, "generalisation gap: accuracy", [k.GAP_ACC]),
        _line(wr, "epochs since the best val loss (rising = stalled)", [k.EPOCHS_SINCE_BEST]),
        *results,
        wr.RunComparer(diff_only="split"),  # config and verdict, run beside run
    ]


def regularisation_vs_optimisation(wr: Any) -> list[Any]:
    return [
        _line(wr, "gradient norms: data loss vs penalties (log y)", k.GRAD_NORMS, log_y=True),
        _line(wr, "penalty / data gradient ratio", [k.GRAD_RATIO]),
        _line(wr, "weight norms", k.WEIGHT_NORMS),
        _line(wr, "weight sparsity", [k.WEIGHT_SPARSITY]),
        _line(wr, "weight L2 norm per layer", [], metric_regex=k.WEIGHT_L2_PER_LAYER),
        _line(wr, "learning rate", [k.LEARNING_RATE]),
    ]


def sweep(wr: Any) -> list[Any]:
    inputs = [wr.Config(k.option_key(g)) for g in OPTIONS] + [wr.Config(k.SEED)]
    outputs = [wr.SummaryMetric(name) for name in RESULTS]
    columns = [wr.ParallelCoordinatesPlotColumn(metric=m) for m in [*inputs, *outputs]]
    best = wr.SummaryMetric(k.BEST_VAL_LOSS)
    return [
        wr.ParallelCoordinatesPlot(title="options -> results", columns=columns),
        wr.BarPlot(
            title="best val loss by tag (mean over runs)",
            metrics=[best],
            groupby="Tags",
            groupby_aggfunc="mean",
        ),
        wr.MediaBrowser(title="learning curves and verdicts", media_keys=[k.CURVES_IMAGE]),
    ]


def sections(wr: Any) -> list[tuple[str, list[Any]]]:
    """(section name, panels) in the order they appear; `wr` is wandb_workspaces.reports.v2."""
    return [
        ("Learning curves", learning_curves(wr)),
        ("Overfitting", overfitting(wr)),
        ("Regularisation vs optimisation", regularisation_vs_optimisation(wr)),
        ("Sweep", sweep(wr)),
    ]


def verdict_columns() -> list[str]:
    """The run table's pinned columns: the options and seed, then the verdict table. A config key
    is `config:<key>.value`, the accessor wandb-workspaces itself writes for config columns."""
    config = [f"config:{k.option_key(g)}.value" for g in OPTIONS] + [f"config:{k.SEED}.value"]
    return [*config, *(f"summary:{s}" for s in k.VERDICT_TABLE)]
