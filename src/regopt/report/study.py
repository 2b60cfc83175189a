"""The Optuna study of a sweep, in its report: every trial (state, parameters, values, the epoch it
was pruned at), the best trial or the Pareto front, and Optuna's own figures (optimisation
history, parameter importances, Pareto front) drawn with its matplotlib backend.

The sweeper leaves `study.yaml` in the sweep dir (storage URL, study name, objectives); a dir
without it has no study and gets no section.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

STUDY_FILE = "study.yaml"


def load_study(root: Path) -> tuple[Any, list[str]] | None:
    """(the study, its objectives), or None when `root` holds no study record."""
    if not (root / STUDY_FILE).is_file():
        return None
    import optuna

    from regopt.search.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    record = OmegaConf.load(root / STUDY_FILE)
    study = optuna.load_study(study_name=record.study_name, storage=open_storage(record.storage))
    return study, [str(o) for o in record.objectives]


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else ("-" if value is None else str(value))


def trials_table(study: Any, objectives: list[str]) -> str:
    trials = study.get_trials(deepcopy=False)
    params = sorted({name for t in trials for name in t.params})
    header = ["trial", "state", *params, *objectives, "epochs", "pruned at epoch", "job"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for t in trials:
        values = t.values or [None] * len(objectives)
        if t.state.name == "PRUNED":  # Optuna keeps the last reported value, not an objective's
            values = [None] * len(objectives)
        attrs = t.user_attrs
        cells = [
            str(t.number),
            t.state.name.lower(),
            *(_number(t.params.get(p)) for p in params),
            *(_number(v) for v in values),
            _number(attrs.get("epochs")),
            _number(attrs.get("pruned_epoch")),
            Path(attrs.get("job_dir", "-")).name,
        ]  # noqa: E501
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def best_lines(study: Any, objectives: list[str]) -> list[str]:
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if not complete:
        return ["No trial completed: no best parameters."]
    if len(objectives) == 1:
        best = study.best_trial
        params = ", ".join(f"{k}={_number(v)}" for k, v in best.params.items())
        return [f"Best: trial {best.number}, {objectives[0]} {best.value:.4g} ({params})."]
    front = sorted(study.best_trials, key=lambda t: t.number)
    header = ["trial", *objectives]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows += ["| " + " | ".join([str(t.number), *map(_number, t.values)]) + " |" for t in front]
    return [
        f"### Pareto front ({len(front)} trials: no other completed trial is at least as low "
        "in every objective and lower in one)",
        "\n".join(rows),
    ]


def study_figures(study: Any, objectives: list[str], out: Path) -> dict[str, Path]:
    """Optuna's figures that this study supports; one Optuna cannot draw (too few completed
    trials for importances, say) is left out with a log line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as vis

    first = {"target": lambda t: t.values[0], "target_name": objectives[0]}
    single = len(objectives) == 1
    plots: dict[str, Callable[[], Any]] = {
        "study_history": lambda: vis.plot_optimization_history(study, **({} if single else first)),
        "study_importances": lambda: vis.plot_param_importances(study, **({} if single else first)),
    }
    if not single:
        plots["study_pareto_front"] = lambda: vis.plot_pareto_front(
            study, target_names=objectives[:3]
        )
    written = {}
    for name, plot in plots.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna's "experimental" notices
                axes = plot()
            figure = getattr(axes, "figure", None) or axes.flat[0].figure
            figure.savefig(out / f"{name}.png", dpi=100, bbox_inches="tight")
            plt.close(figure)
            written[name] = out / f"{name}.png"
        except Exception as error:  # noqa: BLE001 - a figure Optuna cannot draw is left out
            logging.getLogger("regopt").info(f"{name}.png not drawn: {error}")
    return written


def study_section(root: Path, out: Path, figures: bool) -> tuple[list[str], dict[str, Path]]:
    """report.md's study section and its figures; nothing for a sweep without a study."""
    loaded = load_study(root)
    if loaded is None:
        return [], {}
    study, objectives = loaded
    states = [t.state.name.lower() for t in study.get_trials(deepcopy=False)]
    tally = ", ".join(f"{states.count(s)} {s}" for s in dict.fromkeys(states))
    parts = [
        f"## Optuna study '{study.study_name}' ({len(states)} trials: {tally}; minimising "
        f"{', '.join(objectives)})",
        *best_lines(study, objectives),
        trials_table(study, objectives),
    ]
    written = study_figures(study, objectives, out) if figures else {}
    parts += [f"![{name}]({path.name})" for name, path in written.items()]
    return parts, written
