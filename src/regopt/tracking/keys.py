"""The keys regopt's W&B dashboard and reports name: one list, shared with what logs them.

The gradient, weight, best-epoch and learning-rate diagnostics log under the names below, as do
the W&B summary (`wandb_summary`) and the option keys (`naming.option_config`); the loss and
accuracy curves are the task's metrics, named where they are computed (`module`, `train_eval`).
tests/test_dashboard.py checks every key a panel names against a real sweep's W&B records.
"""

from __future__ import annotations

EPOCH = "epoch"  # every metric's x-axis (define_metric step_metric)

# history: per-epoch metrics, plotted against EPOCH
LOSS_CURVES = ("train/loss_data", "train_eval/loss", "val/loss")
ACC_CURVES = ("train/acc", "train_eval/acc", "val/acc")
GAP_LOSS, GAP_ACC = "gap/loss", "gap/acc"
EPOCHS_SINCE_BEST = "val/epochs_since_best"
GRAD_DATA, GRAD_PENALTIES, GRAD_RATIO = "grad/data", "grad/penalties", "grad/ratio"
GRAD_NORMS = (GRAD_DATA, GRAD_PENALTIES)
WEIGHT_L2, WEIGHT_L1, WEIGHT_SPARSITY = "weights/l2", "weights/l1", "weights/sparsity"
WEIGHT_NORMS = (WEIGHT_L2, WEIGHT_L1)
WEIGHT_L2_PER_LAYER = WEIGHT_L2 + "/.*"  # a regex over the per-layer keys `weights/l2/<layer>`
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
