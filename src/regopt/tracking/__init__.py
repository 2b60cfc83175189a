"""Experiment trackers. Optional by design: a failing tracker never costs the local record."""
