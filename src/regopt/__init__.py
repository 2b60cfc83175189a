"""regopt: regularisation versus optimisation, made visible."""

__version__ = "0.1.0"
