"""Train the jobs of a sweep as one stacked model in one process (issue 16, "Stacked sweeps").

The launcher (`hydra/launcher=stacked`) groups a sweep's jobs and calls `fit_stack` with their
resolved configs. Each member is built by the project's own code (`regopt.pipeline.assemble`:
its seed, data, module with its objective, regularisers and optimiser factory, its callbacks and
record), in the order a separate run builds it, so it starts from the weights and the random
stream its separate run starts from; the stack then trains them together
(regopt.stacked.module) and each member leaves the record its separate run leaves.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from regopt.build import build_trainer
from regopt.config.task import resolved_task
from regopt.divergence import Diverged
from regopt.pipeline import assemble, report
from regopt.record.run_dir import status_of
from regopt.stack_room import with_room
from regopt.stacked.check import NotStackable, check_stackable
from regopt.stacked.hooks import MemberCallbacks, close_checkpoints, interrupt_member
from regopt.stacked.member import Member
from regopt.stacked.module import StackedModule
from regopt.tracking.wandb_logger import finish_wandb

__all__ = ["NotStackable", "fit_stack"]
log = logging.getLogger("regopt")


def fit_stack(cfgs: list[DictConfig], checkpoint_interval_s: float = 0.0) -> list[float]:
    """Train the members (one resolved job config each, each with its own cfg.paths.output_dir)
    as one stacked model in this process. Each member leaves the record a separate
    `regopt-train` run of its cfg leaves in its output_dir; returns per member what
    regopt.pipeline.run returns for it (best val/loss, NaN for a diverged or failed member).

    Raises NotStackable before anything trains, for configs that cannot share a stack
    (regopt.stacked.check: nothing is written then) or a member that cannot be built (its
    config refused: run alone, it reports its own error).

    A config may carry its `hydra` node, as a Hydra launcher holds a job's config: each member
    is then resolved and built with its own as Hydra's runtime config (as Hydra's `run_job`
    does), so its summary.json records its own choices and overrides.

    `checkpoint_interval_s` > 0 writes the members' checkpoints behind, at most that often
    (regopt.stacked.checkpoint_writes: the stacked launcher's setting); 0 writes each save when
    it is made, as a separate run does."""
    outer_hydra = HydraConfig.instance().cfg
    try:
        jobs = [job_config(cfg) for cfg in cfgs]
        check_stackable([cfg for cfg, _ in jobs])
        outer = torch.get_rng_state()
        members = []
        for index, (cfg, hydra) in enumerate(jobs):
            if hydra is not None:
                HydraConfig.instance().set_config(hydra)
            output_dir = Path(cfg.paths.output_dir)
            try:
                job = assemble(cfg, output_dir)
            except Exception as error:  # a refused config: its own run reports it, one by one
                raise NotStackable(f"member {index} cannot be built: {error}") from error
            members.append(Member(index, job, output_dir))
        torch.set_rng_state(outer)
        return _fit(jobs[0][0], members, checkpoint_interval_s)
    finally:
        if outer_hydra is not None:
            HydraConfig.instance().set_config(outer_hydra)


def job_config(cfg: DictConfig) -> tuple[DictConfig, DictConfig | None]:
    """The job's config, resolved (under its own Hydra runtime config, when it has one), and
    that runtime config."""
    if "hydra" not in cfg:
        return resolved_task(cfg), None
    HydraConfig.instance().set_config(cfg)
    return resolved_task(cfg), cfg


def _fit(cfg: DictConfig, members: list[Member], checkpoint_interval_s: float) -> list[float]:
    summary = cfg.trainer.get("enable_model_summary", True) is not False
    stacked = StackedModule(members, model_summary=summary)
    trainer = build_trainer(
        cfg,
        logger=False,
        callbacks=[MemberCallbacks(members)],
        enable_checkpointing=False,
        enable_model_summary=False,
        default_root_dir=str(members[0].output_dir),
    )
    for member in members:
        member.attach(trainer, checkpoint_interval_s)
    try:
        with_room(trainer.fit, stacked)  # deep in Hydra's nested run_job calls: regopt.stack_room
    except Diverged as diverged:  # the last members diverged at the same step
        log.warning(f"stack ended: {diverged}")
    except Exception as error:  # noqa: BLE001 - every member's record says so; the sweep goes on
        log.exception(f"stack failed: {type(error).__name__}: {error}")
        for member in members:
            interrupt_member(member, error)
    finally:
        for member in members:
            close_checkpoints(member)  # every path above has; this is for one that did not
            for tracker in member.trackers:
                finish_wandb(tracker)
    return [_result(member) for member in members]


def _result(member: Member) -> float:
    if status_of(member.output_dir) != "completed":
        log.warning(f"run {status_of(member.output_dir)}: see {member.output_dir / 'summary.json'}")
        return float("nan")
    best = report(member.output_dir)["best"]["val/loss"]
    return float(best) if best is not None else math.nan
