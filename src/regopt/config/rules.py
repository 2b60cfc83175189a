"""Value rules (ranges) that schema fields carry: each says what it allows, in words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    test: Callable[[float], bool]
    allowed: str


POSITIVE = Rule(lambda v: v > 0, "a number > 0")
NON_NEGATIVE = Rule(lambda v: v >= 0, "a number >= 0")
FRACTION_OPEN_CLOSED = Rule(lambda v: 0 < v <= 1, "a number in (0, 1]")
FRACTION_CLOSED = Rule(lambda v: 0 <= v <= 1, "a number in [0, 1]")
PROBABILITY_BELOW_ONE = Rule(lambda v: 0 <= v < 1, "a number in [0, 1)")
POSITIVE_INT = Rule(lambda v: v >= 1, "a whole number >= 1")
CLASS_COUNT = Rule(lambda v: v >= 2, "a whole number >= 2 (one class is no classification)")
NON_NEGATIVE_INT = Rule(lambda v: v >= 0, "a whole number >= 0")
ODD_POSITIVE_INT = Rule(lambda v: v >= 1 and v % 2 == 1, "an odd whole number >= 1")
SEED = Rule(lambda v: 0 <= v < 2**32, "a whole number in [0, 2**32)")
INT_FROM_MINUS_ONE = Rule(lambda v: v >= -1, "a whole number >= -1 (-1: all)")
THREADS = Rule(lambda v: v >= 1, "auto or a whole number >= 1")
