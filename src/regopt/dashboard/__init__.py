"""W&B dashboards as code: a project workspace and a report per sweep, built from the keys regopt
logs (regopt.tracking.keys), saved with wandb-workspaces or written as JSON with no network."""
