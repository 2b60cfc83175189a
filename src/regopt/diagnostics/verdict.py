"""The overfitting verdict: one precise, noise-robust rule applied to a run's epoch curves.

Rules (docs/diagnostics.md explains the choices). `val` is the validation loss per validated epoch,
`train` the training loss on the same epochs (`train_eval/loss`, else `train/loss_data`, else
`train/loss`); `p` = `patience` in epochs, capped at a third of the run (`effective_patience`):

1. A non-finite value: **diverged**, at the first such epoch.
2. Fewer than `min_epochs` validated epochs (validations, whatever the epochs between): **too
   short** to judge.
3. Smooth both curves: a centred running median of `smooth_window` validations (it drops isolated
   spikes), then a centred running mean of the same width (it averages the remaining noise); the
   window too is capped at a third of the validations (`effective_window`).
   `m` = the epoch of the smoothed validation minimum `v_min`; the end levels `v_end`, `t_end` are
   the smoothed curves' last values, so a curve still falling at the end ends at its minimum
   (`val_rise` = 0), whatever the run's length.
4. **overfitting** from epoch `m` when `m` is at least `p` epochs before the last validated one,
   `v_end >= (1 + min_rise) * v_min` and `t_end < smoothed train at m` (training still improves).
   The same rise with a training loss that did not fall is **unstable** (an optimisation problem).
5. **improving** when the end level lies at least `min_rise` below the smoothed best reached before
   the last `p` epochs: the run ended while still learning, too early to say whether it overfits.
6. **underfitting** when the training loss fell by less than `min_train_fall` of its first value.
7. Otherwise **none**: no overfitting within the run's epochs (a rise that began fewer than `p`
   epochs before the end is named, but not called overfitting).

When `diagnostics=sharpness` ran, the verdict ends with whether the top Hessian eigenvalue agrees
(regopt.diagnostics.sharpness_verdict), and when `diagnostics=spectral` ran, whether the layers'
power-law exponents do (regopt.diagnostics.spectral_verdict). Sentences count epochs trained, not
validations (with `check_val_every_n_epoch=20`, 400 epochs are 20 validations).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from regopt.config.signature import checked
from regopt.diagnostics.sharpness_verdict import sharpness_opinion
from regopt.diagnostics.spectral_verdict import spectral_opinion
from regopt.ranges import Fraction, OddPositiveInt, Positive, PositiveInt

TRAIN_KEYS = ("train_eval/loss", "train/loss_data", "train/loss")
VAL_KEY = "val/loss"


@checked
@dataclass(frozen=True)
class VerdictRules:
    smooth_window: OddPositiveInt = 5  # epochs in the centred running median
    min_rise: Positive = 0.10  # relative rise of the validation loss above its minimum
    patience: PositiveInt = 10  # epochs a rise must last (at most a third of the run)
    min_epochs: PositiveInt = 10  # fewer validated epochs (validations): too short to judge
    min_train_fall: Fraction = 0.5  # the training loss must fall this fraction, else underfitting


@dataclass(frozen=True)
class Diagnosis:
    # overfitting | improving | none | underfitting | unstable | diverged | too_short; and, from
    # the record (regopt.record.summary): pruned (an Optuna study stopped it), fast_dev_run
    kind: str
    verdict: str
    onset_epoch: int | None = None
    min_epoch: int | None = None  # epoch of the smoothed validation minimum
    val_rise: float | None = None  # v_end / v_min - 1, both smoothed: >= 0
    train_fall: float | None = None  # 1 - t_end / smoothed train at the minimum
    val_recent_fall: float | None = None  # 1 - v_end / smoothed best before the last p epochs
    patience: int | None = None  # p: the epochs a rise must last (capped at a third of the run)
    sharpness: dict[str, Any] | None = None  # whether the curvature agrees (sharpness_verdict)
    spectral: dict[str, Any] | None = None  # whether the layers' alphas agree (spectral_verdict)

    def to_dict(self) -> dict[str, Any]:
        """The numbers behind the verdict (the verdict and onset are summary.json's own keys)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("verdict", "onset_epoch")}
        for opinion in ("sharpness", "spectral"):
            if out[opinion] is None:
                del out[opinion]
        return out


def running_median(values: np.ndarray, window: int) -> np.ndarray:
    """Centred running median; the window shrinks at both ends instead of padding."""
    half = max(int(window), 1) // 2
    n = len(values)
    return np.array([np.median(values[max(0, i - half) : i + half + 1]) for i in range(n)])


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    half = max(int(window), 1) // 2
    n = len(values)
    return np.array([np.mean(values[max(0, i - half) : i + half + 1]) for i in range(n)])


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Median first (spikes never reach the mean), then mean (noise averages out)."""
    return running_mean(running_median(values, window), window)


def curves_from_rows(
    rows: Sequence[dict[str, float]],
) -> tuple[list[int], list[float], list[float]]:
    """Epochs, validation and training losses of the rows that have a validation loss."""
    train_key = next((k for k in TRAIN_KEYS if any(k in r for r in rows)), None)
    epochs, val, train = [], [], []
    for row in rows:
        if VAL_KEY not in row:
            continue
        epochs.append(int(row["epoch"]))
        val.append(float(row[VAL_KEY]))
        train.append(float(row.get(train_key, math.nan)) if train_key else math.nan)
    return epochs, val, train


def diagnose_rows(rows: Sequence[dict[str, float]], rules: VerdictRules | None = None) -> Diagnosis:
    """The verdict of a run's rows, with the curvature's and the spectra's opinions when they were
    measured."""
    rules = rules or VerdictRules()
    epochs_run = max((int(r["epoch"]) + 1 for r in rows if "epoch" in r), default=0)
    diagnosis = diagnose(*curves_from_rows(rows), rules=rules, epochs_run=epochs_run)
    opinions = {
        "sharpness": sharpness_opinion(diagnosis.kind, diagnosis.min_epoch, rows, rules.min_rise),
        "spectral": spectral_opinion(diagnosis.kind, rows),
    }
    for name, opinion in opinions.items():
        if opinion is not None:
            clause, numbers = opinion
            diagnosis = replace(diagnosis, verdict=diagnosis.verdict + clause, **{name: numbers})
    return diagnosis


def effective_patience(rules: VerdictRules, epochs_run: int) -> int:
    """`patience`, but at most a third of the run, so a short run can still show a sustained rise
    (a 10-epoch run judges over its last 3 epochs, a 15-epoch run over 5)."""
    return max(1, min(int(rules.patience), epochs_run // 3))


def effective_window(rules: VerdictRules, validations: int) -> int:
    """`smooth_window`, but at most a third of the validations (odd), so smoothing a short run
    does not flatten the very rise or fall it is asked about."""
    third = max(1, validations // 3)
    return max(1, min(int(rules.smooth_window), third if third % 2 else third - 1))


def diagnose(
    epochs: Sequence[int],
    val: Sequence[float],
    train: Sequence[float],
    rules: VerdictRules | None = None,
    epochs_run: int | None = None,
) -> Diagnosis:
    """`epochs`: the validated epochs; `epochs_run`: how many were trained (default: up to the
    last validated one)."""
    rules = rules or VerdictRules()
    v, t = np.asarray(val, dtype=float), np.asarray(train, dtype=float)
    has_train = len(t) > 0 and not np.isnan(t).all()
    bad = ~np.isfinite(v) | (~np.isfinite(t) if has_train else False)
    if bad.any():
        epoch = int(epochs[int(np.argmax(bad))])
        return Diagnosis("diverged", f"diverged at epoch {epoch}: the loss stopped being finite")
    n = len(v)
    run = max(epochs_run or 0, int(epochs[-1]) + 1 if n else 0)
    every = n == run  # every epoch validated: say epochs only
    span = f"{run} epochs" if every else f"{n} validations in {run} epochs"
    if n < rules.min_epochs:
        return Diagnosis(
            "too_short", f"too short to judge: {span} (at least {rules.min_epochs} needed)"
        )
    last = np.asarray(epochs, dtype=int)
    p, w = effective_patience(rules, run), effective_window(rules, n)
    v_smooth = smooth(v, w)
    m = int(np.argmin(v_smooth))
    v_min, v_end = float(v_smooth[m]), float(v_smooth[-1])
    rise = v_end / v_min - 1.0 if v_min > 0 else math.inf
    window_start = int(np.argmax(last > last[-1] - p))  # first validation in the last p epochs
    best_before = float(v_smooth[: max(window_start, 1)].min())  # the best before those epochs
    recent_fall = 1.0 - v_end / best_before if best_before > 0 else 0.0
    fall, t_end = None, math.nan
    if has_train:
        t_smooth = smooth(t, w)
        t_at_min, t_end = float(t_smooth[m]), float(t_smooth[-1])
        fall = 1.0 - t_end / t_at_min if t_at_min > 0 else 0.0
    numbers = {
        "min_epoch": int(epochs[m]),
        "val_rise": rise,
        "train_fall": fall,
        "val_recent_fall": recent_fall,
        "patience": p,
    }
    since_min = int(last[-1] - last[m])
    rising = rise >= rules.min_rise
    if rising and since_min >= p and (fall is None or fall > 0):
        falling = f" while training loss fell {fall:.0%}" if fall is not None else ""
        return Diagnosis(
            "overfitting",
            f"overfitting from epoch {last[m]}: validation loss {rise:.0%} above its minimum"
            f"{falling}",
            onset_epoch=int(last[m]),
            **numbers,
        )
    if rising and since_min >= p:
        return Diagnosis(
            "unstable",
            f"unstable: validation loss {rise:.0%} above its minimum (epoch {last[m]}) while "
            "training loss did not fall: an optimisation problem, not overfitting",
            **numbers,
        )
    if recent_fall >= rules.min_rise:
        return Diagnosis(
            "improving",
            f"still improving after {run} epochs: validation loss {recent_fall:.0%} below its "
            f"earlier best in the last {p} epochs (lowest at epoch {last[m]}); train longer to "
            "see whether it overfits",
            **numbers,
        )
    if has_train and t[0] > 0:
        total_fall = 1.0 - t_end / float(t[0])
        if total_fall < rules.min_train_fall:
            start = "" if last[0] == 0 else f" at epoch {last[0]}"
            return Diagnosis(
                "underfitting",
                f"underfitting: training loss fell only {max(total_fall, 0.0):.0%} in {run} "
                f"epochs ({t[0]:.3g}{start} to {t_end:.3g})",
                **numbers,
            )
    sparse = "" if every else f"{n} validations; "
    if rising:  # a rise that began fewer than p epochs before the end
        return Diagnosis(
            "none",
            f"no overfitting within {run} epochs yet ({sparse}validation loss {rise:.0%} above "
            f"its minimum at epoch {last[m]}, only {since_min} epochs before the end: fewer "
            f"than the {p} a rise must last)",
            **numbers,
        )
    return Diagnosis(
        "none",
        f"no overfitting within {run} epochs ({sparse}validation loss ends {rise:.0%} above its "
        f"minimum at epoch {last[m]})",
        **numbers,
    )
