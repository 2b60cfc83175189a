# Two commands do all set-up on a fresh machine: `make train` and `make test`.
# Each creates .venv when it is missing and installs into it once; a second call reinstalls nothing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.regopt-installed
# The CPU wheel that lies on this disk. Installed only when torch is absent, so a GPU
# machine's own CUDA build is kept (the package itself asks for torch>=2.4).
TORCH_CPU ?= torch==2.13.0
ARGS ?=

.PHONY: install train dashboard study sweep calibrate sequential double-descent implicit memorization adamw-decoupling mnist1d test test-slow bench bench-sweep lint format clean

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_CPU)"
	$(PY) -m pip install --quiet --editable ".[dev,search]"
	@touch $(STAMP)

train: install
	$(VENV)/bin/regopt-train $(ARGS)

# experiment=sequential_vs_joint (24 jobs of 40 epochs; 27 minutes on 2 busy cores); its report (arms.md,
# arms.csv, arms_curves.png) is written into the sweep dir and copied to docs/results/ for
# docs/schedules.md.
SEQ_DIR ?= logs/multiruns/sequential_vs_joint_$(shell date +%Y-%m-%d_%H-%M-%S)
SEQ_DOCS ?= docs/results/sequential_vs_joint
sequential: install
	$(VENV)/bin/regopt-train -m experiment=sequential_vs_joint logger=none hydra.sweep.dir="$(SEQ_DIR)" $(ARGS)
	$(PY) -m regopt.analysis.arms "$(SEQ_DIR)"
	mkdir -p $(SEQ_DOCS) && cp "$(SEQ_DIR)"/arms.md "$(SEQ_DIR)"/arms.csv "$(SEQ_DIR)"/arms_curves.png $(SEQ_DOCS)/

# experiment=double_descent (42 small jobs on the teacher regression task), its table and plot into
# the sweep dir, then copied to docs/results/double_descent/ for docs/data_and_models.md.
DD_DIR ?= logs/multiruns/double_descent_$(shell date +%Y-%m-%d_%H-%M-%S)
DD_DOCS ?= docs/results/double_descent
double-descent: install
	$(VENV)/bin/regopt-train -m experiment=double_descent logger=none hydra.sweep.dir="$(DD_DIR)" $(ARGS)
	$(PY) -m regopt.analysis.double_descent "$(DD_DIR)"
	mkdir -p $(DD_DOCS) && cp "$(DD_DIR)"/double_descent.md "$(DD_DIR)"/double_descent.csv "$(DD_DIR)"/double_descent.png $(DD_DOCS)/

# experiment=implicit_regularization (SGD, batch size x lr x 2 seeds: 18 jobs of 41 epochs, batches
# 16 and 64 as one stack each; 27 minutes of wall time, 5.5 of CPU time, on 2 heavily shared cores),
# its tables (implicit.md, implicit.csv, keskar.csv) and figure into the sweep dir, then copied to
# docs/results/implicit_regularization/ for docs/implicit_regularization.md.
IMPL_DIR ?= logs/multiruns/implicit_regularization_$(shell date +%Y-%m-%d_%H-%M-%S)
IMPL_DOCS ?= docs/results/implicit_regularization
implicit: install
	$(VENV)/bin/regopt-train -m experiment=implicit_regularization logger=none hydra/launcher=stacked hydra.sweep.dir="$(IMPL_DIR)" $(ARGS)
	$(PY) -m regopt.analysis.implicit "$(IMPL_DIR)"
	mkdir -p $(IMPL_DOCS) && cp "$(IMPL_DIR)"/implicit.md "$(IMPL_DIR)"/implicit.csv "$(IMPL_DIR)"/keskar.csv "$(IMPL_DIR)"/implicit.png $(IMPL_DOCS)/

# experiment=memorization (label corruption 0..1 x 2 seeds: 10 jobs of 80 epochs, one stack; 18
# minutes of wall time, 3.8 of CPU time, on 2 heavily shared cores), the epochs to fit the training
# set into the sweep dir, then copied to docs/results/memorization/ for docs/memorization.md.
MEM_DIR ?= logs/multiruns/memorization_$(shell date +%Y-%m-%d_%H-%M-%S)
MEM_DOCS ?= docs/results/memorization
memorization: install
	$(VENV)/bin/regopt-train -m experiment=memorization logger=none hydra/launcher=stacked hydra.sweep.dir="$(MEM_DIR)" $(ARGS)
	$(PY) -m regopt.analysis.memorization "$(MEM_DIR)"
	mkdir -p $(MEM_DOCS) && cp "$(MEM_DIR)"/memorization.md "$(MEM_DIR)"/memorization.csv "$(MEM_DIR)"/memorization.png $(MEM_DOCS)/
# experiment=adamw_decoupling (Loshchilov and Hutter 2019, Fig. 2): one sweep a pair (SGD + L2, SGDW,
# Adam + L2, AdamW; 5 lrs x 5 strengths x 2 seeds, 50 jobs in two stacks; about 20 minutes on 2 busy
# cores), its report (decoupling.md, .csv, .png) into the dir, copied to
# docs/results/adamw_decoupling/ for docs/concepts.md.
DEC_DIR ?= logs/multiruns/adamw_decoupling_$(shell date +%Y-%m-%d_%H-%M-%S)
DEC_DOCS ?= docs/results/adamw_decoupling
DEC_PAIRS ?= adam_l2 adamw sgd_l2 sgdw
adamw-decoupling: install
	for pair in $(DEC_PAIRS); do \
	  $(VENV)/bin/regopt-train -m experiment=adamw_decoupling experiment/adamw_decoupling/pair=$$pair logger=none hydra.sweep.dir="$(DEC_DIR)/$$pair" $(ARGS) || exit $$?; \
	done
	$(PY) -m regopt.analysis.decoupling "$(DEC_DIR)"
	mkdir -p $(DEC_DOCS) && cp "$(DEC_DIR)"/decoupling.md "$(DEC_DIR)"/decoupling.csv "$(DEC_DIR)"/decoupling.png $(DEC_DOCS)/

# experiment=mnist1d (12 jobs: 4 models x 3 seeds at the paper's 6,000 steps; 9 to 17 minutes on 2
# busy cores, most of it the GRU), its table and figure into the sweep dir, then copied to
# docs/results/mnist1d/ for docs/data_and_models.md.
M1D_DIR ?= logs/multiruns/mnist1d_$(shell date +%Y-%m-%d_%H-%M-%S)
M1D_DOCS ?= docs/results/mnist1d
mnist1d: install
	$(VENV)/bin/regopt-train -m experiment=mnist1d logger=none hydra.sweep.dir="$(M1D_DIR)" $(ARGS)
	$(PY) -m regopt.analysis.mnist1d "$(M1D_DIR)"
	mkdir -p $(M1D_DOCS) && cp "$(M1D_DIR)"/mnist1d.md "$(M1D_DIR)"/mnist1d.csv "$(M1D_DIR)"/mnist1d.png $(M1D_DOCS)/

# regopt's W&B workspace: `make dashboard ARGS="--entity my-team --group <sweep group>"`, or
# ARGS=--dry-run to write its spec (regopt_workspace.json) with no network.
dashboard: install
	$(VENV)/bin/regopt-dashboard $(ARGS)

# A sweep's Optuna study in optuna-dashboard (the `search` extra), on http://127.0.0.1:8080:
# `make study SWEEP=logs/multiruns/<sweep>`; STORAGE=<url> for a journal file or a database.
SWEEP ?=
STORAGE ?= sqlite:///$(SWEEP)/optuna.db
study: install
	@test -n "$(SWEEP)$(filter-out sqlite:///%,$(STORAGE))" || { echo "make study needs SWEEP=<sweep dir> or STORAGE=<url>"; exit 2; }
	$(VENV)/bin/optuna-dashboard "$(STORAGE)" $(ARGS)

bench: install
	$(PY) scripts/bench.py
# Sweeps under the basic, parallel and stacked launchers (two grids, widths 32/128/512, 10 epochs a
# job; about half an hour on 2 cores): the table goes into docs/benchmarks.md.
bench-sweep: install
	$(PY) scripts/bench_sweep.py $(ARGS)
# The reg_vs_opt experiment, then its report (report.md, report.csv, runs.csv, the heatmap, plane.png
# and the curves) in the same dir, copied to docs/results/reg_vs_opt/ for docs/report.md. The report
# runs even when some jobs failed (it shows them); the exit code is the sweep's, and the copy is
# made only when both succeeded.
SWEEP_DIR ?= logs/multiruns/reg_vs_opt_$(shell date +%Y-%m-%d_%H-%M-%S)
SWEEP_DOCS ?= docs/results/reg_vs_opt
SWEEP_FILES := report.md report.csv runs.csv heatmap_best_val_loss.png plane.png curves_by_group.png curves_overlay.png
sweep: install
	@dir="$(SWEEP_DIR)"; \
	$(VENV)/bin/regopt-train -m experiment=reg_vs_opt hydra.sweep.dir="$$dir" $(ARGS); status=$$?; \
	$(VENV)/bin/regopt-report "$$dir" || status=$$?; \
	if [ $$status -eq 0 ]; then mkdir -p $(SWEEP_DOCS) && (cd "$$dir" && cp $(SWEEP_FILES) "$(abspath $(SWEEP_DOCS))"/) || status=$$?; fi; \
	exit $$status

# experiment=calibrate: regularizer=none over 3 seeds, then each regulariser of the default job at
# four strengths over the same seeds (99 jobs of 200 epochs, two at a time); its table
# (calibrate.md, calibrate.csv) is copied to docs/results/calibrate/: the rule written there chose
# the strengths in conf/regularizer/*.yaml.
CAL_DIR ?= logs/multiruns/calibrate_$(shell date +%Y-%m-%d_%H-%M-%S)
# ARGS go to both sweeps (seed=..., trainer.*), CAL_GRID_ARGS to the grid alone (experiment/calibrate/reg=...).
CAL_DOCS ?= docs/results/calibrate
CAL_GRID_ARGS ?=
calibrate: install
	$(VENV)/bin/regopt-train -m experiment=calibrate experiment/calibrate/reg=none experiment.level=s1 logger=none hydra/launcher=parallel hydra.sweep.dir="$(CAL_DIR)/none" $(ARGS)
	$(VENV)/bin/regopt-train -m experiment=calibrate logger=none hydra/launcher=parallel hydra.sweep.dir="$(CAL_DIR)/grid" $(ARGS) $(CAL_GRID_ARGS)
	$(PY) -m regopt.analysis.calibrate "$(CAL_DIR)"
	mkdir -p $(CAL_DOCS) && cp "$(CAL_DIR)"/calibrate.md "$(CAL_DIR)"/calibrate.csv $(CAL_DOCS)/

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	$(VENV)/bin/pytest -m "not slow" -q

# The slow tests start a one-node SLURM cluster (scripts/slurm_local.sh: apt-get installs slurm-wlm
# and munge when missing, so root) and a local Ray cluster (the `ray` extra, installed here once).
RAY_STAMP := $(VENV)/.regopt-ray-installed
$(RAY_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet --editable ".[dev,ray]"
	@touch $(RAY_STAMP)

test-slow: $(RAY_STAMP)
	$(VENV)/bin/pytest -m slow -q -p no:cacheprovider || [ $$? -eq 5 ]  # 5: no slow test selected

clean:
	rm -rf logs .pytest_cache .ruff_cache .hypothesis
