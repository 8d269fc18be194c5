"""Argument types of the ``melgenre`` command: a bad number is refused as it is parsed.

Otherwise ``melgenre train --epochs 0`` would extract every file's features before
the Trainer refused the 0, minutes or hours later. argparse reports the error (exit
status 2) with the option's name: ``argument --epochs: must be a whole number >= 1;
got '0'``.
"""

from __future__ import annotations

import argparse
import math

__all__ = [
    "at_least_two",
    "fraction",
    "fraction_or_zero",
    "non_negative_int",
    "positive_float",
    "positive_int",
]


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    return _whole(text, 1)


def at_least_two(text: str) -> int:
    """A whole number of at least 2 (folds, as for ``cv --folds``)."""
    return _whole(text, 2)


def non_negative_int(text: str) -> int:
    """A whole number of at least 0 (0: off, as for ``--patience``)."""
    return _whole(text, 0)


def _whole(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise argparse.ArgumentTypeError(f"must be a whole number >= {low}; got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0."""
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0; got {text!r}")
    return value


def fraction(text: str) -> float:
    """A share strictly between 0 and 1."""
    value = _number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a share between 0 and 1; got {text!r}")
    return value


def fraction_or_zero(text: str) -> float:
    """A share from 0 (none) up to, not including, 1."""
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be 0 or a share below 1; got {text!r}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number; got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number; got {text!r}")
    return value
