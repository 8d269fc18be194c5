"""Arrays of ``.npz`` cache entries joined into one ``.npy`` file, byte for byte.

:class:`~melgenre.cache.FeatureCache` consolidates a feature set's windows (and its
chroma) this way: each entry's member is found in its (uncompressed) archive, its header
checked, and its bytes copied by the kernel (``os.copy_file_range``) without a pass
through Python; an entry that is missing or does not hold what it should is computed
again by a callback. The file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from melgenre._typing import FloatArray

__all__ = ["join_members"]


def join_members(
    target: Path,
    sources: Sequence[tuple[Path, int]],
    member: str,
    shape: tuple[int, ...],
    recompute: Callable[[int], FloatArray],
) -> FloatArray:
    """Join ``member`` of each ``(archive, n_rows)`` into the ``.npy`` ``target``; memory-map it.

    ``shape`` is one row's; ``recompute(i)`` gives source ``i``'s rows when its archive is
    missing or its member is not ``n_rows`` float32 rows of ``shape``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    total = sum(n for _, n in sources)
    header = {"descr": "<f4", "fortran_order": False, "shape": (total, *shape)}
    try:
        with open(tmp, "wb", buffering=0) as out:
            np.lib.format.write_array_header_2_0(out, header)
            for i, (path, n_rows) in enumerate(sources):
                nbytes = n_rows * int(np.prod(shape)) * 4
                if not _copy_member(path, member, (n_rows, *shape), nbytes, out):
                    rows = np.ascontiguousarray(recompute(i), dtype="<f4")
                    out.write(rows.tobytes())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    x: FloatArray = np.load(target, mmap_mode="r")
    return x


def _copy_member(path: Path, member: str, shape: tuple[int, ...], nbytes: int, out: Any) -> bool:
    """Append an archive's ``member`` bytes to ``out``; ``False`` if missing or not ``shape``."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(f"{member}.npy")
        with open(path, "rb") as source:
            source.seek(info.header_offset + 26)
            name_length, extra_length = struct.unpack("<HH", source.read(4))
            source.seek(info.header_offset + 30 + name_length + extra_length)
            version = np.lib.format.read_magic(source)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            found, fortran, dtype = read(source)
            if (
                info.compress_type != zipfile.ZIP_STORED
                or tuple(found) != shape
                or fortran
                or dtype != np.dtype("<f4")
            ):
                return False
            return _copy_bytes(source, out, source.tell(), nbytes)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, struct.error):
        return False


def _copy_bytes(source: Any, out: Any, offset: int, nbytes: int) -> bool:
    """Append ``nbytes`` of ``source`` from ``offset`` to ``out``; ``False`` if it ends early.

    In the kernel where it can (Linux's ``copy_file_range``), else through a buffer.
    """
    kernel_copy: Any = getattr(os, "copy_file_range", None)
    while nbytes > 0:
        if kernel_copy is not None:
            copied = kernel_copy(source.fileno(), out.fileno(), nbytes, offset)
        else:  # pragma: no cover - macOS, Windows
            source.seek(offset)
            copied = out.write(source.read(min(nbytes, 1 << 24)))
        if copied == 0:
            return False  # truncated since it was written
        offset += copied
        nbytes -= copied
    return True
