"""Parameter checks with one message format.

Messages follow scikit-learn's wording: "The 'hop_length' parameter of
MelFeaturizer must be an int in the range [1, inf). Got 0 instead."
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import numpy as np

from melgenre.errors import ConfigError, MelgenreTypeError

__all__ = [
    "check_bool",
    "check_choice",
    "check_int",
    "check_real",
    "check_reals",
    "checked_indices",
    "checked_rows",
    "counted",
]

#: Rows scanned at a time for non-finite values (a memory map is read a chunk at a time).
SCAN_ROWS = 256


def _fail(owner: str, name: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} instead.",
        parameter=name,
        value=value,
    )


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _interval(low: float | None, high: float | None, *, closed_low: bool = True) -> str:
    left = "(-inf" if low is None else ("[" if closed_low else "(") + _number(low)
    right = "inf)" if high is None else _number(high) + "]"
    return f"{left}, {right}"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``"1 epoch"``, ``"3 epochs"``: a count and its noun, plural but at one.

    The plural is ``noun + "s"`` unless given: ``counted(2, "class", "classes")``.
    """
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def some_of(names: Sequence[str], between: str = ", ", shown: int = 5) -> str:
    """The first ``shown`` of ``names`` joined, and how many more: ``"a, b (and 3 more)"``.

    For messages that name files: a list of thousands stays a line.
    """
    joined = between.join(names[:shown])
    more = len(names) - shown
    return f"{joined} (and {more} more)" if more > 0 else joined


def check_int(
    owner: str,
    name: str,
    value: Any,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool = False,
) -> None:
    """Raise :class:`ConfigError` unless ``value`` is an int in ``[low, high]``."""
    if value is None and allow_none:
        return
    expected = f"an int in the range {_interval(low, high)}" + (" or None" if allow_none else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _fail(owner, name, expected, value)
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise _fail(owner, name, expected, value)


def check_real(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    closed_low: bool = True,
    allow_none: bool = False,
) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite real in the interval."""
    if value is None and allow_none:
        return
    expected = f"a finite number in the range {_interval(low, high, closed_low=closed_low)}" + (
        " or None" if allow_none else ""
    )
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise _fail(owner, name, expected, value)
    number = float(value)
    too_low = low is not None and (number < low if closed_low else number <= low)
    if too_low or (high is not None and number > high):
        raise _fail(owner, name, expected, value)


def check_reals(
    owner: str, name: str, value: Any, *, low: float | None = None, closed_low: bool = True
) -> tuple[float, ...]:
    """``value`` (a sequence, JSON's list included) as a tuple of checked finite reals."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise _fail(owner, name, "a sequence of numbers", value)
    for number in value:
        check_real(owner, name, number, low=low, closed_low=closed_low)
    return tuple(float(number) for number in value)


def check_bool(owner: str, name: str, value: Any) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a bool."""
    if not isinstance(value, bool):
        raise _fail(owner, name, "a bool", value)


def check_choice(owner: str, name: str, value: Any, choices: Collection[Any]) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise _fail(owner, name, "one of " + ", ".join(repr(c) for c in choices), value)


def checked_rows(
    owner: str,
    name: str,
    value: Any,
    shape: Sequence[int | None],
    *,
    source: Callable[[int], str] | None = None,
) -> Any:
    """``value`` as a numeric array of ``(n, *shape)`` finite rows, or a melgenre error.

    An array comes back as it is (a memory map stays on disk and is scanned
    :data:`SCAN_ROWS` rows at a time); anything else goes through ``np.asarray``.
    ``source(i)`` names where row ``i`` came from (" (from 'a.wav')") in the
    message about a non-finite row; a ``None`` in ``shape`` takes any length.

    Raises
    ------
    MelgenreTypeError
        ``value`` is not numeric.
    ConfigError
        Its shape is not ``(n, *shape)``, or a row holds NaN or an infinity.
    """
    expected = "(n, " + ", ".join("any" if n is None else str(int(n)) for n in shape) + ")"
    x = value if isinstance(value, np.ndarray) else None
    if x is None:
        try:
            x = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError):
            x = None
    if x is None or x.dtype.kind not in "fiu":
        kind = type(value).__name__ if x is None else f"an array of {x.dtype}"
        raise MelgenreTypeError(
            f"{owner} expects {name} as numbers of shape {expected}; got {kind}."
        )
    fits = x.ndim == len(shape) + 1 and all(
        n in (None, m) for n, m in zip(shape, x.shape[1:], strict=True)
    )
    if not fits:
        raise ConfigError(
            f"{owner} expects {name} of shape {expected}; got {tuple(x.shape)}.",
            parameter=name,
            value=tuple(x.shape),
        )
    if x.dtype.kind == "f":
        for start in range(0, len(x), SCAN_ROWS):
            chunk = np.asarray(x[start : start + SCAN_ROWS])
            bad = ~np.isfinite(chunk).reshape(len(chunk), -1).all(axis=1)
            if bad.any():
                row = start + int(np.argmax(bad))
                where = source(row) if source is not None else ""
                raise ConfigError(
                    f"{owner}: {name}[{row}]{where} holds NaN or infinite values, "
                    "which no model can use.",
                    parameter=name,
                )
    return x


def checked_indices(owner: str, name: str, value: Any, n: int, bound: int, of: str) -> Any:
    """``value`` as ``n`` int64 indices into ``bound`` things (``of``), or a ConfigError."""
    array = np.asarray(value)
    if array.ndim != 1 or len(array) != n:
        raise ConfigError(
            f"{owner}'s {name} must hold one index per row ({n}); got shape {array.shape}.",
            parameter=name,
        )
    if array.dtype.kind not in "iu" and not (
        array.dtype.kind == "f" and np.array_equal(array, np.round(array))
    ):
        raise ConfigError(
            f"{owner}'s {name} must be whole numbers (indices into {of}); got {array.dtype}.",
            parameter=name,
        )
    indices = array.astype(np.int64)
    if n and (indices.min() < 0 or indices.max() >= bound):
        raise ConfigError(
            f"{owner}'s {name} must index its {bound} {of}: found "
            f"{int(indices.min() if indices.min() < 0 else indices.max())}.",
            parameter=name,
        )
    return indices


def check_many(owner: str, sources: Any) -> None:
    """Raise :class:`MelgenreTypeError` when ``sources`` is one source, not an iterable of them.

    A path given as a string would otherwise be read character by character, each a
    missing file.
    """
    import io
    import os

    one = isinstance(sources, (str, bytes, os.PathLike, io.IOBase)) or (
        isinstance(sources, tuple)
        and len(sources) == 2
        and isinstance(sources[0], np.ndarray)
        and isinstance(sources[1], numbers.Number)
    )
    if one or not isinstance(sources, Iterable):  # e.g. one Audio
        raise MelgenreTypeError(
            f"{owner} takes an iterable of sources; got one {type(sources).__name__} "
            f"({sources!r:.60}): pass [source], or call predict(source)."
        )


def listed(owner: str, name: str, value: Any) -> list[Any]:
    """``value`` as a list, or a :class:`MelgenreTypeError` for a string or a single item.

    A string would be taken letter by letter (``labels="abc"``: three labels), and a
    single item (``filters=32``, ``callbacks=EarlyStopping()``) failed deep inside.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        shown = f" {value!r}" if len(repr(value)) <= 40 else ""
        raise MelgenreTypeError(
            f"{owner}'s {name} must be a list (or another sequence); got "
            f"{type(value).__name__}{shown}. Pass a list, even of one item: {name}=[...]."
        )
    return list(value)
