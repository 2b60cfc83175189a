"""Weight averaging (Lightning's WeightAveraging: EMAWeightAveraging, regopt's SWA) in the record.

Lightning swaps the averaged weights in when a validation epoch starts and back when it ends. The
diagnostics measure the training subset in the same `on_validation_epoch_end` hook, so the
averaging callbacks go after them (`averaging_last`): `val/*`, `train_eval/*` and `gap/*` then all
describe the averaged weights. The weight, gradient, sharpness and spectral diagnostics run at the
end of the training epoch, on the weights the optimiser trains. summary.json names the averaging
(`describe_averaging`), since the validated numbers are of the average, not the trained weights
(SWA's from its start epoch: its class says so in `validated_on`).
"""

from __future__ import annotations

from typing import Any

from pytorch_lightning.callbacks import WeightAveraging

from regopt.config.errors import ConfigError

# what an average updated from the first step (EMA) is measured on; a callback that validates
# the trained weights for a while (SWA, regopt.callbacks.swa) says so in `validated_on`
VALIDATED_ON = "averaged weights (val/*, train_eval/*, gap/*, checkpoint monitors)"


def averaging_last(
    configured: list[tuple[str, Any]], settings: Any
) -> tuple[list[tuple[str, Any]], dict[str, Any] | None]:
    """The configured callbacks ("group.name", callback), weight averaging after every other
    (the order otherwise kept), and its record (None without one). `settings`: the run's
    RunSettings, whose groups hold each callback's config node."""
    specs = {
        name: getattr(settings, name.split(".")[0])[name.split(".", 1)[1]] for name, _ in configured
    }
    others = [(n, c) for n, c in configured if not isinstance(c, WeightAveraging)]
    averaging = [(n, c) for n, c in configured if isinstance(c, WeightAveraging)]
    try:
        return others + averaging, describe_averaging(configured, specs)
    except ValueError as error:
        raise ConfigError(str(error)) from error


def describe_averaging(
    configured: list[tuple[str, Any]], specs: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """`weight_averaging` in summary.json: which callback averaged (with its settings, from
    `specs`: "callbacks.ema" -> its config node), and what was measured on the average."""
    found = [name for name, callback in configured if isinstance(callback, WeightAveraging)]
    if not found:
        return None
    if len(found) > 1:
        raise ValueError(
            f"{', '.join(found)}: two weight averages would swap each other's weights; allowed: one"
        )
    settings = {k: v for k, v in specs.get(found[0], {}).items() if not k.startswith("_")}
    callback = dict(configured)[found[0]]
    return {
        "callback": found[0],
        "type": type(callback).__name__,
        **settings,
        "validated_on": getattr(callback, "validated_on", VALIDATED_ON),
        "final_weights": getattr(callback, "final_weights", "averaged"),
    }
