"""TensorFlow and Keras, imported once and quietly: ``from melgenre._tf import keras, tf``.

On a machine without a GPU, importing TensorFlow prints start-up lines to the
process's standard error from C++ before Python's logging exists (absl's
"All log messages before absl::InitializeLog()", oneDNN and CPU-feature notes,
"Could not find cuda drivers", and ``E0000 ... failed call to cuInit``), which
read as failures to a newcomer. Unless the user has chosen TensorFlow's log
level (``TF_CPP_MIN_LOG_LEVEL`` set before melgenre imports TensorFlow), the
import and the device discovery run with file descriptor 2 captured; the
known start-up lines are dropped and anything else is written back to
standard error, so real errors still show. Every module that needs TensorFlow
imports it from here; importing :mod:`melgenre` alone never does.

``import melgenre``, which runs before this module, has already set TensorFlow's
environment (:func:`melgenre._tfenv.enable_onednn`). Keras must run on TensorFlow:
a JAX or PyTorch setting raises :class:`~melgenre.errors.BackendError` here, before
anything is trained or loaded (:func:`melgenre._tfenv.check_keras_backend`).
"""

from __future__ import annotations

import os
import sys

from melgenre._stderr import STARTUP_NOISE, quietly
from melgenre._tfenv import check_keras_backend

__all__ = ["STARTUP_NOISE", "keras", "tf"]


def _import_quietly() -> None:
    if "tensorflow" in sys.modules or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"  # later INFO and WARNING lines too
    with quietly():
        import tensorflow

        tensorflow.config.list_physical_devices()  # CUDA discovery prints here


check_keras_backend()
_import_quietly()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

check_keras_backend()
