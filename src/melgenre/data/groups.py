"""Groups for leak-free splits, read from a table: which piece, artist or speaker a file is.

Several recordings of one piece, one artist or one speaker make a split leak when
they land on both sides: the model is tested on what it has, in effect, heard.
:meth:`FolderDataset.split <melgenre.FolderDataset.split>` keeps the files of a
group together given ``groups(path) -> key``; :func:`read_groups` builds that
callable from a CSV file (a dataset's manifest, or two columns written by hand),
and ``melgenre train --groups`` reads one the same way.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path

from melgenre.errors import ConfigError, DatasetError

__all__ = ["read_groups"]


def read_groups(
    table: str | os.PathLike[str],
    column: str = "group",
    *,
    path_column: str = "path",
    root: str | os.PathLike[str] | None = None,
) -> Callable[[Path], str]:
    """The group of each file, from a CSV file with a header row.

    Parameters
    ----------
    table : path-like
        A CSV file with a header; each row names one file (``path_column``) and
        its group (``column``). Other columns are ignored, so a dataset's own
        manifest will do.
    column : str, default="group"
        The column holding the group: a piece, an album, an artist, a speaker.
    path_column : str, default="path"
        The column holding the file's path: relative to ``root``, or absolute.
    root : path-like, optional
        The folder relative paths start from (default: the CSV file's folder).

    Returns
    -------
    callable
        ``groups(path) -> str``, for :meth:`melgenre.FolderDataset.split`'s
        ``groups``. It raises :class:`~melgenre.DatasetError` for a file the
        table does not list: a file without a group could sit on both sides
        of a split unnoticed.

    Raises
    ------
    DatasetError
        The table cannot be read, or a row has no path or an empty group.
    ConfigError
        ``column`` or ``path_column`` is not in the header (the error lists the
        columns there are).

    Examples
    --------
    >>> import melgenre
    >>> from melgenre.data.groups import read_groups
    >>> dataset = melgenre.FolderDataset("genres-dev")  # doctest: +SKIP
    >>> groups = read_groups("genres-dev/manifest.csv", column="group_id")  # doctest: +SKIP
    >>> split = dataset.split(groups=groups)  # doctest: +SKIP
    """
    table = Path(table)
    base = Path(root) if root is not None else table.parent
    try:
        with open(table, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            for name, role in ((path_column, "path_column"), (column, "column")):
                if name not in header:
                    raise ConfigError(
                        f"{str(table)!r} has no column {name!r}; its columns: "
                        f"{', '.join(header) or 'none (an empty file?)'}.",
                        parameter=role,
                        value=name,
                    )
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"Cannot read the groups table {str(table)!r}: {exc}") from exc
    found: dict[Path, str] = {}
    for line, row in enumerate(rows, start=2):  # the header is line 1
        path, group = (row.get(path_column) or "").strip(), (row.get(column) or "").strip()
        if not path or not group:
            raise DatasetError(
                f"{str(table)!r}, line {line}: every row needs a {path_column!r} and a "
                f"{column!r} (got {path!r}, {group!r})."
            )
        found[_key(base / path)] = group

    def groups(path: Path) -> str:
        try:
            return found[_key(Path(path))]
        except KeyError:
            raise DatasetError(
                f"{str(path)!r} is not in the groups table {str(table)!r}: every file of the "
                "dataset needs a row (a file without a group could sit on both sides of the "
                "split)."
            ) from None

    return groups


def _key(path: Path) -> Path:
    """A path as the table and the dataset can both spell it."""
    return Path(os.path.normcase(path.resolve()))
