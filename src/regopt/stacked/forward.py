"""The forward pass of a stack's members: one batched computation where it is exact.

Members whose forward pass draws no random numbers (no dropout at p > 0 in training mode, no
sampled weights or codes) and whose model has no buffers (no running statistics to update in
place) are run together: each member's own parameters are stacked along a leading member axis
(`torch.stack` inside autograd, so each member's gradient reaches its own tensors) and
`torch.func.vmap` maps `functional_call` of one template copy of the model over them and over
the members' batches. Members that draw random numbers run their own model, each inside its own
random stream, so they draw the masks their separate runs draw; a member with buffers or a
recurrent layer (which vmap cannot batch) runs its own model too. Which kind a member is is
measured, not assumed: a forward pass on two of its inputs, in the mode it will run in, either
moves the random generators or does not. It is measured again at each epoch and validation,
since a schedule may change dropout's p.

Batched is not always faster: on a CPU, vmap's batched matrix products of wide members (width
512 on 2 cores: 12 members 20 ms a forward and backward pass, one alone 0.85 ms) lose to the
members' own passes one after another. So at the first training batch the stack times both on
that batch (forward and backward, gradients not kept; regopt.stacked.timing) and keeps the
faster, on whatever device it trains: the members' own passes give the same numbers as their
separate runs, the batched ones the same to rounding. Either way the stack still saves each
member Lightning's and regopt's per-step work.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from regopt.stacked.timing import fastest


def generator_states() -> list[Tensor]:
    states = [torch.get_rng_state()]
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states += torch.cuda.get_rng_state_all()
    return states


def draws_random_numbers(model: nn.Module, inputs: Tensor) -> bool:
    """Whether `model`'s forward pass, in its current mode, draws from the random generators
    (measured on `inputs`; every generator is left as it was)."""
    devices = [inputs.device] if inputs.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        before = generator_states()
        model(inputs)
        after = generator_states()
    return any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def batchable(model: nn.Module) -> bool:
    """Whether vmap can run `model`: no buffers, and no recurrent layer (torch has no batching
    rule for the fused RNN, LSTM and GRU kernels)."""
    return not list(model.buffers()) and not any(isinstance(m, nn.RNNBase) for m in model.modules())


class StackedForward:
    """Outputs of every member's model for its own inputs, batched where exact."""

    def __init__(self, models: Sequence[nn.Module]) -> None:
        self.models = list(models)
        self.names = [name for name, _ in self.models[0].named_parameters()]
        self._params = [list(m.parameters()) for m in self.models]  # stable after placement
        self.batchable_kind = all(batchable(m) for m in self.models)
        self._template: nn.Module | None = None
        self._call: Callable[..., Tensor] | None = None
        self._random: dict[int, bool] = {}
        self.batched_faster: bool | None = None  # timed at the first training batch

    def remeasure(self) -> None:
        """Forget which members draw random numbers (a new epoch or validation)."""
        self._random.clear()

    def _draws(self, index: int, inputs: Tensor) -> bool:
        if index not in self._random:
            self._random[index] = draws_random_numbers(self.models[index], inputs[:2])
        return self._random[index]

    def _batched(self, indices: Sequence[int], inputs: Sequence[Tensor]) -> list[Tensor]:
        if self._template is None:
            self._template = copy.deepcopy(self.models[0])
            template = self._template
            for layer in template.modules():  # batched members have none at p > 0 (measured)
                if isinstance(layer, nn.modules.dropout._DropoutNd):
                    layer.p = 0.0

            def call(params: dict[str, Tensor], x: Tensor) -> Tensor:
                return functional_call(template, params, (x,))

            self._call = vmap(call)
        assert self._call is not None and self._template is not None
        self._template.train(self.models[indices[0]].training)
        params = {}
        for position, name in enumerate(self.names):
            params[name] = torch.stack([self._params[i][position] for i in indices])
        return list(self._call(params, torch.stack(list(inputs))).unbind(0))

    def __call__(
        self,
        indices: Sequence[int],
        inputs: Sequence[Tensor],
        own_stream: Callable[[int], Any],
    ) -> list[Tensor]:
        """The outputs of members `indices` (positions into the models) for `inputs`, in
        order; `own_stream(i)`: a context that draws from member i's generators."""
        batch: list[int] = []
        outputs: dict[int, Tensor] = {}
        for index, x in zip(indices, inputs, strict=True):
            if self.batchable_kind and not self._draws(index, x):
                batch.append(index)
                continue
            with own_stream(index):
                outputs[index] = self.models[index](x)
        position = {index: k for k, index in enumerate(indices)}
        together = [inputs[position[i]] for i in batch]
        if len(batch) > 1 and self.batched_faster is None and torch.is_grad_enabled():
            self.batched_faster = self._time_batched(batch, together)
        if len(batch) > 1 and self.batched_faster is not False:
            outputs.update(zip(batch, self._batched(batch, together), strict=True))
        else:
            outputs.update((i, self.models[i](x)) for i, x in zip(batch, together, strict=True))
        return [outputs[i] for i in indices]

    def _time_batched(self, indices: Sequence[int], inputs: Sequence[Tensor]) -> bool:
        """Whether the batched pass of these members (forward and backward) is faster than
        their own passes one after another; no gradient is kept, nothing is drawn (these
        members draw no random numbers)."""
        params = [p for i in indices for p in self._params[i] if p.requires_grad]
        on_gpu = any(p.is_cuda for p in params)

        def backward(outputs: Sequence[Tensor]) -> None:
            total = torch.stack([out.float().square().mean() for out in outputs]).sum()
            torch.autograd.grad(total, params, allow_unused=True)
            if on_gpu:  # the kernels' time, not only their launch
                torch.cuda.synchronize()

        def batched() -> None:
            backward(self._batched(indices, inputs))

        def in_turn() -> None:
            backward([self.models[i](x) for i, x in zip(indices, inputs, strict=True)])

        batched_s, in_turn_s = fastest([batched, in_turn])
        return batched_s <= in_turn_s
