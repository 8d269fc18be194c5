"""melgenre's progress bars: tqdm's, and quiet in logs.

On a terminal (or in a notebook) a bar redraws up to ten times a second, as tqdm does.
Written to a file or a pipe (a CI log, ``nohup``, a container's log) every redraw is
kept, so a ten-minute extraction would leave thousands of them on one line; there the
bar draws at most every :data:`LOG_INTERVAL` seconds and once at the end, as Keras
prints one line an epoch when its output is not a terminal.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["LOG_INTERVAL", "progress_bar"]

#: Seconds between two drawings of a bar that is written to a file or a pipe.
LOG_INTERVAL = 30.0


def progress_bar(*, total: int, desc: str, unit: str = "file", enabled: bool = True) -> Any:
    """A tqdm bar over ``total`` items (``enabled=False``: one that draws nothing)."""
    from tqdm.auto import tqdm
    from tqdm.autonotebook import tqdm as chosen  # tqdm.notebook's in a notebook

    drawn_live = chosen.__module__ != "tqdm.std" or _is_terminal(sys.stderr)
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not enabled,
        mininterval=0.1 if drawn_live else LOG_INTERVAL,
    )


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed streams
        return False
