"""OmegaConf resolvers the config tree uses; registered before Hydra composes anything."""

from __future__ import annotations

import secrets

from omegaconf import OmegaConf

# One random tag per process: two jobs started in the same second (or on two nodes) never share a
# run dir, and every resolution inside one process agrees on the same value.
_PROCESS_UID = secrets.token_hex(3)


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("regopt.uid"):
        OmegaConf.register_new_resolver("regopt.uid", lambda: _PROCESS_UID)
