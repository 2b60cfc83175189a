"""regopt's stacked launcher (`hydra/launcher=stacked`). Hydra loads launchers only from
`hydra_plugins`."""
