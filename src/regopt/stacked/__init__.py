"""Stacked sweeps: K jobs of a sweep trained as one stacked model in one process."""
