"""What a :class:`~melgenre.Predictor` answers, and how it gets there.

:class:`Prediction` and :class:`WindowPrediction`, the aggregation rules, the check
that a model fits its preprocessing and labels, and prediction over many files with
the windows of several files batched into each model call.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from melgenre._typing import FloatArray
from melgenre.data.featureset import FailedFile
from melgenre.errors import ConfigError, MelgenreError, MelgenreTypeError

if TYPE_CHECKING:
    from melgenre.audio import Audio

__all__ = [
    "AGGREGATIONS",
    "SILENT_PEAK",
    "Kept",
    "Prediction",
    "WindowPrediction",
    "build_prediction",
    "check_model",
    "compile_forward",
    "keeping_windows",
    "predict_in_file_batches",
    "silence_unremarked",
]

logger = logging.getLogger(__name__)

#: Windows and their times, block by block (``Preprocessing.stream``).
_Stream = Callable[[Any], Iterable[tuple[FloatArray, FloatArray]]]


def _mean(p: FloatArray) -> FloatArray:
    return np.asarray(p.mean(axis=0), dtype=np.float32)


def _max(p: FloatArray) -> FloatArray:
    peak = p.max(axis=0)
    return np.asarray(peak / peak.sum(), dtype=np.float32)


def _vote(p: FloatArray) -> FloatArray:
    votes = np.bincount(p.argmax(axis=1), minlength=p.shape[1]).astype(np.float32)
    return np.asarray(votes / votes.sum(), dtype=np.float32)


#: A recording none of whose samples rises above this (one step of 16-bit audio,
#: -90 dBFS) is silent: its prediction comes with a logged warning that, unless the
#: model learned a class of silence, the answer is arbitrary.
SILENT_PEAK = 1.0 / 32768


_REMARK_SILENCE = contextvars.ContextVar("melgenre_remark_silence", default=True)


@contextlib.contextmanager
def silence_unremarked() -> Iterator[None]:
    """Predict without the warning about silent recordings (the parity check's own signals)."""
    token = _REMARK_SILENCE.set(False)
    try:
        yield
    finally:
        _REMARK_SILENCE.reset(token)


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


@dataclasses.dataclass(frozen=True, repr=False)
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
    peak : float or None
        The recording's largest absolute sample (full scale is 1.0), ``None`` where
        it was not measured (a prediction built from windows alone).

    Examples
    --------
    >>> prediction = Predictor.load("model-dir").predict("song.wav")  # doctest: +SKIP
    >>> prediction.label, prediction.silent  # doctest: +SKIP
    ('jig', False)
    """

    source: str
    label: str
    confidence: float
    probabilities: dict[str, float]
    windows: tuple[WindowPrediction, ...]
    peak: float | None = None

    @property
    def silent(self) -> bool:
        """Whether no sample rises above :data:`SILENT_PEAK` (-90 dBFS).

        A silent recording's answer is arbitrary unless the model learned a class
        of silence; ``False`` where the peak was not measured.
        """
        return self.peak is not None and self.peak < SILENT_PEAK

    def top_k(self, k: int = 3) -> list[dict[str, Any]]:
        """The ``k`` most probable classes: ``[{"label": ..., "score": ...}, ...]``.

        ``k`` is a whole number of at least 1; past the number of classes, all of them.
        """
        from melgenre._validation import check_int

        check_int("Prediction.top_k", "k", k, low=1)
        ranked = sorted(self.probabilities.items(), key=lambda item: -item[1])
        return [{"label": label, "score": score} for label, score in ranked[:k]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (with ``silent``)."""
        return {**dataclasses.asdict(self), "silent": self.silent}

    def __repr__(self) -> str:
        # a line, however long the recording: the windows' own answers are in .windows
        from melgenre._validation import counted

        end = self.windows[-1].end if self.windows else 0.0
        silent = ", silent" if self.silent else ""
        return (
            f"Prediction(source={self.source!r}, label={self.label!r}, "
            f"confidence={self.confidence:.3f}, {counted(len(self.windows), 'window')} over "
            f"{end:.1f} s{silent})"
        )


def build_prediction(
    source: str,
    probabilities: FloatArray,
    times: FloatArray,
    labels: Sequence[str],
    aggregation: str,
    *,
    aggregated: FloatArray | None = None,
    peak: float | None = None,
) -> Prediction:
    """A :class:`Prediction` from window probabilities ``(n, n_labels)`` and times ``(n, 2)``.

    ``aggregated`` gives the file's probabilities (a clip head's); by default
    they come from the windows' by ``aggregation``. ``peak``, the recording's
    largest absolute sample, logs a warning when it is below :data:`SILENT_PEAK`.
    """
    if peak is not None:
        peak = float(peak)
    if peak is not None and peak < SILENT_PEAK and _REMARK_SILENCE.get():
        logger.warning(
            "%s is silent (no sample above -90 dBFS): unless the model learned a class of "
            "silence, its answer is arbitrary.",
            source,
        )
    if aggregated is None:
        aggregated = AGGREGATIONS[aggregation](probabilities)
    best = int(np.argmax(aggregated))
    timeline = []
    for (start, end), row in zip(times.tolist(), probabilities, strict=True):
        k = int(np.argmax(row))
        timeline.append(
            WindowPrediction(
                start=float(start),
                end=float(end),
                label=labels[k],
                confidence=float(row[k]),
                probabilities=dict(zip(labels, map(float, row), strict=True)),
            )
        )
    return Prediction(
        source=source,
        label=labels[best],
        confidence=float(aggregated[best]),
        probabilities=dict(zip(labels, map(float, aggregated), strict=True)),
        windows=tuple(timeline),
        peak=peak,
    )


def check_model(model: Any, input_shape: Sequence[int], labels: list[str]) -> None:
    """Raise unless ``model`` takes ``input_shape`` windows and answers one output per label."""
    try:
        model_input = tuple(int(d) for d in model.input_shape[1:])
        outputs = int(model.output_shape[-1])
    except (AttributeError, TypeError, ValueError, IndexError) as exc:
        raise MelgenreTypeError(
            f"model must be a built keras.Model with one input and one output; got "
            f"{type(model).__name__} ({exc})."
        ) from exc
    if outputs != len(labels):
        raise ConfigError(
            f"The model has {outputs} outputs but {len(labels)} labels were given "
            f"({labels}); pass labels=dataset.classes of the training data.",
            parameter="labels",
            value=labels,
        )
    if model_input != tuple(input_shape):
        raise ConfigError(
            f"The model expects windows of shape {model_input} but the featurizer makes "
            f"{tuple(input_shape)}; use the featurizer the model was trained with.",
            parameter="featurizer",
        )


def compile_forward(model: Any, input_shape: Sequence[int], *, embeddings: bool) -> Any:
    """``model``'s forward pass as one ``tf.function``, traced now for ``input_shape`` windows.

    Each batch normalisation that follows a convolution is folded into it
    (:func:`melgenre._folding.fold_batch_norm`). With ``embeddings``, each row is the
    window's probabilities followed by its embedding (for a clip head).
    """
    from melgenre._folding import fold_batch_norm
    from melgenre._tf import tf

    spec = tf.TensorSpec(shape=(None, *input_shape), dtype=tf.float32)
    if embeddings:
        from melgenre.pooling import embedding_model

        embedder = fold_batch_norm(embedding_model(model))

        def call(x: Any) -> Any:  # float32 whatever the model's dtype policy
            outputs = embedder(x, training=False)
            return tf.concat([tf.cast(y, tf.float32) for y in outputs], axis=1)

    else:
        folded = fold_batch_norm(model)

        def call(x: Any) -> Any:
            return tf.cast(folded(x, training=False), tf.float32)

    infer = tf.function(call, input_signature=[spec], reduce_retracing=True)
    infer.get_concrete_function()
    return infer


@dataclasses.dataclass
class Kept:
    """What the statistics head needs of one file, read in the same pass as its predictions.

    ``windows``: its first window blocks (first channel); ``audio``: its first decoded
    blocks, for its chroma (empty unless asked for); ``peak``: the largest absolute
    sample of all its blocks.
    """

    windows: list[FloatArray] = dataclasses.field(default_factory=list)
    audio: list[Audio] = dataclasses.field(default_factory=list)
    peak: float = 0.0

    def joined_audio(self) -> Audio | None:
        """The kept blocks as one :class:`Audio` (``None`` when none were kept)."""
        from melgenre.audio import Audio

        if not self.audio:
            return None
        samples = np.concatenate([a.samples for a in self.audio], axis=-1)
        return Audio(samples, self.audio[0].sample_rate)


def keeping_windows(
    stream: Callable[..., Iterable[tuple[FloatArray, FloatArray]]],
    budget: int,
    audio_seconds: float = 0.0,
) -> tuple[_Stream, list[Kept]]:
    """``stream``, keeping the first ``budget`` windows (first channel) of every source.

    Returns the wrapped stream and a list that gets one :class:`Kept` per source
    streamed, in order (no windows kept with ``budget=0``): what
    :class:`~melgenre.statistics.ClipStatistics` needs of a file, read in the same pass
    as its predictions, and the file's peak. With ``audio_seconds``, the first that many
    seconds of decoded audio are kept too. ``stream`` takes
    :meth:`Preprocessing.stream`'s ``on_audio``.
    """
    kept: list[Kept] = []

    def wrapped(source: Any) -> Iterator[tuple[FloatArray, FloatArray]]:
        mine = Kept()
        kept.append(mine)

        def on_audio(index: int, block: Audio) -> None:
            mine.peak = max(mine.peak, float(np.max(np.abs(block.samples), initial=0.0)))
            if audio_seconds <= 0:
                return
            if index == 0:  # a featurizer's new pass over the recording
                mine.audio.clear()
            held = sum(a.samples.shape[-1] for a in mine.audio)
            if held < audio_seconds * block.sample_rate:
                mine.audio.append(block)

        for windows, times in stream(source, on_audio=on_audio):
            room = budget - sum(len(w) for w in mine.windows)
            if room > 0:
                mine.windows.append(np.array(windows[:room, ..., :1]))
            yield windows, times

    return wrapped, kept


def predict_in_file_batches(
    sources: Iterable[Any],
    stream: _Stream,
    predict_proba: Callable[[FloatArray], FloatArray],
    *,
    batch_size: int,
    raising: bool,
) -> list[tuple[str, list[FloatArray] | FailedFile, list[FloatArray]]]:
    """Window probabilities of many files, ``batch_size`` windows per model call.

    Windows of consecutive files share model calls; each file is streamed, so a long
    one never sits in memory whole. Returns ``(name, probabilities per block, times
    per block)`` per source, in order; a file that fails is a :class:`FailedFile` in
    place of its probabilities (or, with ``raising``, its error propagates).
    """
    from melgenre._stderr import damage_reported
    from melgenre.audio import source_name

    names: list[str] = []
    failed: dict[int, FailedFile] = {}
    probabilities: dict[int, list[FloatArray]] = {}
    times: dict[int, list[FloatArray]] = {}
    pending: list[tuple[int, FloatArray]] = []

    def flush() -> None:
        if pending:
            done = predict_proba(np.concatenate([w for _, w in pending]))
            offset = 0
            for index, windows in pending:
                probabilities[index].append(done[offset : offset + len(windows)])
                offset += len(windows)
            pending.clear()

    for index, source in enumerate(sources):
        names.append(source_name(source))
        probabilities[index], times[index] = [], []
        try:
            with damage_reported(names[index]):
                for windows, window_times in stream(source):
                    times[index].append(window_times)
                    pending.append((index, windows))
                    if sum(len(w) for _, w in pending) >= batch_size:
                        flush()
        except MelgenreError as exc:
            if raising:
                raise
            pending[:] = [(i, w) for i, w in pending if i != index]
            failed[index] = FailedFile(names[index], str(exc), type(exc).__name__)
            logger.warning("Skipped %s: %s", names[index], exc)
    flush()
    return [(names[i], failed.get(i, probabilities[i]), times[i]) for i in range(len(names))]
