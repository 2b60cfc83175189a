"""Hyper-parameter search with Optuna: the search space, the study's storage, the job's pruning
callback, a trial's outcome from its record, and the study's part of the sweep report."""
