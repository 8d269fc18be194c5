"""An export directory loaded for inference: :class:`ExportedModel`.

What :meth:`melgenre.Predictor.export` writes can be run without melgenre
(``tf.saved_model.load``, a TFLite interpreter; see the deployment guide); this
class is melgenre's own way to run it, and what the parity check calls.
Importing this module is cheap; loading an export imports TensorFlow (or
``ai_edge_litert`` for a TFLite file, when installed).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from melgenre._loading import checked_samples
from melgenre._stderr import damage_reported, quietly
from melgenre._typing import AudioSource, FloatArray, PathLike
from melgenre._validation import check_choice, check_many
from melgenre.audio import Audio, AudioLoader, source_name
from melgenre.errors import AudioUnusableError, BundleError, MelgenreError, MelgenreTypeError
from melgenre.export import (
    EXPORT_CONFIG,
    FORMAT_NAME,
    FORMATS,
    PARITY_FILE,
    SIGNATURE,
    TFLITE_FILE,
)

if TYPE_CHECKING:
    from melgenre.data import FolderDataset
    from melgenre.data.featureset import FailedFile
    from melgenre.evaluation import EvaluationReport
    from melgenre.parity import ParityReport
    from melgenre.prediction import Prediction

__all__ = ["ExportedModel", "export_input", "read_export_config"]

logger = logging.getLogger(__name__)


class ExportedModel:
    """An export directory loaded for inference: ``model(samples)`` gives its outputs.

    ``model.predict(source)`` decodes a file (or bytes, ...) first and answers with a
    :class:`~melgenre.Prediction`, as :meth:`Predictor.predict` does: a quick check of
    an export on real files before it ships. melgenre's own way to run what
    :meth:`Predictor.export` wrote (the parity check uses it); an application without
    melgenre loads the same files with ``tf.saved_model.load`` or a TFLite interpreter
    (see the deployment guide).

    Parameters
    ----------
    path : str or os.PathLike
        The export directory.
    num_threads : int > 0, optional
        TFLite interpreter threads; default all the CPUs, at most 4.

    Attributes
    ----------
    config : dict
        ``melgenre-export.json``.
    labels : list of str
    sample_rate : int
    """

    def __init__(self, path: PathLike, *, num_threads: int | None = None) -> None:
        self.path = Path(path)
        self.config: dict[str, Any] = read_export_config(self.path)
        self.labels: list[str] = list(self.config["labels"])
        self.sample_rate: int = int(self.config["sample_rate"])
        self.format: str = self.config["artifact"]
        self._lock = threading.Lock()
        if self.format == "tflite":
            self._run = _tflite_runner(self.path / TFLITE_FILE, num_threads)
        else:
            from melgenre._tf import tf

            try:
                loaded = tf.saved_model.load(str(self.path))
                serve = loaded.signatures[SIGNATURE]
            except (OSError, KeyError, ValueError) as exc:
                raise BundleError(
                    f"Cannot load the SavedModel in {str(self.path)!r} with its {SIGNATURE!r} "
                    f"signature ({exc}); export it again."
                ) from exc
            self._loaded = loaded  # keep the variables alive

            def run(samples: FloatArray) -> dict[str, FloatArray]:
                outputs = serve(samples=tf.constant(samples))
                return {key: np.asarray(value) for key, value in outputs.items()}

            self._run = run

    @classmethod
    def load(cls, path: PathLike, *, num_threads: int | None = None) -> ExportedModel:
        """Load an export directory (see :class:`ExportedModel`)."""
        return cls(path, num_threads=num_threads)

    def __repr__(self) -> str:
        return (
            f"ExportedModel({str(self.path)!r}, format={self.format!r}, "
            f"quantize={self.config.get('quantize')!r}, labels={self.labels})"
        )

    def __call__(self, samples: FloatArray | Audio) -> dict[str, FloatArray]:
        """Run the serving signature on mono ``samples`` at :attr:`sample_rate`.

        Parameters
        ----------
        samples : np.ndarray [shape=(n,)] or Audio
            Mono samples at :attr:`sample_rate`, float or integer PCM (scaled as
            :class:`~melgenre.Audio` scales it), or an :class:`~melgenre.Audio` at that
            rate. Decoding and resampling come first, as in an application:
            ``AudioLoader(sample_rate=model.sample_rate).load(path)``.

        Returns
        -------
        outputs : dict
            ``probabilities``, ``window_probabilities`` and ``window_times``.

        Raises
        ------
        MelgenreTypeError
            A path, bytes or another object that is not samples.
        AudioUnusableError
            No samples, several channels, NaN or infinite samples, or an
            :class:`~melgenre.Audio` at another rate.
        """
        x = self._mono(samples)
        with self._lock:  # a TFLite interpreter is not thread-safe
            outputs: dict[str, FloatArray] = self._run(x)
        return outputs

    def _mono(self, samples: Any) -> FloatArray:
        """``samples`` checked as the Predictor checks audio: mono float32, finite, not empty."""
        rate, name = self.sample_rate, "<samples>"
        if isinstance(samples, (str, bytes, os.PathLike)):
            raise MelgenreTypeError(
                f"ExportedModel takes samples, not {type(samples).__name__} {samples!r:.80}: "
                f"decode it first, e.g. AudioLoader(sample_rate={rate}).load(path) (an "
                "application decodes with its platform's own decoder), or call "
                "model.predict(path), which does."
            )
        if isinstance(samples, Audio):
            if samples.sample_rate != rate:
                raise AudioUnusableError(
                    f"Audio from {samples.source!r} is at {samples.sample_rate} Hz; this export "
                    f"takes {rate} Hz: load it with AudioLoader(sample_rate={rate}).",
                    source=samples.source,
                )
            samples, name = samples.samples, samples.source
        x, _ = checked_samples(samples, rate, name)
        if x.ndim == 2 and x.shape[0] == 1:
            x = x[0]
        if x.ndim != 1:
            raise AudioUnusableError(
                f"Audio from {name!r} has samples of shape {x.shape}; this export takes mono "
                "samples (n,): mix the channels down first (AudioLoader(mono=True) does).",
                source=name,
            )
        if not x.size:
            raise AudioUnusableError(f"Audio from {name!r} has no samples.", source=name)
        return x  # float32, contiguous: checked_samples' view

    def predict(self, source: AudioSource) -> Prediction:
        """Decode ``source``, run the export on it and answer as :meth:`Predictor.predict`.

        The export's own loader settings decode, mix and resample the audio (its offset
        and duration are the graph's); the whole recording goes into the graph at once.

        Parameters
        ----------
        source : str, os.PathLike, file object, bytes, (samples, sample_rate) or Audio
            What :meth:`AudioLoader.load` reads.

        Returns
        -------
        Prediction
            The label, the probabilities and the timeline of windows.

        Raises
        ------
        AudioError
            The source cannot be read or used (a ``melgenre`` error naming it).

        Examples
        --------
        >>> ExportedModel.load("genre-tflite").predict("song.mp3").label  # doctest: +SKIP
        'rock'
        """
        from melgenre.prediction import build_prediction

        audio = export_input(self.loader, source)
        outputs = self(audio)
        return build_prediction(
            audio.source,
            outputs["window_probabilities"],
            outputs["window_times"],
            self.labels,
            str(self.config.get("aggregation", "mean")),
            aggregated=outputs["probabilities"],
            peak=float(np.max(np.abs(audio.samples), initial=0.0)),
        )

    def predict_many(
        self, sources: Iterable[AudioSource], *, on_error: Literal["skip", "raise"] = "skip"
    ) -> list[Prediction | FailedFile]:
        """:meth:`predict` each source; one that cannot be read becomes a ``FailedFile``.

        As :meth:`Predictor.predict_many`: with ``on_error="skip"`` (the default) a
        file's melgenre error is logged and kept in its place, and the others go on.
        """
        from melgenre.data.featureset import FailedFile

        check_choice("ExportedModel.predict_many", "on_error", on_error, ("skip", "raise"))
        check_many("ExportedModel.predict_many", sources)
        results: list[Prediction | FailedFile] = []
        for source in sources:
            try:
                results.append(self.predict(source))
            except MelgenreError as exc:
                if on_error == "raise":
                    raise
                name = source_name(source)
                logger.warning("Skipped %s: %s", name, exc)
                results.append(FailedFile(name, str(exc), type(exc).__name__))
        return results

    def evaluate(self, data: FolderDataset, *, progress: bool = False) -> EvaluationReport:
        """File-level and window-level accuracy of the export on labelled recordings.

        Each file runs through the export as in :meth:`predict` (decoded by the
        export's loader, whole, into the graph), so the figures are the deployed
        artifact's own: a quantized TFLite export's accuracy, beside its bundle's
        :meth:`Predictor.evaluate`. A file that cannot be read is logged and skipped.

        Parameters
        ----------
        data : FolderDataset
            Labelled files; its classes must be among :attr:`labels`.
        progress : bool, default=False
            Show a progress bar.

        Returns
        -------
        EvaluationReport

        Raises
        ------
        MelgenreTypeError
            ``data`` is not a :class:`FolderDataset` (an export reads audio, not windows).
        ConfigError
            ``data`` has classes the export does not know.
        DatasetError
            No file of ``data`` could be read.
        """
        from melgenre._progress import progress_bar
        from melgenre.data import FolderDataset
        from melgenre.errors import DatasetError
        from melgenre.evaluation import check_known, evaluate_probabilities

        if not isinstance(data, FolderDataset):
            raise MelgenreTypeError(
                "ExportedModel.evaluate takes a FolderDataset (an export reads audio, not "
                f"feature windows); got {type(data).__name__}."
            )
        check_known(data.class_names, self.labels)
        ours = [self.labels.index(name) for name in data.class_names]
        windows, truth, groups, files = [], [], [], []
        with progress_bar(total=len(data), desc="Evaluating", enabled=progress) as bar:
            for index, (path, label) in enumerate(zip(data.paths, data.labels, strict=True)):
                bar.update()
                try:
                    outputs = self(export_input(self.loader, path))
                except MelgenreError as exc:
                    logger.warning("Skipped %s: %s", path, exc)
                    continue
                windows.append(outputs["window_probabilities"])
                truth.append(np.full(len(windows[-1]), ours[int(label)]))
                groups.append(np.full(len(windows[-1]), index))
                files.append(outputs["probabilities"])
        if not files:
            raise DatasetError(
                f"None of the {len(data)} files under {str(data.root)!r} could be read."
            )
        return evaluate_probabilities(
            np.concatenate(windows),
            np.concatenate(truth),
            np.concatenate(groups),
            self.labels,
            file_probs=np.stack(files),
        )

    @functools.cached_property
    def loader(self) -> AudioLoader:
        """The loader the model was trained with (from the export's preprocessing)."""
        from melgenre.preprocessing import Preprocessing

        return Preprocessing.from_config(self.config["preprocessing"]).loader

    def parity(self) -> ParityReport | None:
        """The figures the export's parity check recorded (``parity.json``), if any."""
        from melgenre.parity import ParityReport

        file = self.path / PARITY_FILE
        return ParityReport.from_dict(json.loads(file.read_text())) if file.is_file() else None


def _tflite_runner(file: Path, num_threads: int | None) -> Any:
    """A callable running the ``serve`` signature of a TFLite file."""
    threads = num_threads or min(4, os.cpu_count() or 1)
    try:
        from ai_edge_litert.interpreter import Interpreter  # type: ignore[import-not-found]
    except ImportError:
        from melgenre._tf import tf

        Interpreter = tf.lite.Interpreter  # noqa: N806
    with warnings.catch_warnings():  # tf.lite.Interpreter's notice about ai-edge-litert
        warnings.simplefilter("ignore")
        interpreter = Interpreter(model_path=str(file), num_threads=threads)
    with quietly():  # where the interpreter announces its XNNPACK delegate, once
        interpreter.allocate_tensors()
    runner = interpreter.get_signature_runner(SIGNATURE)

    def run(samples: FloatArray) -> dict[str, FloatArray]:
        outputs = runner(samples=samples)
        return {key: np.array(value) for key, value in outputs.items()}

    return run


#: The keys an export's config must have: what each holds, and the check of its value.
_REQUIRED: dict[str, tuple[str, Any]] = {
    "labels": ("a list of labels", lambda v: isinstance(v, list) and v),
    "sample_rate": (
        "a sample rate in Hz",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
    ),
    "artifact": ('"saved_model" or "tflite"', lambda v: v in FORMATS),
    "preprocessing": ("the preprocessing's config", lambda v: isinstance(v, dict) and v),
}


def read_export_config(directory: PathLike) -> dict[str, Any]:
    """Read and check an export's ``melgenre-export.json``.

    Raises
    ------
    BundleError
        ``directory`` has no readable config (naming :meth:`Predictor.load` for a saved
        model), or it does not describe a melgenre export, or it lacks a key an export
        has (``labels``, ``sample_rate``, ``artifact``, ``preprocessing``).
    """
    root = Path(directory)
    file = root / EXPORT_CONFIG
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        from melgenre.bundle import BUNDLE_CONFIG

        bundle = (root / BUNDLE_CONFIG).is_file()
        raise BundleError(
            f"{str(root)!r} is not a melgenre export: cannot read {EXPORT_CONFIG} ({exc})"
            + ("; it is a saved model: Predictor.load() reads it." if bundle else ".")
        ) from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise BundleError(f"{str(file)!r} does not describe a melgenre export.")
    for key, (expected, valid) in _REQUIRED.items():
        if not valid(config.get(key)):
            got = f"{config[key]!r}"[:60] if key in config else "nothing"
            raise BundleError(
                f"{str(file)!r} is damaged: {key!r} should be {expected}, got {got}; "
                "export the model again."
            )
    return config


def export_input(loader: AudioLoader, source: AudioSource) -> Audio:
    """What an export is given: ``source`` decoded, mixed and resampled by ``loader``.

    The loader's own decoder reads it (a subclass's :meth:`~AudioLoader.decode`), but
    without ``offset``/``duration`` and without a subclass's :meth:`~AudioLoader.load`:
    those are the graph's (:meth:`~AudioLoader.tf_load`), as the Predictor applies them.
    """
    uncropped = dataclasses.replace(loader, offset=0.0, duration=None, min_duration=0.0)
    with damage_reported(source_name(source)):
        return AudioLoader.load(uncropped, source)
