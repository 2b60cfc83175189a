"""The verdict says whether the layers' power-law exponents agree with the gap, when they were
measured: a layer below alpha 2 (WeightWatcher's over-trained) agrees with overfitting, every layer
at 2 or above with none."""

from __future__ import annotations

from regopt.diagnostics.verdict import diagnose_rows
from test_sharpness_verdict import plateau, rows


def with_alphas(base: list[dict[str, float]], alphas, every: int = 10) -> list[dict[str, float]]:
    """`alphas(epoch)` -> {layer: alpha}, logged as regopt.diagnostics.spectral logs them."""
    for row in base:
        if row["epoch"] % every == 0:
            layers = alphas(row["epoch"])
            row.update({f"spectral/{name}/alpha": a for name, a in layers.items()})
            row["spectral/alpha"] = sum(layers.values()) / len(layers)
    return base


def test_an_over_trained_layer_agrees_with_overfitting() -> None:
    # the first layer's alpha falls through 2 as the run overfits; the last is read (epoch 50)
    alphas = lambda e: {"model.net.0": 4.0 - e / 20, "model.net.2": 3.0}  # noqa: E731
    diagnosis = diagnose_rows(with_alphas(rows(None, overfit=True), alphas))
    assert diagnosis.kind == "overfitting"
    assert diagnosis.spectral == {
        "agrees": True,
        "epoch": 50,
        "min_alpha": 4.0 - 50 / 20,
        "min_alpha_layer": "model.net.0",
        "over_trained_layers": ["model.net.0"],
    }
    assert diagnosis.verdict.endswith(
        "; spectra agree: at epoch 50 1 of 2 layers below alpha 2 (over-trained), "
        "the smallest 1.50 (model.net.0)"
    )
    assert diagnosis.to_dict()["spectral"] == diagnosis.spectral


def test_well_trained_layers_disagree_with_overfitting_and_agree_with_none() -> None:
    alphas = lambda e: {"model.net.0": 3.5, "model.net.2": 2.0}  # noqa: E731  (2 is not below)
    overfit = diagnose_rows(with_alphas(rows(None, overfit=True), alphas))
    assert overfit.kind == "overfitting" and overfit.spectral["agrees"] is False
    assert "; spectra disagree: at epoch 50 every layer at alpha >= 2" in overfit.verdict
    flat = diagnose_rows(with_alphas(plateau(None), alphas))
    assert flat.kind == "none" and flat.spectral["agrees"] is True
    assert flat.spectral["over_trained_layers"] == []


def test_no_alpha_no_clause_and_both_opinions_together() -> None:
    plain = diagnose_rows(rows(None, overfit=True))
    assert plain.spectral is None and "spectra" not in plain.verdict
    assert "spectral" not in plain.to_dict()
    both = diagnose_rows(
        with_alphas(rows(lambda e: 1.0 + e / 10, overfit=True), lambda e: {"model.net.0": 1.8})
    )
    assert both.sharpness["agrees"] is True and both.spectral["agrees"] is True
    assert both.verdict.index("; sharpness agrees") < both.verdict.index("; spectra agree")
