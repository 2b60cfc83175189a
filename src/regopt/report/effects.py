"""Each setting's effect against its factor's baseline, per cell, with a 95% interval.

A factor is a key the cells differ by (regulariser, optimiser, ...). Its baseline is given
(`--baseline regularizer=none`), else `none` for the regulariser when swept, else the factor's
first value. The effect of a cell is its metric minus the metric of the cell that differs only
in that factor (set to the baseline), run by run over the keys the cells pool (the seed): see
stats.py for the intervals.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from regopt.report.aggregate import (
    CONVERGENCE_METRICS,
    METRICS,
    Group,
    group_runs,
    metric,
    values_in_order,
)
from regopt.report.collect import Run
from regopt.report.stats import Interval, effect

NOISE = "within seed noise"


@dataclass(frozen=True)
class Effect:
    cell: tuple[str, ...]  # the cell's values of the cell keys
    factor: str
    value: str  # the factor's setting in this cell
    baseline: str
    context: tuple[tuple[str, str], ...]  # the other cell keys and their values
    metric: str
    interval: Interval | None  # None: no completed run with a value on one side
    counts: str = ""  # "k/n here, k/n at the baseline": completed runs with a value

    @property
    def where(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.context)


def baselines(
    runs: Sequence[Run], keys: Sequence[str], given: Sequence[str] = ()
) -> dict[str, str]:
    """The baseline value of every factor; ValueError (one line) for a bad `KEY=VALUE`."""
    chosen: dict[str, str] = {}
    for item in given:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--baseline {item}: expected KEY=VALUE")
        if key not in keys:
            raise ValueError(f"--baseline {item}: {key!r} is not a swept key ({', '.join(keys)})")
        values = values_in_order(runs, key)
        if value not in values:
            raise ValueError(
                f"--baseline {item}: {value!r} is not a value of {key} ({', '.join(values)})"
            )
        chosen[key] = value
    for key in keys:
        values = values_in_order(runs, key)
        default = "none" if key == "regularizer" and "none" in values else values[0]
        chosen.setdefault(key, default)
    return {key: chosen[key] for key in keys}


def values_by_run(group: Group, pair_keys: Sequence[str], name: str) -> dict[Hashable, float]:
    """The completed runs' values keyed by their pooled keys (the seed): the pairing key. Two runs
    with the same key are kept apart (they cannot be paired)."""
    found: dict[Hashable, float] = {}
    for run in group.completed:
        value = metric(run, name)
        if value is None:
            continue
        key: Hashable = tuple(run.overrides.get(k) for k in pair_keys)
        found[key if key not in found else (key, len(found))] = value
    return found


def cell_effects(
    runs: Sequence[Run],
    cell_keys: Sequence[str],
    swept: Sequence[str],
    base: dict[str, str],
    names: Sequence[str],
) -> list[Effect]:
    """Every non-baseline cell's effect per factor in `cell_keys`, for each metric in `names`."""
    pair_keys = [k for k in swept if k not in cell_keys]
    groups = {g.key: g for g in group_runs(runs, cell_keys)}
    found = []
    for i, factor in enumerate(cell_keys):
        for key, group in groups.items():
            if key[i] == base[factor]:
                continue
            reference = groups.get((*key[:i], base[factor], *key[i + 1 :]))
            if reference is None:
                continue
            context = tuple(
                (k, v) for j, (k, v) in enumerate(zip(cell_keys, key, strict=True)) if j != i
            )
            for name in names:
                here = values_by_run(group, pair_keys, name)
                there = values_by_run(reference, pair_keys, name)
                counts = (
                    f"{len(here)}/{len(group.completed)} here, "
                    f"{len(there)}/{len(reference.completed)} at the baseline"
                )
                found.append(
                    Effect(
                        key,
                        factor,
                        key[i],
                        base[factor],
                        context,
                        name,
                        effect(here, there),
                        counts,
                    )
                )
    return found


def decimals(interval: Interval) -> int:
    """One significant digit of the half-width, and one more (0.012 [0.004, 0.020])."""
    half = (interval.high - interval.low) / 2 if interval.high is not None else 0.0
    scale = half or abs(interval.mean)  # equal differences in every seed: the mean's digits
    if not scale or not math.isfinite(scale):
        return 0
    return min(max(1 - math.floor(math.log10(scale)), 0), 6)


def format_interval(interval: Interval | None) -> str:
    """`+0.0120 [+0.0040, +0.0200]`, `... within seed noise`, or the mean alone under 2 seeds."""
    if interval is None:
        return "-"
    d = decimals(interval)
    if interval.low is None or interval.high is None:
        return f"{interval.mean:+.{d}f} (1 seed, no interval)"
    if interval.low == interval.high == interval.mean == 0.0:
        return f"0 (equal in every seed) {NOISE}"
    text = f"{interval.mean:+.{d}f} [{interval.low:+.{d}f}, {interval.high:+.{d}f}]"
    return f"{text} {NOISE}" if interval.within_noise else text


def clause(e: Effect) -> str:
    """`l2 lowers best val loss by 0.012 [0.004, 0.020]`, or `dropout: within seed noise (...)`."""
    label, i = METRICS[e.metric][0], e.interval
    if i is None:
        verb = "reached the target" if e.metric in CONVERGENCE_METRICS else f"had a {label}"
        return f"{e.value}: nothing to compare (runs that {verb}: {e.counts})"
    if i.low is None or i.high is None:
        return f"{e.value}: one seed, no interval ({label} {i.mean:+.4g})"
    if i.low == i.high == i.mean == 0.0:
        return f"{e.value}: the same {label} in every paired seed"
    if i.within_noise:
        return f"{e.value}: {NOISE} ({format_interval(i).removesuffix(' ' + NOISE)})"
    d = decimals(i)
    verb = "lowers" if i.mean < 0 else "raises"
    low, high = sorted((abs(i.low), abs(i.high)))
    seeds = f"{i.method}, {i.n} seed{'s' if i.n > 1 else ''}"
    return f"{e.value} {verb} {label} by {abs(i.mean):.{d}f} [{low:.{d}f}, {high:.{d}f}] ({seeds})"


def sentences(effects: Sequence[Effect], name: str) -> list[str]:
    """One sentence per factor and context for metric `name`, its settings' clauses joined."""
    lines: dict[tuple[str, str, tuple], list[Effect]] = {}
    for e in effects:
        if e.metric == name:
            lines.setdefault((e.factor, e.baseline, e.context), []).append(e)
    out = []
    for (factor, baseline, _), members in lines.items():
        where = members[0].where
        head = f"Under {where}, against" if where else "Against"
        out.append(f"{head} {factor}={baseline}: " + "; ".join(map(clause, members)) + ".")
    return out
