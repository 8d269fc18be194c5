"""The exceptions and warnings melgenre raises.

Every exception derives from :class:`MelgenreError`, so ``except
melgenre.MelgenreError`` catches anything melgenre raises on purpose. Leaves
also derive from the builtin a caller would already catch:
:class:`ConfigError` is a :class:`ValueError`, :class:`AudioFileNotFoundError`
a :class:`FileNotFoundError`, :class:`SaveError` an :class:`OSError`,
:class:`NotTrainedError` and :class:`BackendError` a :class:`RuntimeError`.

::

    MelgenreError
    ├── ConfigError (ValueError)            a parameter has a bad value
    ├── MelgenreTypeError (TypeError)       an argument has the wrong type
    ├── AudioError                          .source names the file
    │   ├── AudioDecodeError                cannot be read or decoded
    │   │   └── AudioFileNotFoundError (FileNotFoundError)
    │   ├── AudioUnusableError (ValueError) decoded, but empty, too short, non-finite, bad shape
    │   └── SampleRateMismatchError (ValueError)
    ├── DatasetError                        a data folder or split cannot be used
    │   └── CacheError                      the feature cache cannot be read or written
    ├── BundleError                         a saved model bundle cannot be written or read
    ├── ExportError                         a model cannot be exported, or its export disagrees
    ├── SaveError (OSError)                 a file cannot be written (.path names it)
    ├── NotTrainedError (RuntimeError)      a model is used before it is trained
    └── BackendError (RuntimeError)         Keras is set to a backend other than TensorFlow

Messages say what is wrong, with which value, what was expected and how to
fix it, e.g. ``Cannot read audio from 'rock/01.mp3': the file is empty (0
bytes). Expected an audio file (WAV, FLAC, OGG, MP3, ...).``
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AudioDecodeError",
    "AudioError",
    "AudioFileNotFoundError",
    "AudioUnusableError",
    "BackendError",
    "BundleError",
    "CacheError",
    "ConfigError",
    "DatasetError",
    "ExportError",
    "MelgenreDeprecationWarning",
    "MelgenreError",
    "MelgenreTypeError",
    "MelgenreWarning",
    "NotTrainedError",
    "SampleRateMismatchError",
    "SaveError",
]


class MelgenreError(Exception):
    """The root of every exception melgenre raises on purpose."""


class ConfigError(MelgenreError, ValueError):
    """A component was given a parameter value it cannot use.

    Parameters
    ----------
    message : str
        The whole message.
    parameter : str, optional
        The name of the offending parameter, available as ``.parameter``.
    value : object, optional
        The value received, available as ``.value``.
    """

    def __init__(self, message: str, *, parameter: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.value = value


class MelgenreTypeError(MelgenreError, TypeError):
    """An argument has a type melgenre cannot use (e.g. ``load(42)``)."""


class AudioError(MelgenreError):
    """Audio could not be turned into samples melgenre can use.

    Parameters
    ----------
    message : str
        The whole message; by convention it starts with the source's name.
    source : str, optional
        The file path or a description of the source (``"<bytes>"``),
        available as ``.source``.
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class AudioDecodeError(AudioError):
    """The source cannot be read or decoded as audio.

    Raised for a missing file, a directory, an empty or header-only file, a
    non-audio file, a truncated or corrupt file, or a format no installed
    decoder can read.
    """


class AudioFileNotFoundError(AudioDecodeError, FileNotFoundError):
    """The audio file does not exist (also a :class:`FileNotFoundError`)."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        AudioDecodeError.__init__(self, message, source=source)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class AudioUnusableError(AudioError, ValueError):
    """The audio decoded, but cannot be used.

    Raised for audio with no samples (or fewer than asked for), NaN or
    infinite samples, or an array of unsupported shape or dtype.
    """


class SampleRateMismatchError(AudioError, ValueError):
    """Audio at one sample rate was given to a component configured for another.

    Attributes
    ----------
    expected : int
        The sample rate the component was configured for.
    received : int
        The sample rate of the audio it received.
    """

    def __init__(
        self, message: str, *, source: str | None = None, expected: int, received: int
    ) -> None:
        super().__init__(message, source=source)
        self.expected = expected
        self.received = received


class DatasetError(MelgenreError):
    """A data folder, its classes or a split cannot be used."""


class CacheError(DatasetError):
    """The feature cache cannot be read or written (its directory, not a file, is at fault).

    Raised once, stopping extraction, rather than failing every file alike; the
    entries written before it are kept for the next run.
    """


class BundleError(MelgenreError):
    """A saved model bundle cannot be written, read or validated."""


class ExportError(MelgenreError):
    """A model cannot be exported, or its export disagrees with the :class:`~melgenre.Predictor`.

    Raised for a featurizer step without an in-graph twin, a setting the format cannot
    run, or an artifact whose outputs differ from the Predictor's beyond tolerance.
    """


class SaveError(MelgenreError, OSError):
    """A file cannot be written: its folder cannot be made or written, or the write failed.

    Raised by the saves that write one file through a temporary sibling
    (:meth:`History.save <melgenre.History.save>`, the plots, the Trainer's
    checkpoints, a parity report); what was at the path before is left as it was.
    Also an :class:`OSError`, so code that caught the plain error keeps working.

    Parameters
    ----------
    message : str
        The whole message; it names the file and why it cannot be written.
    path : str, optional
        The file that was being written, available as ``.path``.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class NotTrainedError(MelgenreError, RuntimeError):
    """A model, head or predictor was used before it was trained."""


class BackendError(MelgenreError, RuntimeError):
    """Keras is set to run on a backend other than TensorFlow (JAX, PyTorch, ...).

    melgenre's models, their in-graph features and their exports are TensorFlow graphs,
    and a process runs one Keras backend: the one ``KERAS_BACKEND`` or ``keras.json``
    names when Keras is first imported. Raised before anything is trained or loaded.
    """


class _NotTrainedConfigError(NotTrainedError, ConfigError):
    """A :class:`NotTrainedError` that is still a :class:`ConfigError`, as it was until 0.2.

    ``Trainer.to_predictor`` and :class:`~melgenre.StatisticsHead` used before ``fit``
    raised a ``ConfigError``; code that catches it keeps working until 0.3, when this
    becomes a plain :class:`NotTrainedError`.
    """


class MelgenreWarning(UserWarning):
    """A mistake melgenre can work around, but that the user should fix."""


class MelgenreDeprecationWarning(MelgenreWarning, FutureWarning):
    """A name or parameter that will be removed.

    The message says since which version, until which, and what to use
    instead (see :mod:`melgenre.deprecation`).

    A :class:`FutureWarning`, so users see it by default, as in scikit-learn.
    """
