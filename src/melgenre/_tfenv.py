"""TensorFlow's and Keras' environment, set and checked before they are imported.

This module imports neither: ``import melgenre`` calls :func:`enable_onednn`, the
``melgenre`` command :func:`use_tensorflow_backend`, and :mod:`melgenre._tf` (the one
place melgenre imports Keras) :func:`check_keras_backend`.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
from pathlib import Path

from melgenre.errors import BackendError

__all__ = [
    "X86_64",
    "check_keras_backend",
    "enable_onednn",
    "keras_backend",
    "use_tensorflow_backend",
]

logger = logging.getLogger(__name__)

#: ``platform.machine()`` names (lower case) of the machines oneDNN is turned on for.
X86_64 = ("x86_64", "amd64")


def enable_onednn() -> None:
    """Turn TensorFlow's oneDNN kernels on for x86-64 CPUs without AVX-512 too.

    TensorFlow enables them by itself only on CPUs with AVX-512; on an AVX2-only AMD
    EPYC they trained :class:`~melgenre.GenreCNN` 1.75x and ran it 1.6x faster, and the
    test suite (bit-for-bit resume, export parity) passes either way. A value the user
    set is kept (``TF_ENABLE_ONEDNN_OPTS=0`` turns them off). Called by ``import
    melgenre``; once TensorFlow is imported the variable no longer matters, so a
    program that imports TensorFlow or Keras before melgenre sets it itself.
    """
    if "tensorflow" not in sys.modules and platform.machine().lower() in X86_64:
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def keras_backend() -> tuple[str, str]:
    """The backend Keras runs on in this process, or will once imported, and who chose it.

    Keras picks its backend once, when first imported: ``KERAS_BACKEND`` if set, else
    the ``"backend"`` of ``keras.json`` in ``KERAS_HOME`` (default ``~/.keras``, or
    ``/tmp/.keras`` where the home folder cannot be written), else TensorFlow. This
    reads the same places without importing Keras; once Keras is imported its own
    answer is returned.

    Returns
    -------
    (backend, source) : tuple of str
        E.g. ``("jax", "the environment variable KERAS_BACKEND")``.
    """
    keras = sys.modules.get("keras")
    if keras is not None:
        return str(keras.config.backend()), "the Keras this process has already imported"
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen, "the environment variable KERAS_BACKEND"
    if "KERAS_HOME" in os.environ:
        home = Path(os.environ["KERAS_HOME"])
    else:
        base = Path("~").expanduser()
        home = (base if os.access(base, os.W_OK) else Path("/tmp")) / ".keras"
    config = home.expanduser() / "keras.json"
    try:
        chosen = json.loads(config.read_text()).get("backend")
    except (OSError, ValueError, AttributeError):  # absent, unreadable or not an object
        chosen = None
    if isinstance(chosen, str) and chosen:
        return chosen, f"Keras' configuration file {str(config)!r}"
    return "tensorflow", "Keras' default"


def check_keras_backend() -> None:
    """Raise :class:`~melgenre.errors.BackendError` unless Keras runs on TensorFlow.

    Called before melgenre imports Keras (so a JAX or PyTorch setting is named before
    that backend is imported, or found missing) and again after.
    """
    backend, source = keras_backend()
    if backend == "tensorflow":
        return
    imported = "keras" in sys.modules
    raise BackendError(
        f"melgenre's models run on Keras' TensorFlow backend, but Keras "
        f"{'was imported with' if imported else 'is set to use'} the {backend!r} backend "
        f"(by {source}); a process runs one Keras backend. Set KERAS_BACKEND=tensorflow "
        "before Keras is first imported: in the shell (KERAS_BACKEND=tensorflow python "
        "app.py) or at the top of the program (os.environ['KERAS_BACKEND'] = "
        "'tensorflow'). The melgenre command sets it itself."
    )


def use_tensorflow_backend() -> None:
    """Make Keras run on TensorFlow in this process: what the ``melgenre`` command does.

    The command is its own process, so a ``KERAS_BACKEND`` exported for other work (or
    a ``keras.json`` naming another backend) need not stop it; a setting it overrides
    is logged. No effect once Keras is imported.
    """
    if "keras" in sys.modules:
        return
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen and chosen != "tensorflow":
        logger.info("melgenre runs Keras on TensorFlow: KERAS_BACKEND=%s is ignored.", chosen)
    os.environ["KERAS_BACKEND"] = "tensorflow"
