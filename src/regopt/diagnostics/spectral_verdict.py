"""Whether the layers' spectra agree with the gap-based verdict, when `diagnostics=spectral` ran.

WeightWatcher's reading of heavy-tailed self-regularisation (Martin & Mahoney 2021): a layer whose
power-law exponent alpha falls below 2 is over-trained, its weights fitted to the training data
beyond what generalises; 2-6 is the well-trained range. The clause reads the last epoch with the
layers' alphas: any layer below `OVER_TRAINED` agrees with overfitting, all at or above it with
improving or none. Like sharpness's, it is a second opinion beside the verdict, not a rule of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from regopt.diagnostics.sharpness_verdict import JUDGED

OVER_TRAINED = 2.0  # WeightWatcher: alpha < 2, a layer over-fit to its training data
PREFIX, SUFFIX = "spectral/", "/alpha"


def layer_alphas(row: dict[str, float]) -> dict[str, float]:
    """layer -> alpha of one row (the mean `spectral/alpha` is not a layer)."""
    return {
        key[len(PREFIX) : -len(SUFFIX)]: float(value)
        for key, value in row.items()
        if key.startswith(PREFIX)
        and key.endswith(SUFFIX)
        and len(key) > len(PREFIX) + len(SUFFIX)  # not the mean, `spectral/alpha`
        and math.isfinite(value)
    }


def spectral_opinion(
    kind: str, rows: Sequence[dict[str, float]]
) -> tuple[str, dict[str, Any]] | None:
    """(the verdict's clause, the numbers behind it), or None when no alpha was measured."""
    if kind not in JUDGED:
        return None
    measured = [r for r in rows if "epoch" in r and layer_alphas(r)]
    if not measured:
        return None
    last = measured[-1]
    alphas = layer_alphas(last)
    layer, smallest = min(alphas.items(), key=lambda item: item[1])
    over_trained = sorted(name for name, alpha in alphas.items() if alpha < OVER_TRAINED)
    agrees = bool(over_trained) == (kind == "overfitting")
    numbers: dict[str, Any] = {
        "agrees": agrees,
        "epoch": int(last["epoch"]),
        "min_alpha": smallest,
        "min_alpha_layer": layer,
        "over_trained_layers": over_trained,
    }
    reading = (
        f"{len(over_trained)} of {len(alphas)} layers below alpha {OVER_TRAINED:g} (over-trained)"
        if over_trained
        else f"every layer at alpha >= {OVER_TRAINED:g}"
    )
    clause = (
        f"; spectra {'agree' if agrees else 'disagree'}: at epoch {numbers['epoch']} {reading}, "
        f"the smallest {smallest:.2f} ({layer})"
    )
    return clause, numbers
