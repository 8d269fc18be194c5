"""Deprecating public names and parameters without breaking users.

A public name of melgenre changes in two steps: the old name keeps working for
at least one minor release and warns with a :class:`MelgenreDeprecationWarning`
that says since which version it is deprecated, in which version it goes, and
what to use instead; then it is removed, with a CHANGELOG entry each time.

Examples
--------
>>> import warnings
>>> from melgenre.deprecation import deprecated, renamed_parameter
>>> def hop(x: int) -> int:
...     return x * 2
>>> step = deprecated(hop, old_name="step", since="0.2", removed_in="0.4")
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     step(3)
6
>>> print(caught[0].message)
step is deprecated since melgenre 0.2 and will be removed in 0.4; use hop instead.
>>> @renamed_parameter("n_frames", "frames", since="0.2", removed_in="0.4")
... def window(*, frames: int = 128) -> int:
...     return frames
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     window(n_frames=64)
64
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from melgenre.errors import MelgenreDeprecationWarning, MelgenreTypeError

__all__ = ["deprecated", "renamed_parameter", "warn_deprecated"]

_F = TypeVar("_F", bound=Callable[..., Any])


def warn_deprecated(
    old: str, *, since: str, removed_in: str, instead: str | None = None, stacklevel: int = 3
) -> None:
    """Emit the standard deprecation warning for ``old``."""
    message = f"{old} is deprecated since melgenre {since} and will be removed in {removed_in}"
    message += f"; use {instead} instead." if instead else "."
    warnings.warn(message, MelgenreDeprecationWarning, stacklevel=stacklevel)


def deprecated(new: _F, *, old_name: str, since: str, removed_in: str) -> _F:
    """An alias of ``new`` (a function or a class's method) under its old name, that warns.

    Parameters
    ----------
    new : callable
        What the old name now is.
    old_name : str
        The name being retired, as users wrote it.
    since, removed_in : str
        The version that deprecated it and the one that will remove it.

    Returns
    -------
    callable
        Calls ``new`` after warning with :class:`MelgenreDeprecationWarning`.
    """
    instead = getattr(new, "__qualname__", getattr(new, "__name__", repr(new)))

    @functools.wraps(new)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warn_deprecated(old_name, since=since, removed_in=removed_in, instead=instead)
        return new(*args, **kwargs)

    alias.__name__ = old_name.rsplit(".", 1)[-1]
    alias.__doc__ = (
        f"Deprecated alias of :func:`{instead}` (since {since}, removed in {removed_in})."
    )
    return alias  # type: ignore[return-value]


def renamed_parameter(old: str, new: str, *, since: str, removed_in: str) -> Callable[[_F], _F]:
    """Decorator: accept keyword ``old`` as ``new`` for a while, with a warning.

    Passing both is a :class:`MelgenreTypeError`.
    """

    def decorate(function: _F) -> _F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if old in kwargs:
                if new in kwargs:
                    raise MelgenreTypeError(
                        f"{function.__qualname__}() got both {old!r} (deprecated) and {new!r}; "
                        f"pass only {new!r}."
                    )
                warn_deprecated(
                    f"The {old!r} parameter of {function.__qualname__}",
                    since=since,
                    removed_in=removed_in,
                    instead=repr(new),
                )
                kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
