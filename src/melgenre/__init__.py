"""melgenre: audio classification from folders of recordings to predictions.

Audio
-----
.. autosummary::

    Audio
    AudioLoader

Features
--------
.. autosummary::

    Featurizer
    MelFeaturizer
    Preprocessing

Data
----
.. autosummary::

    FolderDataset
    Split
    FeatureSet
    FeatureCache

Model and training
------------------
.. autosummary::

    GenreCNN
    ClipHead
    ClipStatistics
    StatisticsHead
    Trainer
    TrainingPlan
    plan_training
    Augmentation
    History
    EvaluationReport

Plots: :mod:`melgenre.plotting` (matplotlib, the ``plot`` extra).

Inference
---------
.. autosummary::

    Predictor
    Prediction
    WindowPrediction
    register_component

Export
------
.. autosummary::

    ExportedModel
    ParityReport

Errors
------
See :mod:`melgenre.errors`: every exception derives from :class:`MelgenreError`.

Utilities
---------
.. autosummary::

    show_versions

Importing melgenre is cheap: TensorFlow is only imported by the modules that
build or run a model, and librosa's signal processing only on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from melgenre import errors as errors
from melgenre._config import Component as Component
from melgenre._registry import get_registered_name as get_registered_name
from melgenre._registry import register_component as register_component
from melgenre._tfenv import enable_onednn as _enable_onednn
from melgenre._version import __version__ as __version__
from melgenre._version import show_versions as show_versions
from melgenre.artifact import ExportedModel as ExportedModel
from melgenre.audio import Audio as Audio
from melgenre.audio import AudioLoader as AudioLoader
from melgenre.augment import Augmentation as Augmentation
from melgenre.cache import FeatureCache as FeatureCache
from melgenre.data import Example as Example
from melgenre.data import FailedFile as FailedFile
from melgenre.data import FeatureSet as FeatureSet
from melgenre.data import FolderDataset as FolderDataset
from melgenre.data import Split as Split
from melgenre.errors import AudioDecodeError as AudioDecodeError
from melgenre.errors import AudioError as AudioError
from melgenre.errors import AudioFileNotFoundError as AudioFileNotFoundError
from melgenre.errors import AudioUnusableError as AudioUnusableError
from melgenre.errors import BackendError as BackendError
from melgenre.errors import BundleError as BundleError
from melgenre.errors import CacheError as CacheError
from melgenre.errors import ConfigError as ConfigError
from melgenre.errors import DatasetError as DatasetError
from melgenre.errors import ExportError as ExportError
from melgenre.errors import MelgenreDeprecationWarning as MelgenreDeprecationWarning
from melgenre.errors import MelgenreError as MelgenreError
from melgenre.errors import MelgenreTypeError as MelgenreTypeError
from melgenre.errors import MelgenreWarning as MelgenreWarning
from melgenre.errors import NotTrainedError as NotTrainedError
from melgenre.errors import SampleRateMismatchError as SampleRateMismatchError
from melgenre.errors import SaveError as SaveError
from melgenre.evaluation import EvaluationReport as EvaluationReport
from melgenre.features import MelFeaturizer as MelFeaturizer
from melgenre.featurizer import Featurizer as Featurizer
from melgenre.fusion import StatisticsHead as StatisticsHead
from melgenre.history import History as History
from melgenre.parity import ParityReport as ParityReport
from melgenre.plan import TrainingPlan as TrainingPlan
from melgenre.plan import plan_training as plan_training
from melgenre.predictor import Prediction as Prediction
from melgenre.predictor import Predictor as Predictor
from melgenre.predictor import WindowPrediction as WindowPrediction
from melgenre.preprocessing import Preprocessing as Preprocessing
from melgenre.statistics import ClipStatistics as ClipStatistics

_enable_onednn()  # before anything imports TensorFlow (see melgenre._tfenv)

if TYPE_CHECKING:
    from melgenre.model import GenreCNN as GenreCNN
    from melgenre.pooling import ClipHead as ClipHead
    from melgenre.training import Trainer as Trainer

#: Names whose modules import TensorFlow, loaded on first access (PEP 562).
_LAZY = {
    "ClipHead": "melgenre.pooling",
    "GenreCNN": "melgenre.model",
    "Trainer": "melgenre.training",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'melgenre' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "Audio",
    "AudioDecodeError",
    "AudioError",
    "AudioFileNotFoundError",
    "AudioLoader",
    "AudioUnusableError",
    "Augmentation",
    "BackendError",
    "BundleError",
    "CacheError",
    "ClipHead",
    "ClipStatistics",
    "Component",
    "ConfigError",
    "DatasetError",
    "EvaluationReport",
    "Example",
    "ExportError",
    "ExportedModel",
    "FailedFile",
    "FeatureCache",
    "FeatureSet",
    "Featurizer",
    "FolderDataset",
    "GenreCNN",
    "History",
    "MelFeaturizer",
    "MelgenreDeprecationWarning",
    "MelgenreError",
    "MelgenreTypeError",
    "MelgenreWarning",
    "NotTrainedError",
    "ParityReport",
    "Prediction",
    "Predictor",
    "Preprocessing",
    "SampleRateMismatchError",
    "SaveError",
    "Split",
    "StatisticsHead",
    "Trainer",
    "TrainingPlan",
    "WindowPrediction",
    "__version__",
    "errors",
    "get_registered_name",
    "plan_training",
    "register_component",
    "show_versions",
]
