"""Whether a stack would be faster than its members in turn on this CPU: a short timed probe.

A stack pays for its members' arithmetic in one batched computation and saves each member the
framework's per-step work (Lightning's loop, regopt's records). Which wins depends on the member's
size and on the machine: a rule on the member's working set against the L2 cache called a width-128
digits member (0.7 MiB) too big on a 512 KiB-L2 EPYC where its stack of 9 ran 2.5x faster than the
jobs in turn (width 256: 1.53x, width 512: 1.17x; 30-50 epoch lr x wd sweeps, one thread). So the
launcher measures: the forward and backward pass of one member's model on a batch of random inputs
against the stack's (regopt.stacked.forward, as the engine runs it: batched, or the members' own
passes one after another where those are faster), each call timed, the fastest kept
(regopt.stacked.timing), and predicts the stack's speed-up as K (one + f) / (stack + f), f the
per-step work a stack pays once instead of K times. Fitted to those three sweeps f is 0.8-1.4 ms
(the probe found one 0.88 / 1.37 / 3.77 ms, nine stacked 6.1 / 11.8 / 38.3 ms, batched);
FRAMEWORK_STEP_S takes 1 ms. These
figures were timed by hand on that machine; no script of the project rewrites them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from regopt.build import model_sizes
from regopt.stacked.forward import StackedForward
from regopt.stacked.memory import size_key
from regopt.stacked.timing import fastest

FRAMEWORK_STEP_S = 1e-3  # the per-step work a stack saves each member but one (see above)
MIN_SPEEDUP = 0.8  # a predicted speed-up below this runs the members in turn: the prediction
# fell short of the sweeps' (2.38 against 2.5 at width 128, 1.09 against 1.17 at 512), and small
# stacks of tiny members, whose in-turn runs are mostly framework work, predict about 1.0


@dataclass(frozen=True)
class Probe:
    members: int
    one_s: float  # one member's forward and backward pass, alone
    stack_s: float  # the stack's, for all its members

    @property
    def speedup(self) -> float:
        """The stack's predicted speed-up over its members in turn, per step."""
        step = FRAMEWORK_STEP_S
        return self.members * (self.one_s + step) / (self.stack_s + step)

    def text(self) -> str:
        return (
            f"a probe's {self.members} stacked members took {self.stack_s * 1e3:.2f} ms a step "
            f"against {self.members} x {self.one_s * 1e3:.2f} ms in turn, each step "
            f"{FRAMEWORK_STEP_S * 1e3:g} ms more: {self.speedup:.2f}x, below {MIN_SPEEDUP}"
        )


def probe_stack(cfg: DictConfig, members: int, threads: int | None) -> Probe:
    """Time `members` models of the resolved job config `cfg` stacked, against one of them, with
    `threads` torch threads (the jobs' own); measured once per member size in a process. The
    generators and the thread count are left as they were."""
    key = (size_key(cfg), members, threads)
    if key not in _PROBES:
        previous = torch.get_num_threads()
        try:
            if threads is not None:
                torch.set_num_threads(threads)
            with torch.random.fork_rng(devices=[]):
                _PROBES[key] = _measure(cfg, members)
        finally:
            torch.set_num_threads(previous)
    return _PROBES[key]


_PROBES: dict[tuple[str, int, int | None], Probe] = {}


def _measure(cfg: DictConfig, members: int) -> Probe:
    dtype = torch.float64 if str(cfg.trainer.get("precision", "32")).startswith("64") else None
    datamodule = instantiate(cfg.data)  # its sizes only: nothing is loaded
    models = [
        instantiate(cfg.model, **model_sizes(cfg.model, datamodule)).to(dtype=dtype)
        for _ in range(members)
    ]
    shape = getattr(datamodule, "input_shape", None) or (datamodule.input_dim,)
    batch = int(cfg.data.batch_size)
    inputs = [torch.randn(batch, *shape, dtype=dtype) for _ in range(members)]
    stacked = StackedForward(models)

    def one() -> None:
        models[0](inputs[0]).square().mean().backward()

    def stack() -> None:
        outputs = stacked(range(members), inputs, lambda _: contextlib.nullcontext())
        torch.stack([output.square().mean() for output in outputs]).sum().backward()

    one_s, stack_s = fastest([one, stack])
    return Probe(members, one_s, stack_s)
