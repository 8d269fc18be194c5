"""The single source of melgenre's version, and :func:`show_versions` for bug reports."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from typing import TextIO

__all__ = ["__version__", "show_versions"]

__version__ = "0.1.0"

#: Distributions reported by :func:`show_versions`, in this order.
_REPORTED = (
    "numpy",
    "scipy",
    "librosa",
    "soundfile",
    "soxr",
    "audioread",
    "scikit-learn",
    "tensorflow",
    "keras",
    "matplotlib",
)


def _installed_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def show_versions(file: TextIO | None = None) -> None:
    """Print the versions of melgenre, Python and its dependencies.

    Paste the output into bug reports. Nothing heavy is imported: versions are
    read from the installed distributions' metadata, so this works (and stays
    fast) even when TensorFlow is broken.

    Parameters
    ----------
    file : text stream, optional
        Where to write; defaults to ``sys.stdout``.

    Examples
    --------
    >>> import io, melgenre
    >>> out = io.StringIO()
    >>> melgenre.show_versions(file=out)
    >>> out.getvalue().splitlines()[0].startswith("melgenre:")
    True
    """
    stream = sys.stdout if file is None else file
    lines = [
        f"melgenre: {__version__}",
        f"python: {sys.version.split()[0]} ({platform.python_implementation()})",
        f"platform: {platform.platform()}",
    ]
    lines += [f"{name}: {_installed_version(name)}" for name in _REPORTED]
    try:
        import soundfile

        lines.append(f"libsndfile: {soundfile.__libsndfile_version__}")
    except (ImportError, OSError):  # pragma: no cover - soundfile is a dependency
        lines.append("libsndfile: unavailable")
    from melgenre._tfenv import keras_backend

    backend, source = keras_backend()
    lines.append(f"keras backend: {backend} ({source})")
    stream.write("\n".join(lines) + "\n")
