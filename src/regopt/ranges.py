"""Ranges and choices that regopt's constructors state in their signatures.

Each is a `typing.Annotated` type with annotated-types metadata: the config check
(regopt.config.signature) reads them from the signature, pydantic checks them, and
`regopt.config.signature.checked` applies the same check to Python callers. Nothing here
imports torch.
"""

from __future__ import annotations

from typing import Annotated, Literal

from annotated_types import Ge, Gt, Interval, Predicate


def odd(value: int) -> bool:
    """odd"""
    return value % 2 == 1


Positive = Annotated[float, Gt(0)]
NonNegative = Annotated[float, Ge(0)]
Fraction = Annotated[float, Interval(ge=0, le=1)]  # [0, 1]
OpenFraction = Annotated[float, Interval(gt=0, lt=1)]  # (0, 1)
PositiveFraction = Annotated[float, Interval(gt=0, le=1)]  # (0, 1]
Probability = Annotated[float, Interval(ge=0, lt=1)]  # [0, 1): dropout, label smoothing
PositiveInt = Annotated[int, Ge(1)]
NonNegativeInt = Annotated[int, Ge(0)]
ClassCount = Annotated[int, Ge(2)]  # one class is no classification
OddPositiveInt = Annotated[int, Ge(1), Predicate(odd)]
Seed = Annotated[int, Interval(ge=0, lt=2**32)]  # numpy's and Lightning's seed range

Activation = Literal["relu", "gelu", "tanh", "silu"]
ParamsRule = Literal["weights", "all"]  # which parameters a penalty or weight decay covers
Normalize = Literal["standard", "scale", "none"]
