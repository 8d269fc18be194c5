"""Export a :class:`~melgenre.Predictor` as one artifact: waveform in, probabilities out.

The artifact computes the features inside its graph (:meth:`Featurizer.tf_transform`,
the same constants as the NumPy featurizer) and pools the windows as the Predictor
does (mean, max, vote or the clip head, then the fusion with a statistics head's
clip statistics, :mod:`melgenre._statistics_graph`), so it needs no Python
preprocessing beside it. Every export is checked against the Predictor
(:mod:`melgenre.parity`) before it is moved into place.

An export directory holds::

    saved_model.pb, variables/, assets/   format="saved_model" (tf.saved_model.load)
    model.tflite                          format="tflite"
    melgenre-export.json                  labels, preprocessing, signature, quantization
    labels.txt                            one label per line, by output index
    parity.json                           the parity check's figures

The serving signature ``serve`` takes ``samples`` (float32, shape ``(n,)``: mono,
at the bundle's sample rate, any length) and returns ``probabilities``
``(n_labels,)``, ``window_probabilities`` ``(n_windows, n_labels)`` and
``window_times`` ``(n_windows, 2)`` (start and end seconds).

Importing this module is cheap; exporting and loading import TensorFlow.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from melgenre._files import check_replaceable, swap_into_place
from melgenre._typing import PathLike
from melgenre._validation import check_choice
from melgenre._version import __version__
from melgenre.errors import ConfigError, ExportError

if TYPE_CHECKING:
    from melgenre.data import FolderDataset
    from melgenre.predictor import Predictor

__all__ = [
    "EXPORT_CONFIG",
    "FORMATS",
    "LABELS_FILE",
    "PARITY_FILE",
    "QUANTIZATIONS",
    "SIGNATURE",
    "TFLITE_FILE",
    "export_predictor",
    "serving_function",
    "tflite_supported",
    "write_saved_model",
]

logger = logging.getLogger(__name__)

#: Export formats.
FORMATS = ("saved_model", "tflite")
#: TFLite quantizations: float16 weights, or int8 weights (dynamic-range quantization).
QUANTIZATIONS = ("float16", "int8")
#: The serving signature's name.
SIGNATURE = "serve"
EXPORT_CONFIG = "melgenre-export.json"
LABELS_FILE = "labels.txt"
PARITY_FILE = "parity.json"
TFLITE_FILE = "model.tflite"
FORMAT_NAME = "melgenre.export"


def serving_function(predictor: Predictor) -> Any:
    """The artifact's computation as a ``tf.function`` of one ``(n,)`` float32 tensor.

    Raises
    ------
    ExportError
        The featurizer has no in-graph twin (:meth:`Featurizer.tf_transform`).
    """
    from melgenre._folding import fold_batch_norm
    from melgenre._graph import file_probabilities
    from melgenre._tf import tf

    preprocessing = predictor.preprocessing
    featurizer, loader = preprocessing.featurizer, preprocessing.loader
    model, head = fold_batch_norm(predictor.model), predictor.clip_head
    statistics_head = predictor.statistics_head
    if statistics_head is not None:
        from melgenre._statistics_graph import (
            check_statistics_twin,
            clip_statistics,
            fused,
            windows_and_spectrogram,
        )

        check_statistics_twin(statistics_head)
    embedder = None
    if head is not None and predictor.aggregation == "attention":
        from melgenre.pooling import embedding_model

        embedder = fold_batch_norm(embedding_model(predictor.model))

    # run the twins once eagerly: a missing twin raises its own ExportError here, not
    # wrapped in a tf.function tracing error
    probe = tf.zeros([4096], tf.float32)
    loader.tf_load(probe)
    featurizer.tf_transform(probe)
    featurizer.tf_window_times(tf.shape(probe)[0])

    def serve(samples: Any) -> dict[str, Any]:
        samples = loader.tf_load(tf.reshape(samples, [-1]))
        if statistics_head is not None:  # the spectrogram once, for the windows and statistics
            windows, spec = windows_and_spectrogram(featurizer, samples)
        else:
            windows = featurizer.tf_transform(samples)
        times = featurizer.tf_window_times(tf.shape(samples)[0])
        if embedder is not None:
            probabilities, embeddings = embedder(windows, training=False)
            mask = tf.ones(tf.shape(embeddings)[:1], tf.float32)[None]
            pooled = head([embeddings[None], mask], training=False)[0]  # type: ignore[misc]
        else:
            probabilities = model(windows, training=False)
            pooled = file_probabilities(probabilities, predictor.aggregation)
        if statistics_head is not None:
            statistics = clip_statistics(
                statistics_head.statistics, spec, samples, featurizer.sample_rate
            )
            pooled = fused(statistics_head, pooled, statistics)
        return {
            "probabilities": tf.identity(pooled, name="probabilities"),
            "window_probabilities": tf.identity(probabilities, name="window_probabilities"),
            "window_times": tf.identity(times, name="window_times"),
        }

    spec = tf.TensorSpec([None], tf.float32, name="samples")
    function = tf.function(serve, input_signature=[spec])
    function.get_concrete_function()
    return function


def export_predictor(
    predictor: Predictor,
    path: PathLike,
    *,
    format: str = "saved_model",
    quantize: str | None = None,
    check: bool = True,
    allow_mismatch: bool = False,
    files: tuple[Any, ...] = (),
    data: FolderDataset | PathLike | None = None,
) -> Path:
    """Write ``predictor`` as an export directory at ``path``; see :meth:`Predictor.export`.

    A TFLite export is converted from a SavedModel written beside it; the parity
    check compares both with the Predictor (``saved_model`` and ``tflite`` in
    ``parity.json``), so a disagreement points at the graph or at the converter.
    ``check=False`` skips the check (and ``parity.json``).
    """
    check_choice("Predictor.export", "format", format, FORMATS)
    if quantize is not None:
        check_choice("Predictor.export", "quantize", quantize, QUANTIZATIONS)
        if format != "tflite":
            raise ConfigError(
                f"quantize={quantize!r} applies to format='tflite' only; a SavedModel keeps "
                "float32 weights.",
                parameter="quantize",
                value=quantize,
            )
    if format == "tflite":
        _check_fft_length(predictor)
    if check and data is not None:
        from melgenre.parity import labelled_data

        data = labelled_data(data)
    target = Path(path)
    check_replaceable(target, EXPORT_CONFIG, "a melgenre export", ExportError)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.") as tmp:
            saved = staging if format == "saved_model" else Path(tmp) / "saved_model"
            write_saved_model(predictor, saved)
            written = {"saved_model": saved}
            if format == "tflite":
                staging.mkdir()
                (staging / TFLITE_FILE).write_bytes(_convert(saved, quantize))
                _write_sidecars(predictor, staging, "tflite", quantize)
                written["tflite"] = staging
            if check:
                _check(predictor, written, staging, format, allow_mismatch, files, data, target)
        swap_into_place(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _check(
    predictor: Predictor,
    written: dict[str, Path],
    staging: Path,
    format: str,
    allow_mismatch: bool,
    files: tuple[Any, ...],
    data: FolderDataset | PathLike | None,
    target: Path,
) -> None:
    """Run the parity check on the written artifacts; ``parity.json`` into ``staging``."""
    from melgenre.artifact import ExportedModel
    from melgenre.parity import check_parity

    artifacts = {name: ExportedModel.load(where) for name, where in written.items()}
    report = check_parity(predictor, artifacts, files=files, data=data)
    report.save(staging / PARITY_FILE)
    logger.info("Parity of the %s export: %s", format, report.summary())
    if not report.passed and not allow_mismatch:
        raise ExportError(
            f"The {format} export disagrees with the Predictor beyond tolerance: "
            f"{report.summary()}. Nothing was written to {str(target)!r}; pass "
            "allow_mismatch=True (--allow-mismatch) to write it anyway."
        )


def tflite_supported(predictor: Predictor) -> bool:
    """Whether the predictor's featurizer can run in TFLite (a power-of-two ``n_fft``)."""
    n_fft = getattr(predictor.preprocessing.featurizer, "n_fft", None)
    return not (isinstance(n_fft, int) and n_fft & (n_fft - 1))


def _check_fft_length(predictor: Predictor) -> None:
    if not tflite_supported(predictor):
        n_fft = int(predictor.preprocessing.featurizer.n_fft)  # type: ignore[attr-defined]
        raise ExportError(
            f"TFLite's FFT (RFFT2D) needs a power-of-two length, but this model's featurizer "
            f"has n_fft={n_fft}; export format='saved_model' instead, or train with n_fft="
            f"{1 << n_fft.bit_length()} or {1 << (n_fft.bit_length() - 1)}."
        )


def write_saved_model(predictor: Predictor, directory: Path) -> None:
    """The SavedModel with the ``serve`` signature, labels.txt and melgenre-export.json.

    Uses Keras 3's :class:`keras.export.ExportArchive`, which tracks the model's
    (and clip head's) variables and writes the endpoint.
    """
    import keras

    function = serving_function(predictor)
    archive = keras.export.ExportArchive()
    archive.track(predictor.model)
    if predictor.clip_head is not None:
        archive.track(predictor.clip_head)
    archive.add_endpoint(SIGNATURE, function)
    with _quiet_stdout():
        archive.write_out(str(directory), verbose=False)
    _write_sidecars(predictor, directory, "saved_model", None)


def _write_sidecars(
    predictor: Predictor, directory: Path, format: str, quantize: str | None
) -> None:
    """labels.txt and melgenre-export.json: what an application needs beside the graph."""
    labels = list(predictor.labels)
    (directory / LABELS_FILE).write_text("".join(f"{label}\n" for label in labels))
    config = {
        "format": FORMAT_NAME,
        "format_version": 1,
        "melgenre_version": __version__,
        "artifact": format,
        "file": TFLITE_FILE if format == "tflite" else ".",
        "quantize": quantize,
        "labels": labels,
        "sample_rate": predictor.preprocessing.sample_rate,
        "aggregation": predictor.aggregation,
        "statistics_head": _statistics_summary(predictor),
        "preprocessing": predictor.preprocessing.get_config(),
        "signature": {
            "name": SIGNATURE,
            "inputs": {"samples": "float32 (n,): mono samples at sample_rate"},
            "outputs": {
                "probabilities": "float32 (n_labels,)",
                "window_probabilities": "float32 (n_windows, n_labels)",
                "window_times": "float32 (n_windows, 2): start and end seconds",
            },
        },
        "metadata": predictor.metadata,
    }
    (directory / EXPORT_CONFIG).write_text(json.dumps(config, indent=2) + "\n")


def _statistics_summary(predictor: Predictor) -> dict[str, Any] | None:
    """The statistics head's configuration and fusion weight (``None`` without one)."""
    head = predictor.statistics_head
    return None if head is None else {**head.get_config(), "weight": head.weight}


def _convert(saved: Path, quantize: str | None) -> bytes:
    """A TFLite flatbuffer of the SavedModel's serving signature (TFLite builtin ops only)."""
    from melgenre._tf import tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved), signature_keys=[SIGNATURE])
    if quantize is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
    try:
        blob: bytes = converter.convert()
    except Exception as exc:  # the converter raises ConverterError and plain exceptions
        raise ExportError(f"The TFLite converter failed: {exc}") from exc
    return blob


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Keras's ExportArchive prints the tracked variables; library code does not print."""
    import io
    from contextlib import redirect_stdout

    with redirect_stdout(io.StringIO()):
        yield
