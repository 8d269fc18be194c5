"""Prediction with exactly the preprocessing a model was trained with: :class:`Predictor`.

``Predictor.load("model-dir").predict("song.mp3")`` decodes the file with the
bundled loader (resampling it to the trained rate), cuts it into the trained
windows, runs the model once over all of them and aggregates the window
probabilities into one answer, keeping the per-window timeline.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from melgenre._registry import deserialize_component, serialize_component
from melgenre._typing import AudioSource, FloatArray, PathLike
from melgenre._validation import check_choice, check_int
from melgenre._version import _installed_version
from melgenre.audio import Audio, AudioLoader
from melgenre.bundle import HISTORY_FILE, MODEL_FILE, read_manifest, write_bundle
from melgenre.dataset import FailedFile, FolderDataset
from melgenre.errors import (
    BundleError,
    ConfigError,
    MelgenreError,
    MelgenreTypeError,
    NotTrainedError,
)
from melgenre.evaluation import EvaluationReport, evaluate_probabilities
from melgenre.features import Featurizer
from melgenre.history import History

if TYPE_CHECKING:
    import keras

__all__ = ["AGGREGATIONS", "Prediction", "Predictor", "WindowPrediction"]

logger = logging.getLogger(__name__)


def _mean(p: FloatArray) -> FloatArray:
    return np.asarray(p.mean(axis=0), dtype=np.float32)


def _max(p: FloatArray) -> FloatArray:
    peak = p.max(axis=0)
    return np.asarray(peak / peak.sum(), dtype=np.float32)


def _vote(p: FloatArray) -> FloatArray:
    votes = np.bincount(p.argmax(axis=1), minlength=p.shape[1]).astype(np.float32)
    return np.asarray(votes / votes.sum(), dtype=np.float32)


#: How window probabilities become a file's probabilities: the mean of the
#: windows' probabilities (default), the per-class maximum (renormalised), or
#: the fraction of windows voting for each class.
AGGREGATIONS: dict[str, Callable[[FloatArray], FloatArray]] = {
    "mean": _mean,
    "max": _max,
    "vote": _vote,
}


@dataclasses.dataclass(frozen=True)
class WindowPrediction:
    """The model's answer for one window of a recording."""

    start: float
    end: float
    label: str
    confidence: float
    probabilities: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Prediction:
    """The answer for one recording.

    Attributes
    ----------
    source : str
        The file (or ``"<bytes>"``, ``"<array>"``, ...).
    label : str
        The most probable class.
    confidence : float
        Its aggregated probability.
    probabilities : dict of str to float
        Every class's aggregated probability, in label order.
    windows : tuple of WindowPrediction
        The timeline: each window's start and end (seconds) and probabilities.
    """

    source: str
    label: str
    confidence: float
    probabilities: dict[str, float]
    windows: tuple[WindowPrediction, ...]

    def top_k(self, k: int = 3) -> list[dict[str, Any]]:
        """The ``k`` most probable classes: ``[{"label": ..., "score": ...}, ...]``."""
        ranked = sorted(self.probabilities.items(), key=lambda item: -item[1])
        return [{"label": label, "score": score} for label, score in ranked[:k]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return dataclasses.asdict(self)


class Predictor:
    """A loader, a featurizer, a trained model and its labels: audio in, labels out.

    Parameters
    ----------
    loader : AudioLoader
        Decodes and resamples inputs; its ``sample_rate`` must be the
        featurizer's.
    featurizer : Featurizer
        Exactly the featurizer the model was trained on.
    model : keras.Model
        A trained classifier whose input is ``featurizer.output_shape`` and
        whose softmax has one output per label.
    labels : sequence of str
        Class names by output index (``dataset.classes``).
    aggregation : {"mean", "max", "vote"}, default="mean"
        How window probabilities become a file's; see :data:`AGGREGATIONS`.
    batch_size : int > 0, default=64
        Windows per model call.
    metadata : dict, optional
        Anything JSON-safe to store in the bundle (training summary, metrics...).

    Notes
    -----
    Inference is compiled once into a ``tf.function`` with a fixed input
    signature; a Predictor can be shared by threads.
    """

    def __init__(
        self,
        *,
        loader: AudioLoader,
        featurizer: Featurizer,
        model: keras.Model,
        labels: Sequence[str],
        aggregation: Literal["mean", "max", "vote"] = "mean",
        batch_size: int = 64,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(loader, AudioLoader):
            raise MelgenreTypeError(f"loader must be an AudioLoader, got {type(loader).__name__}.")
        if not isinstance(featurizer, Featurizer):
            raise MelgenreTypeError(
                f"featurizer must be a melgenre Featurizer, got {type(featurizer).__name__}."
            )
        featurizer.check_loader(loader)
        check_choice("Predictor", "aggregation", aggregation, tuple(AGGREGATIONS))
        check_int("Predictor", "batch_size", batch_size, low=1)
        labels = [str(label) for label in labels]
        if len(set(labels)) != len(labels) or len(labels) < 2:
            raise ConfigError(
                f"labels must be at least 2 distinct names; got {labels}.", parameter="labels"
            )
        input_shape, outputs = _model_io(model)
        if outputs != len(labels):
            raise ConfigError(
                f"The model has {outputs} outputs but {len(labels)} labels were given "
                f"({labels}); pass labels=dataset.classes of the training data.",
                parameter="labels",
                value=labels,
            )
        if input_shape != tuple(featurizer.output_shape):
            raise ConfigError(
                f"The model expects windows of shape {input_shape} but the featurizer makes "
                f"{tuple(featurizer.output_shape)}; use the featurizer the model was trained with.",
                parameter="featurizer",
            )
        self.loader = loader
        self.featurizer = featurizer
        self.model = model
        self.labels = labels
        self.aggregation: str = aggregation
        self.batch_size = batch_size
        self.metadata = dict(metadata or {})
        self._infer: Any = None
        self._trace_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"Predictor(labels={self.labels}, sample_rate={self.featurizer.sample_rate}, "
            f"window_shape={tuple(self.featurizer.output_shape)}, aggregation={self.aggregation!r})"
        )

    # ------------------------------------------------------------- inference

    def _compiled(self) -> Any:
        if self._infer is None:
            with self._trace_lock:
                if self._infer is None:
                    import tensorflow as tf

                    model = self.model
                    spec = tf.TensorSpec(
                        shape=(None, *self.featurizer.output_shape), dtype=tf.float32
                    )

                    def call(x: Any) -> Any:
                        return model(x, training=False)

                    infer = tf.function(call, input_signature=[spec], reduce_retracing=True)
                    infer.get_concrete_function()  # trace now, once, under the lock
                    self._infer = infer
        return self._infer

    def predict_windows(self, windows: FloatArray) -> FloatArray:
        """Probabilities ``(n_windows, n_labels)`` for feature windows, in batches."""
        x = np.asarray(windows, dtype=np.float32)
        if x.ndim != 4 or tuple(x.shape[1:]) != tuple(self.featurizer.output_shape):
            raise ConfigError(
                f"Expected windows of shape (n, *{tuple(self.featurizer.output_shape)}); "
                f"got {x.shape}."
            )
        infer = self._compiled()
        out = [
            np.asarray(infer(x[i : i + self.batch_size]), dtype=np.float32)
            for i in range(0, len(x), self.batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)

    def _prediction(self, audio: Audio, probabilities: FloatArray) -> Prediction:
        aggregated = AGGREGATIONS[self.aggregation](probabilities)
        best = int(np.argmax(aggregated))
        times = (
            self.featurizer.window_times(audio)
            if hasattr(self.featurizer, "window_times")
            else None
        )
        timeline = []
        for i, row in enumerate(probabilities):
            start, end = (
                (float(times[i][0]), float(times[i][1])) if times is not None else (np.nan, np.nan)
            )
            k = int(np.argmax(row))
            timeline.append(
                WindowPrediction(
                    start=start,
                    end=end,
                    label=self.labels[k],
                    confidence=float(row[k]),
                    probabilities=dict(zip(self.labels, map(float, row), strict=True)),
                )
            )
        return Prediction(
            source=audio.source,
            label=self.labels[best],
            confidence=float(aggregated[best]),
            probabilities=dict(zip(self.labels, map(float, aggregated), strict=True)),
            windows=tuple(timeline),
        )

    def _prepare(self, source: AudioSource | Audio) -> tuple[Audio, FloatArray]:
        audio = self.loader.load(source)
        return audio, self.featurizer.transform(audio)

    def predict(self, source: AudioSource | Audio) -> Prediction:
        """Classify one recording.

        Parameters
        ----------
        source : path, file object, bytes, ``(samples, sample_rate)`` or Audio
            Anything :meth:`AudioLoader.load` reads; audio at another sample
            rate is resampled by the bundled loader.

        Returns
        -------
        Prediction
        """
        audio, windows = self._prepare(source)
        return self._prediction(audio, self.predict_windows(windows))

    def predict_many(
        self,
        sources: Iterable[AudioSource | Audio],
        *,
        batch_size: int | None = None,
        on_error: Literal["skip", "raise"] = "skip",
    ) -> list[Prediction | FailedFile]:
        """Classify many recordings, batching the windows of several files per model call.

        A file that cannot be read becomes a :class:`FailedFile` in the result
        (with ``on_error="skip"``, the default) and the others go on.

        Returns
        -------
        results : list of Prediction or FailedFile
            One per source, in order.
        """
        check_choice("Predictor.predict_many", "on_error", on_error, ("skip", "raise"))
        step = batch_size or self.batch_size
        results: list[Prediction | FailedFile | None] = []
        pending: list[tuple[int, Audio, FloatArray]] = []

        def flush() -> None:
            if not pending:
                return
            stacked = np.concatenate([w for _, _, w in pending])
            probabilities = self.predict_windows(stacked)
            offset = 0
            for index, audio, windows in pending:
                part = probabilities[offset : offset + len(windows)]
                offset += len(windows)
                results[index] = self._prediction(audio, part)
            pending.clear()

        for source in sources:
            results.append(None)
            index = len(results) - 1
            try:
                audio, windows = self._prepare(source)
            except MelgenreError as exc:
                if on_error == "raise":
                    raise
                name = _source_name(source, exc)
                results[index] = FailedFile(name, str(exc), type(exc).__name__)
                logger.warning("Skipped %s: %s", name, exc)
                continue
            pending.append((index, audio, windows))
            if sum(len(w) for _, _, w in pending) >= step:
                flush()
        flush()
        return [r for r in results if r is not None]

    def evaluate(
        self,
        dataset: FolderDataset,
        *,
        cache_dir: PathLike | None = None,
        workers: int | None = None,
        progress: bool = False,
    ) -> EvaluationReport:
        """File-level and window-level accuracy on a labelled dataset.

        The dataset's files are read with this predictor's loader and
        featurizer (not the dataset's loader). Its classes must be among this
        predictor's labels.
        """
        if not isinstance(dataset, FolderDataset):
            raise MelgenreTypeError(
                f"evaluate expects a FolderDataset, got {type(dataset).__name__}."
            )
        unknown = [c for c in dataset.classes if c not in self.labels]
        if unknown:
            raise ConfigError(
                f"The dataset has classes {unknown} that this predictor does not know "
                f"(its labels: {self.labels}).",
                parameter="dataset",
            )
        features = dataset.with_loader(self.loader).features(
            self.featurizer, cache_dir=cache_dir, workers=workers, progress=progress
        )
        to_ours = np.array([self.labels.index(c) for c in dataset.classes], dtype=np.int64)
        probabilities = self.predict_windows(np.asarray(features.x))
        return evaluate_probabilities(
            probabilities, to_ours[features.labels], features.groups, self.labels
        )

    # ------------------------------------------------------------ persistence

    def save(
        self,
        path: PathLike,
        *,
        history: History | None = None,
        report: EvaluationReport | None = None,
        extra_files: dict[str, PathLike] | None = None,
    ) -> Path:
        """Save everything needed to predict as a bundle directory, atomically.

        Parameters
        ----------
        path : str or os.PathLike
            The bundle directory (replaced if it exists; see :mod:`melgenre.bundle`).
        history : History, optional
            Written as ``training_hist.json``; its run record (seed, split
            sizes, hash of the training files, epochs, best epoch) is stored
            in ``melgenre.json`` under ``training``.
        report : EvaluationReport, optional
            Stored in ``melgenre.json`` under ``metrics``.
        extra_files : dict of str to path, optional
            Files to copy into the bundle (e.g. ``{"curves.png": ...}``).

        Returns
        -------
        path : pathlib.Path
        """
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or int(optimizer.iterations) == 0:
            raise NotTrainedError(
                f"This {type(self.model).__name__} instance is not trained yet. Call "
                "Trainer.fit(...) before Predictor.save()."
            )
        try:
            loader_spec = serialize_component(self.loader)
            featurizer_spec = serialize_component(self.featurizer)
        except ConfigError as exc:
            raise BundleError(f"Cannot save the predictor: {exc}") from exc
        manifest: dict[str, Any] = {
            "labels": self.labels,
            "loader": loader_spec,
            "featurizer": featurizer_spec,
            "model": {
                "class_name": type(self.model).__name__,
                "input_shape": list(self.featurizer.output_shape),
                "outputs": len(self.labels),
                "params": int(self.model.count_params()),
            },
            "aggregation": self.aggregation,
            "metadata": self.metadata,
            # reproducibility record: seed, split sizes, training-file hash, epochs, ...
            "training": history.params if history is not None else None,
            "metrics": report.to_dict() if report is not None else None,
            "environment": _environment(),
        }
        files: dict[str, Any] = {MODEL_FILE: lambda p: self.model.save(p)}
        if history is not None:
            files[HISTORY_FILE] = history.save
        for name, source in (extra_files or {}).items():
            files[name] = Path(source)
        return write_bundle(path, manifest, files)

    @classmethod
    def load(cls, path: PathLike) -> Predictor:
        """Load a bundle written by :meth:`save`, validating it first.

        Raises
        ------
        BundleError
            A missing or damaged file, an unknown format version, an unregistered
            component, labels that disagree with the model's outputs, or a
            featurizer whose windows disagree with the model's input.
        """
        root, manifest = read_manifest(path)
        try:
            loader = deserialize_component(manifest["loader"])
            featurizer = deserialize_component(manifest["featurizer"])
        except (KeyError, ConfigError) as exc:
            raise BundleError(f"Cannot rebuild the preprocessing of {str(root)!r}: {exc}") from exc
        if not isinstance(loader, AudioLoader) or not isinstance(featurizer, Featurizer):
            raise BundleError(f"{str(root)!r} names a loader or featurizer of the wrong kind.")
        labels = manifest.get("labels")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise BundleError(f"{str(root)!r} has no valid list of labels.")
        import keras

        import melgenre.model  # noqa: F401  (registers GenreCNN with Keras' serialization)

        try:
            model = keras.saving.load_model(str(root / MODEL_FILE), safe_mode=True)
        except Exception as exc:  # Keras raises many types for a bad archive
            raise BundleError(
                f"Cannot load {MODEL_FILE} from {str(root)!r} ({type(exc).__name__}: {exc}). "
                "If the model is a custom class, import the module that registers it first."
            ) from exc
        try:
            return cls(
                loader=loader,
                featurizer=featurizer,
                model=model,
                labels=labels,
                aggregation=manifest.get("aggregation", "mean"),
                metadata=manifest.get("metadata") or {},
            )
        except ConfigError as exc:
            raise BundleError(f"The bundle {str(root)!r} is inconsistent: {exc}") from exc


def _source_name(source: Any, exc: MelgenreError) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source) if isinstance(os.fspath(source), str) else repr(source)
    named = getattr(exc, "source", None)
    return str(named) if named else f"<{type(source).__name__}>"


def _model_io(model: Any) -> tuple[tuple[int, ...], int]:
    try:
        input_shape = tuple(int(d) for d in model.input_shape[1:])
        outputs = int(model.output_shape[-1])
    except (AttributeError, TypeError, ValueError, IndexError) as exc:
        raise MelgenreTypeError(
            f"model must be a built keras.Model with one input and one output; got "
            f"{type(model).__name__} ({exc})."
        ) from exc
    return input_shape, outputs


def _environment() -> dict[str, str]:
    names = ("melgenre", "numpy", "librosa", "soundfile", "soxr", "tensorflow", "keras")
    return {name: _installed_version(name) for name in names}
