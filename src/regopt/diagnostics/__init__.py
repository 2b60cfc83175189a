"""Overfitting diagnostics: per-epoch callbacks, cheap and on by default, and the run verdict."""
