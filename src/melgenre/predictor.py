"""Prediction with exactly the preprocessing a model was trained with: :class:`Predictor`.

``Predictor.load("model-dir").predict("song.mp3")`` decodes the file with the
bundled :class:`~melgenre.Preprocessing` (resampling it to the trained rate),
cuts it into the trained windows block by block (memory stays flat however
long the file), runs the model over them and aggregates the window
probabilities into one answer, keeping the per-window timeline.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from melgenre import _pitch
from melgenre._predictor_files import PredictorFiles
from melgenre._typing import AudioSource, FloatArray, PathLike
from melgenre._validation import check_choice, check_int, check_many, checked_rows, listed
from melgenre.audio import Audio, AudioLoader
from melgenre.data import FailedFile, FeatureSet, FolderDataset
from melgenre.deprecation import deprecated, warn_deprecated
from melgenre.errors import (
    ConfigError,
    MelgenreTypeError,
)
from melgenre.evaluation import EvaluationReport, evaluate_features, features_to_evaluate
from melgenre.featurizer import Featurizer
from melgenre.fusion import StatisticsHead, check_statistics_head, fuse
from melgenre.prediction import (
    AGGREGATIONS,
    Kept,
    Prediction,
    WindowPrediction,
    build_prediction,
    check_model,
    compile_forward,
    keeping_windows,
    predict_in_file_batches,
)
from melgenre.preprocessing import Preprocessing
from melgenre.statistics import window_starts

if TYPE_CHECKING:
    import keras

__all__ = ["AGGREGATIONS", "Prediction", "Predictor", "WindowPrediction"]

logger = logging.getLogger(__name__)


class Predictor(PredictorFiles):
    """A preprocessing, a trained model and its labels: audio in, labels out.

    Parameters
    ----------
    preprocessing : Preprocessing
        Exactly the preprocessing the model was trained on.
    model : keras.Model
        A trained classifier whose input is ``preprocessing.output_shape`` and
        whose softmax has one output per label.
    labels : sequence of str
        Class names by output index (``dataset.classes``).
    aggregation : {"mean", "max", "vote", "attention"}, optional
        How window probabilities become a file's; see :data:`AGGREGATIONS`.
        ``"attention"`` (the default when ``clip_head`` is given, ``"mean"``
        otherwise) asks the clip head instead.
    batch_size : int > 0, default=64
        Windows per model call.
    metadata : dict, optional
        Anything JSON-safe to store in the bundle (training summary, metrics...).
    clip_head : melgenre.pooling.ClipHead, optional
        A clip-level pooling head trained on this model's window embeddings
        (``Trainer(pooling="attention")`` makes one: ``trainer.clip_head_``).
        The timeline stays per window (the window model's probabilities).
    statistics_head : melgenre.fusion.StatisticsHead, optional
        A fitted head on the clip statistics of a file's windows
        (``Trainer(statistics=True)`` makes one: ``trainer.statistics_head_``);
        its probabilities multiply the file's. The timeline stays per window.
    loader, featurizer : optional
        Deprecated since 0.2: pass ``preprocessing=Preprocessing(featurizer,
        loader=loader)``.

    Notes
    -----
    Inference is compiled once into a ``tf.function`` with a fixed input
    signature; a Predictor can be shared by threads. The compiled forward pass
    folds each batch normalisation that follows a convolution into that
    convolution (computed from the model's live variables, so it is always the
    model's current weights): the same probabilities to float rounding, 1.25x
    faster for :class:`~melgenre.GenreCNN` on a CPU.
    """

    def __init__(
        self,
        *,
        preprocessing: Preprocessing | None = None,
        model: keras.Model,
        labels: Sequence[str],
        aggregation: Literal["mean", "max", "vote", "attention"] | None = None,
        batch_size: int = 64,
        metadata: dict[str, Any] | None = None,
        clip_head: keras.Model | None = None,
        statistics_head: StatisticsHead | None = None,
        loader: AudioLoader | None = None,
        featurizer: Featurizer | None = None,
    ) -> None:
        preprocessing = _preprocessing(preprocessing, loader, featurizer)
        if aggregation is None:
            aggregation = "attention" if clip_head is not None else "mean"
        check_choice("Predictor", "aggregation", aggregation, (*AGGREGATIONS, "attention"))
        check_int("Predictor", "batch_size", batch_size, low=1)
        labels = [str(label) for label in listed("Predictor", "labels", labels)]
        if len(set(labels)) != len(labels) or len(labels) < 2:
            raise ConfigError(
                f"labels must be at least 2 distinct names; got {labels}.", parameter="labels"
            )
        check_model(model, preprocessing.output_shape, labels)
        if aggregation == "attention" or clip_head is not None:
            from melgenre.pooling import check_clip_head

            check_clip_head(clip_head, model, labels)
        if statistics_head is not None:
            check_statistics_head(statistics_head, labels)
        self.clip_head = clip_head
        self.statistics_head = statistics_head
        self.preprocessing = preprocessing
        self.model = model
        self.labels = labels
        self.aggregation: str = aggregation
        self.batch_size = batch_size
        self.metadata = dict(metadata or {})
        self._infer: Any = None
        self._trace_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"Predictor(labels={self.labels}, sample_rate={self.preprocessing.sample_rate}, "
            f"window_shape={self.preprocessing.output_shape}, aggregation={self.aggregation!r})"
        )

    @property
    def loader(self) -> AudioLoader:
        """The preprocessing's loader."""
        return self.preprocessing.loader

    @property
    def featurizer(self) -> Featurizer:
        """The preprocessing's featurizer."""
        return self.preprocessing.featurizer

    # ------------------------------------------------------------- inference

    def predict_proba(self, windows: FloatArray) -> FloatArray:
        """Probabilities of every label for feature windows, computed in batches.

        Parameters
        ----------
        windows : np.ndarray [shape=(n, n_bins, frames, 1)]

        Returns
        -------
        probabilities : np.ndarray [shape=(n, n_labels), dtype=float32]

        Raises
        ------
        ConfigError
            The windows are not the featurizer's shape, or one holds NaN or an infinity.
        MelgenreTypeError
            ``windows`` is not numeric.
        """
        shape = tuple(self.preprocessing.output_shape)
        checked = checked_rows("Predictor.predict_proba", "windows", windows, shape)
        x = np.asarray(checked, dtype=np.float32)
        return self._window_outputs(x)[:, : len(self.labels)]

    def _window_outputs(self, x: FloatArray) -> FloatArray:
        """Window probabilities, each row followed by the window's embedding with a clip head."""
        infer = self._compiled()
        out = [
            np.asarray(infer(x[i : i + self.batch_size]), dtype=np.float32)
            for i in range(0, len(x), self.batch_size)
        ]
        width = len(self.labels) + (self._embedding_dim if self._pools else 0)
        return np.concatenate(out) if out else np.zeros((0, width), np.float32)

    @property
    def _pools(self) -> bool:
        return self.clip_head is not None and self.aggregation == "attention"

    @property
    def _rule(self) -> str:
        """The window aggregation rule (``"mean"`` under a clip head)."""
        return self.aggregation if self.aggregation in AGGREGATIONS else "mean"

    @property
    def _embedding_dim(self) -> int:
        return int(getattr(self.clip_head, "embedding_dim", 0))

    predict_windows = deprecated(
        predict_proba, old_name="Predictor.predict_windows", since="0.2", removed_in="0.3"
    )

    def predict(self, source: AudioSource | Audio) -> Prediction:
        """Classify one recording.

        A file is read and featurized block by block, so memory stays flat in
        its length (a three-hour recording needs no more than a song); the
        result equals classifying it in one piece.

        Parameters
        ----------
        source : path, file object, bytes, ``(samples, sample_rate)`` or Audio
            Anything :meth:`AudioLoader.load` reads; audio at another sample
            rate is resampled to the model's.

        Returns
        -------
        Prediction
            The label, its confidence, every label's probability and the
            per-window timeline; a silent recording's with a logged warning.
        """
        # the blocks' windows share model calls (a 15 s file: one call, not 9 windows + 1)
        stream, kept = self._stream()
        [(name, probabilities, times)] = predict_in_file_batches(
            [source], stream, self._window_outputs, batch_size=self.batch_size, raising=True
        )
        # raising=True: a failure propagated, so these are the probabilities
        return self._prediction(name, cast("list[FloatArray]", probabilities), times, kept[0])

    def predict_many(
        self,
        sources: Iterable[AudioSource | Audio],
        *,
        batch_size: int | None = None,
        on_error: Literal["skip", "raise"] = "skip",
    ) -> list[Prediction | FailedFile]:
        """Classify many recordings, batching the windows of several files per model call.

        A file that cannot be read becomes a :class:`FailedFile` in the result
        (with ``on_error="skip"``, the default) and the others go on. Files
        are read block by block, as in :meth:`predict`.

        Parameters
        ----------
        sources : iterable of sources
            As for :meth:`predict`.
        batch_size : int > 0, optional
            Windows per model call; default :attr:`batch_size`.
        on_error : {"skip", "raise"}, default="skip"

        Returns
        -------
        results : list of Prediction or FailedFile
            One per source, in order.
        """
        check_choice("Predictor.predict_many", "on_error", on_error, ("skip", "raise"))
        check_many("Predictor.predict_many", sources)
        check_int("Predictor.predict_many", "batch_size", batch_size, low=1, allow_none=True)
        stream, kept = self._stream()
        results = predict_in_file_batches(
            sources,
            stream,
            self._window_outputs,
            batch_size=batch_size or self.batch_size,
            raising=on_error == "raise",
        )
        return [
            self._prediction(name, probabilities, times, clip)
            if isinstance(probabilities, list)
            else probabilities
            for (name, probabilities, times), clip in zip(results, kept, strict=True)
        ]

    def evaluate(
        self,
        data: FolderDataset | FeatureSet,
        *,
        cache_dir: PathLike | None = None,
        workers: int | None = None,
        progress: bool = False,
    ) -> EvaluationReport:
        """File-level and window-level accuracy on labelled data, computed batch by batch.

        Parameters
        ----------
        data : FolderDataset or FeatureSet
            A dataset is featurized with this predictor's preprocessing; a
            feature set must have been (its windows' shape is checked). Its
            classes must be among :attr:`labels`.
        cache_dir : str or os.PathLike, optional
            Feature cache for a dataset (see :meth:`FolderDataset.features`).
        workers : int > 0, optional
            Extraction processes for a dataset.
        progress : bool, default=False
            Show the extraction's progress bar.

        Returns
        -------
        EvaluationReport
        """
        features = features_to_evaluate(
            data, self.preprocessing, cache_dir, workers, progress, self.labels
        )
        return evaluate_features(
            self._window_outputs,
            features,
            self.labels,
            batch_size=self.batch_size,
            clip_head=self.clip_head if self._pools else None,
            statistics_head=self.statistics_head,
        )

    # ---------------------------------------------------------------- helpers

    def _compiled(self) -> Any:
        """The model's forward pass as one traced ``tf.function`` (traced once, thread-safe)."""
        if self._infer is None:
            with self._trace_lock:
                if self._infer is None:  # trace now, once, under the lock
                    self._infer = compile_forward(
                        self.model, self.preprocessing.output_shape, embeddings=self._pools
                    )
        return self._infer

    def _stream(self) -> tuple[Any, list[Kept]]:
        """The preprocessing's stream, keeping what the statistics head needs of each file.

        Its first windows, and with ``harmony`` its first ten minutes of audio (the chroma's).
        """
        head = self.statistics_head
        hop = int(getattr(self.featurizer, "hop_frames", self.preprocessing.output_shape[1]))
        budget = 0 if head is None else head.statistics.max_frames // max(hop, 1) + 2
        harmony = head is not None and head.statistics.harmony
        seconds = _pitch.CHROMA_SECONDS if harmony else 0.0
        return keeping_windows(self.preprocessing.stream, budget, seconds)

    def _prediction(
        self,
        name: str,
        outputs: list[FloatArray],
        times: list[FloatArray],
        kept: Kept | None = None,
    ) -> Prediction:
        rows = np.concatenate(outputs)
        n = len(self.labels)
        pooled = None
        if self._pools and len(rows):
            pooled = self.clip_head.predict_file(rows[:, n:])  # type: ignore[union-attr]
        if self.statistics_head is not None and kept is not None and kept.windows:
            if pooled is None:
                pooled = AGGREGATIONS[self._rule](rows[:, :n])
            windows = np.concatenate(kept.windows)
            starts = window_starts(self.featurizer, np.concatenate(times)[: len(windows)])
            audio = kept.joined_audio()
            chroma = None if audio is None else self.preprocessing.chroma(audio)
            clip = self.statistics_head.predict_windows(windows, starts, chroma)
            pooled = fuse(pooled[np.newaxis], clip[np.newaxis], self.statistics_head.weight)[0]
        return build_prediction(
            name,
            rows[:, :n],
            np.concatenate(times),
            self.labels,
            self._rule,
            aggregated=pooled,
            peak=None if kept is None else kept.peak,
        )


def _preprocessing(
    preprocessing: Preprocessing | None, loader: AudioLoader | None, featurizer: Featurizer | None
) -> Preprocessing:
    """The predictor's preprocessing, from the current or the deprecated spelling."""
    if loader is not None or featurizer is not None:
        warn_deprecated(
            "Predictor(loader=..., featurizer=...)",
            since="0.2",
            removed_in="0.3",
            instead="Predictor(preprocessing=Preprocessing(featurizer, loader=loader))",
            stacklevel=4,
        )
        if preprocessing is not None:
            raise MelgenreTypeError(
                "Predictor got both preprocessing and the deprecated loader/featurizer; pass "
                "only preprocessing."
            )
        if featurizer is None:
            raise MelgenreTypeError("Predictor(loader=...) needs featurizer=... too.")
        return Preprocessing(featurizer, loader=loader)
    if not isinstance(preprocessing, Preprocessing):
        raise MelgenreTypeError(
            "Predictor needs preprocessing=Preprocessing(featurizer) (the one the model was "
            f"trained with), got {type(preprocessing).__name__}."
        )
    return preprocessing
