"""Silence three messages that Lightning and torch print on every run and that say nothing about it:
Lightning 2.6's advert for its cloud logger ("💡 Tip: ... litlogger"), torch 2.13's deprecation of
`LeafSpec`, which Lightning's own `_pytree` helper still uses, and Lightning's hint to prepend
`srun`, printed by every Trainer (the config check builds one too) on any machine where SLURM's
client is installed: regopt's SLURM jobs run under srun through `hydra/launcher=slurm`, and a run
outside SLURM there is no mistake. Everything else Lightning logs or warns is kept."""

from __future__ import annotations

import logging
import warnings

ADVERT_PREFIX = "💡 Tip:"
LIGHTNING_INFO_LOGGER = "pytorch_lightning.utilities.rank_zero"
SRUN_HINT = r"The `srun` command is available on your system but is not used"


class _DropAdverts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(ADVERT_PREFIX)


def quiet_third_party_notices() -> None:
    """Idempotent; called at the start of every job (before the config check) and of every fit
    (also in spawned DDP and joblib workers)."""
    logger = logging.getLogger(LIGHTNING_INFO_LOGGER)
    if not any(isinstance(f, _DropAdverts) for f in logger.filters):
        logger.addFilter(_DropAdverts())
    leaf_spec = r"`isinstance\(treespec, LeafSpec\)` is deprecated"
    warnings.filterwarnings("ignore", message=leaf_spec, category=FutureWarning)
    warnings.filterwarnings("ignore", message=SRUN_HINT)
