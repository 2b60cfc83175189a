"""Optimisers and learning-rate schedules: they see parameters, never the objective."""
