"""regopt's Optuna sweeper. Hydra loads sweeper classes only from `hydra_plugins`."""
