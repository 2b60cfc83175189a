"""The W&B keys regopt's dashboards and reports name: one list, shared with what logs them.

History keys are the per-epoch metrics of `metrics.csv` (the module, the diagnostics and the
learning-rate callback log them; tests/test_dashboard.py checks each one against a real run's W&B
history). Summary keys are written by `wandb_summary.publish_to_wandb`; option keys by
`naming.option_config`, both from the names below, so a panel cannot name a key nobody writes.
"""

from __future__ import annotations

EPOCH = "epoch"  # every metric's x-axis (define_metric step_metric)

# history: per-epoch metrics, plotted against EPOCH
LOSS_CURVES = ("train/loss_data", "train_eval/loss", "val/loss")
ACC_CURVES = ("train/acc", "train_eval/acc", "val/acc")
GAP_LOSS, GAP_ACC = "gap/loss", "gap/acc"
EPOCHS_SINCE_BEST = "val/epochs_since_best"
GRAD_NORMS = ("grad/data", "grad/penalties")
GRAD_RATIO = "grad/ratio"
WEIGHT_NORMS = ("weights/l2", "weights/l1")
WEIGHT_SPARSITY = "weights/sparsity"
WEIGHT_L2_PER_LAYER = r"weights/l2/.*"  # a regex over the per-layer keys `weights/l2/<layer>`
LEARNING_RATE = "opt/lr"
CURVES_IMAGE = "curves"  # the learning-curve figure, logged once at the end

HISTORY_KEYS = (
    *LOSS_CURVES,
    *ACC_CURVES,
    GAP_LOSS,
    GAP_ACC,
    EPOCHS_SINCE_BEST,
    *GRAD_NORMS,
    GRAD_RATIO,
    *WEIGHT_NORMS,
    WEIGHT_SPARSITY,
    LEARNING_RATE,
)

# summary: the verdict and its numbers, written once the run ends
STATUS, VERDICT, ONSET = "status", "verdict", "onset_epoch"
DIAGNOSIS_KIND = "diagnosis/kind"
BEST_VAL_LOSS = "best/val/loss"
FINAL_GAP_LOSS = "final/gap/loss"
VERDICT_TABLE = (VERDICT, ONSET, DIAGNOSIS_KIND, BEST_VAL_LOSS, FINAL_GAP_LOSS, STATUS)

# config: Hydra's chosen options, one flat key each (`choices/optimizer: nesterov`), and the seed
OPTION_GROUPS = ("regularizer", "optimizer", "data", "model", "experiment")
OPTION_PREFIX = "choices/"
SEED = "seed"


def option_key(group: str) -> str:
    return OPTION_PREFIX + group
