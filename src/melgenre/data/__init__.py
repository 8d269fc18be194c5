"""The data layer: labelled files, leakage-safe splits, extracted features.

.. autosummary::

    FolderDataset
    Split
    FeatureSet
    FailedFile
    Example
    read_groups

Modules: :mod:`~melgenre.data.scan` (finding files in class folders),
:mod:`~melgenre.data.folders` (:class:`FolderDataset`),
:mod:`~melgenre.data.split` (groups and sides), :mod:`~melgenre.data.groups`
(groups read from a CSV table), :mod:`~melgenre.data.lists`
(published splits as lists of file names, and the presets), :mod:`~melgenre.data.duplicates`
(byte-identical files) and :mod:`~melgenre.data.featureset`
(:class:`FeatureSet`). Extraction itself is :mod:`melgenre.extraction`.
"""

from melgenre.data.featureset import FailedFile as FailedFile
from melgenre.data.featureset import FeatureSet as FeatureSet
from melgenre.data.folders import FolderDataset as FolderDataset
from melgenre.data.groups import read_groups as read_groups
from melgenre.data.lists import SPLIT_PRESETS as SPLIT_PRESETS
from melgenre.data.scan import AUDIO_EXTENSIONS as AUDIO_EXTENSIONS
from melgenre.data.scan import Example as Example
from melgenre.data.split import Split as Split

__all__ = [
    "AUDIO_EXTENSIONS",
    "SPLIT_PRESETS",
    "Example",
    "FailedFile",
    "FeatureSet",
    "FolderDataset",
    "Split",
    "read_groups",
]
