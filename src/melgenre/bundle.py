"""The model bundle: a directory holding everything a :class:`Predictor` needs.

::

    model-dir/
      melgenre.json        format name and version, melgenre version, labels, the loader's and
                           featurizer's registered names and configs, the model's input shape,
                           the aggregation rule, training summary, metrics, reproducibility
                           record, and the SHA-256 of every other file
      model.keras          the Keras 3 archive, loaded with safe_mode=True
      clip_head.keras      the clip-level pooling head (aggregation "attention" only)
      statistics_head.json the clip statistics head's settings and weights (when trained with
                           statistics=True)
      training_hist.json   per-epoch metrics (when the predictor was trained with melgenre)
      *.png                curves and confusion matrix, when they were made

Writing is atomic: the bundle is written to a temporary sibling directory and
renamed into place, so a crash or a full disk mid-save leaves the previous
bundle as it was. Reading validates everything before a model is used; each
problem raises :class:`~melgenre.errors.BundleError` saying what is wrong.

Importing this module does not import TensorFlow; reading or writing the model does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from melgenre._files import check_replaceable, fsync_directory, hash_file, swap_into_place
from melgenre._typing import PathLike
from melgenre._version import __version__, _installed_version
from melgenre.errors import BundleError, ConfigError, MelgenreWarning, NotTrainedError

if TYPE_CHECKING:
    import keras

    from melgenre.evaluation import EvaluationReport
    from melgenre.history import History
    from melgenre.predictor import Predictor
    from melgenre.preprocessing import Preprocessing

__all__ = [
    "BUNDLE_CONFIG",
    "CLIP_HEAD_FILE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "HISTORY_FILE",
    "MODEL_FILE",
    "STATISTICS_HEAD_FILE",
    "build_manifest",
    "load_model",
    "read_labels",
    "read_manifest",
    "read_predictor",
    "read_preprocessing",
    "save_predictor",
    "write_bundle",
]

logger = logging.getLogger(__name__)

#: The bundle's description file.
BUNDLE_CONFIG = "melgenre.json"
#: The Keras archive.
MODEL_FILE = "model.keras"
#: The clip-level pooling head (:class:`~melgenre.pooling.ClipHead`), when there is one.
CLIP_HEAD_FILE = "clip_head.keras"
#: The clip statistics head (:class:`~melgenre.fusion.StatisticsHead`), when there is one.
STATISTICS_HEAD_FILE = "statistics_head.json"
#: Per-epoch training metrics.
HISTORY_FILE = "training_hist.json"
#: ``melgenre.json``'s ``format`` value.
FORMAT_NAME = "melgenre.bundle"
#: The newest bundle format this melgenre reads and the one it writes.
FORMAT_VERSION = 1


def sha256(path: Path) -> str:
    """SHA-256 hex digest of a file (the bundle's checksums)."""
    return hash_file(path, hashlib.sha256())


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def write_bundle(
    directory: PathLike,
    manifest: Mapping[str, Any],
    files: Mapping[str, Any],
) -> Path:
    """Write a bundle directory atomically.

    Parameters
    ----------
    directory : str or os.PathLike
        The bundle to create or replace.
    manifest : mapping
        The contents of ``melgenre.json`` (format fields and checksums are added).
    files : mapping of str to callable or path
        Each entry writes one file: a callable ``write(path)``, or a path to
        copy. Names must be plain file names.

    Returns
    -------
    path : pathlib.Path
    """
    target = Path(directory)
    parent = target.parent
    check_replaceable(target, BUNDLE_CONFIG, "a melgenre bundle", BundleError)  # creates parent
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
    try:
        checksums = {}
        for name, source in files.items():
            if Path(name).name != name or name == BUNDLE_CONFIG:
                raise BundleError(f"Invalid bundle file name {name!r}.")
            destination = staging / name
            if callable(source):
                source(destination)
            else:
                shutil.copyfile(source, destination)
            checksums[name] = sha256(destination)
        full = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "melgenre_version": __version__,
            **manifest,
            "files": checksums,
        }
        config_path = staging / BUNDLE_CONFIG
        with open(config_path, "w") as handle:
            json.dump(full, handle, indent=2, sort_keys=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        fsync_directory(staging)
        swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _locate(directory: Path) -> Path:
    if directory.is_dir():
        return directory
    backups = (
        sorted(directory.parent.glob(f".{directory.name}.old-*"))
        if directory.parent.is_dir()
        else []
    )
    if not directory.exists() and len(backups) == 1 and (backups[0] / BUNDLE_CONFIG).is_file():
        logger.warning(
            "%s is missing but %s holds the bundle a save was replacing when it stopped; using it.",
            directory,
            backups[0],
        )
        return backups[0]
    if directory.exists():
        inside = (directory.parent / BUNDLE_CONFIG).is_file()  # e.g. the bundle's model.keras
        raise BundleError(
            f"{str(directory)!r} is not a bundle directory (it is a file)"
            + (f"; the bundle is its folder: {str(directory.parent)!r}." if inside else ".")
        )
    raise BundleError(
        f"No bundle at {str(directory)!r}. Save one with Predictor.save({str(directory)!r})."
    )


def read_manifest(directory: PathLike) -> tuple[Path, dict[str, Any]]:
    """Read and validate ``melgenre.json`` and every file it lists.

    Returns
    -------
    (directory, manifest) : the bundle's actual directory and its parsed description.

    Raises
    ------
    BundleError
        Missing directory or file, invalid JSON, another format, a newer format
        version, or a file whose checksum does not match (truncated or altered).
    """
    root = _locate(Path(directory))
    config_path = root / BUNDLE_CONFIG
    if not config_path.is_file():
        from melgenre.export import EXPORT_CONFIG

        export = (root / EXPORT_CONFIG).is_file()
        raise BundleError(
            f"{str(root)!r} has no {BUNDLE_CONFIG}; it is not a melgenre bundle "
            + ("but an export: ExportedModel.load() runs it." if export else "(or it was deleted).")
        )
    try:
        manifest = json.loads(config_path.read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(
            f"{str(config_path)!r} is not valid JSON ({exc}); the bundle is damaged."
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise BundleError(f"{str(config_path)!r} does not describe a melgenre bundle.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise BundleError(f"{str(config_path)!r} has an invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise BundleError(
            f"{str(root)!r} uses bundle format {version}, newer than the {FORMAT_VERSION} this "
            f"melgenre {__version__} reads; upgrade melgenre (pip install -U melgenre)."
        )
    written_by = str(manifest.get("melgenre_version", "0"))
    if _version_tuple(written_by) > _version_tuple(__version__):
        warnings.warn(
            f"The bundle {str(root)!r} was written by melgenre {written_by}, newer than this "
            f"melgenre {__version__}; it may not load or predict as intended.",
            MelgenreWarning,
            stacklevel=3,
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or MODEL_FILE not in files:
        raise BundleError(f"{str(config_path)!r} lists no {MODEL_FILE}; the bundle is damaged.")
    for name, expected in files.items():
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise BundleError(f"{str(config_path)!r} lists an invalid file name {name!r}.")
        path = root / name
        if not path.is_file():
            raise BundleError(f"The bundle {str(root)!r} is missing {name!r}; save it again.")
        if sha256(path) != expected:
            raise BundleError(
                f"{name!r} in the bundle {str(root)!r} does not match its checksum: it was "
                "truncated or altered after saving. Save the bundle again."
            )
    return root, manifest


def build_manifest(
    *,
    labels: list[str],
    preprocessing: dict[str, Any],
    model: keras.Model,
    input_shape: tuple[int, ...],
    aggregation: str,
    metadata: dict[str, Any],
    training: dict[str, Any] | None,
    metrics: dict[str, Any] | None,
) -> dict[str, Any]:
    """The contents of ``melgenre.json`` (before :func:`write_bundle` adds format and hashes).

    ``preprocessing`` is ``Preprocessing.get_config()`` (the ``loader`` and ``featurizer``
    entries); ``training`` the history's run record (seed, split sizes, hash of the
    training files, epochs, ...); ``metrics`` an evaluation report's ``to_dict()``.
    """
    return {
        "labels": labels,
        **preprocessing,
        "model": {
            "class_name": type(model).__name__,
            "input_shape": list(input_shape),
            "outputs": len(labels),
            "params": int(model.count_params()),
        },
        "aggregation": aggregation,
        "metadata": metadata,
        "training": training,
        "metrics": metrics,
        "environment": _environment(),
    }


def read_preprocessing(root: Path, manifest: dict[str, Any]) -> Preprocessing:
    """The bundle's :class:`~melgenre.Preprocessing`, rebuilt from its registered components."""
    from melgenre.preprocessing import Preprocessing

    try:
        return Preprocessing.from_config(
            {"loader": manifest["loader"], "featurizer": manifest["featurizer"]}
        )
    except (KeyError, ConfigError) as exc:
        raise BundleError(f"Cannot rebuild the preprocessing of {str(root)!r}: {exc}") from exc


def read_labels(root: Path, manifest: dict[str, Any]) -> list[str]:
    """The bundle's class labels, in the model's output order."""
    labels = manifest.get("labels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise BundleError(f"{str(root)!r} has no valid list of labels.")
    return labels


def load_model(root: Path, name: str = MODEL_FILE) -> keras.Model:
    """A Keras model of the bundle (``safe_mode=True``; melgenre's models registered first).

    ``name`` is :data:`MODEL_FILE` (the window model) or :data:`CLIP_HEAD_FILE`.
    """
    import melgenre.model  # registers GenreCNN with Keras' serialization
    import melgenre.pooling  # noqa: F401  (registers ClipHead)
    from melgenre._tf import keras

    try:
        return keras.saving.load_model(str(root / name), safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad archive
        raise BundleError(
            f"Cannot load {name} from {str(root)!r} ({type(exc).__name__}: {exc}). "
            "If the model is a custom class, import the module that registers it first."
        ) from exc


def save_predictor(
    predictor: Predictor,
    path: PathLike,
    *,
    history: History | None = None,
    report: EvaluationReport | None = None,
    extra_files: Mapping[str, PathLike] | None = None,
) -> Path:
    """Write ``predictor`` as a bundle at ``path`` (:meth:`melgenre.Predictor.save`)."""
    model = predictor.model
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or int(optimizer.iterations) == 0:
        raise NotTrainedError(
            f"This {type(model).__name__} instance is not trained yet. Call "
            "Trainer.fit(...) before Predictor.save()."
        )
    try:
        preprocessing = predictor.preprocessing.get_config()  # {"loader": ..., "featurizer": ...}
    except ConfigError as exc:
        raise BundleError(f"Cannot save the predictor: {exc}") from exc
    manifest = build_manifest(
        labels=predictor.labels,
        preprocessing=preprocessing,
        model=model,
        input_shape=predictor.preprocessing.output_shape,
        aggregation=predictor.aggregation,
        metadata=predictor.metadata,
        training=history.params if history is not None else None,
        metrics=report.to_dict() if report is not None else None,
    )
    files: dict[str, Any] = {MODEL_FILE: lambda p: model.save(p)}
    head = predictor.clip_head
    if head is not None:
        files[CLIP_HEAD_FILE] = lambda p: head.save(p)
    statistics = predictor.statistics_head
    if statistics is not None:
        record = {"config": statistics.get_config(), "weights": statistics.get_weights()}
        files[STATISTICS_HEAD_FILE] = lambda p: Path(p).write_text(json.dumps(record))
    if history is not None:
        files[HISTORY_FILE] = history.save
    for name, source in (extra_files or {}).items():
        files[name] = Path(source)
    return write_bundle(path, manifest, files)


def read_predictor(path: PathLike) -> tuple[Path, dict[str, Any]]:
    """The bundle's directory and the keyword arguments of its :class:`~melgenre.Predictor`."""
    root, manifest = read_manifest(path)
    preprocessing, labels = read_preprocessing(root, manifest), read_labels(root, manifest)
    model = load_model(root)
    head = load_model(root, CLIP_HEAD_FILE) if CLIP_HEAD_FILE in manifest["files"] else None
    statistics = _read_statistics_head(root) if STATISTICS_HEAD_FILE in manifest["files"] else None
    return root, {
        "preprocessing": preprocessing,
        "model": model,
        "labels": labels,
        "aggregation": manifest.get("aggregation", "mean"),
        "metadata": manifest.get("metadata") or {},
        "clip_head": head,
        "statistics_head": statistics,
    }


def _read_statistics_head(root: Path) -> Any:
    """The bundle's :class:`~melgenre.fusion.StatisticsHead`, fitted."""
    from melgenre.fusion import StatisticsHead

    path = root / STATISTICS_HEAD_FILE
    try:
        record = json.loads(path.read_text())
        head = StatisticsHead.from_config(record["config"])
        head.set_weights(record["weights"])
    except (OSError, ValueError, KeyError, TypeError) as exc:  # ConfigError is a ValueError
        raise BundleError(f"Cannot read the statistics head {str(path)!r}: {exc}") from exc
    return head


def _environment() -> dict[str, str]:
    """Versions of the libraries that shape a bundle's predictions."""
    names = ("melgenre", "numpy", "librosa", "soundfile", "soxr", "tensorflow", "keras")
    return {name: _installed_version(name) for name in names}
