"""The parity check: an exported model against the Predictor it came from.

In-graph features that differ from the features a model was trained on are the
classic failure of exported audio models (HTK against Slaney mel scales, other
padding, ``top_db`` over a batch). :func:`check_parity` measures the agreement on
synthesized signals (:func:`parity_signals`: tones, a chirp, noise, silence,
clipping, an impulse, very short and long inputs, other sample rates) and on any
files given:

* ``features_max_db``: the largest ``|dB|`` difference between the NumPy featurizer
  (:meth:`Featurizer.transform`) and its in-graph twin (:meth:`Featurizer.tf_transform`);
* per artifact, the largest difference of the file probabilities and of the window
  probabilities from the Predictor's, and the fraction of signals given the same label;
* with labelled data, the file-level accuracy of the Predictor and of each artifact.

Every export runs it (``parity.json`` beside the artifact); ``melgenre check-parity``
runs it on demand.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from melgenre._parity_signals import parity_signals
from melgenre._typing import AudioSource, PathLike
from melgenre.audio import Audio, source_name
from melgenre.errors import AudioUnusableError
from melgenre.prediction import silence_unremarked

if TYPE_CHECKING:
    from melgenre.artifact import ExportedModel
    from melgenre.data import FolderDataset
    from melgenre.predictor import Predictor

__all__ = [
    "CLEAR_MARGIN",
    "FEATURE_TOLERANCE_DB",
    "PROBABILITY_TOLERANCE",
    "ParityReport",
    "check_exports",
    "check_parity",
    "parity_signals",
]

#: Largest accepted |dB| difference between NumPy and in-graph features.
FEATURE_TOLERANCE_DB = 1e-3
#: Largest accepted probability difference of a float32 artifact.
#: Largest accepted probability difference of a float32 artifact, by format. A SavedModel
#: runs TensorFlow's own kernels (differences of float32 rounding, ~1e-7); the TFLite
#: interpreter runs other kernels (XNNPACK, its own FFT) whose rounding a network amplifies
#: to ~1e-4 on extreme inputs (a clipped tone), so it gets a tenth of a percentage point.
PROBABILITY_TOLERANCE = {"saved_model": 1e-4, "tflite": 1e-3}
#: A quantized artifact may shift probabilities, but must not change a clear decision:
#: a signal whose top two Predictor probabilities are at least this far apart.
CLEAR_MARGIN = 0.2


@dataclasses.dataclass
class ParityReport:
    """The figures of one parity check.

    Attributes
    ----------
    features_max_db : float
        Largest ``|dB|`` difference between NumPy and in-graph windows, over all signals.
    artifacts : dict
        Per artifact name: ``quantize``, ``probabilities_max_diff``,
        ``window_probabilities_max_diff``, ``label_agreement`` (fraction of signals),
        ``clear_decisions`` and ``clear_decisions_changed`` (signals whose top two
        Predictor probabilities differ by :data:`CLEAR_MARGIN` or more, and how many of
        those the artifact labels differently), ``tolerance`` (the probability
        tolerance, ``None`` for a quantized artifact, judged by its clear decisions)
        and, with labelled data, ``accuracy`` (``predictor``, ``artifact``, ``change``,
        ``files``).
    signals : list of dict
        Per signal: its name, sample rate, samples, windows and ``features_max_db``.
    feature_tolerance_db : float
    passed : bool
        Features and every artifact's probabilities within tolerance.
    skipped : list of dict
        Signals the Predictor itself refuses (``name``, ``reason``), e.g. shorter than
        the loader's ``offset``.
    """

    features_max_db: float
    artifacts: dict[str, dict[str, Any]]
    signals: list[dict[str, Any]]
    feature_tolerance_db: float = FEATURE_TOLERANCE_DB
    passed: bool = True
    skipped: list[dict[str, str]] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        """The report for people: the verdict, then one line per artifact (and accuracy)."""
        status = "passed" if self.passed else "FAILED"
        skipped = f" ({len(self.skipped)} refused by the Predictor)" if self.skipped else ""
        lines = [
            f"Parity {status} on {len(self.signals)} signals{skipped}: features max |dB| "
            f"difference {self.features_max_db:.2g} (tolerance {self.feature_tolerance_db:g})"
        ]
        for name, row in self.artifacts.items():
            gate = (
                f"tolerance {row['tolerance']:g}"
                if row["tolerance"] is not None
                else f"{row['quantize']}: {row['clear_decisions_changed']} of "
                f"{row['clear_decisions']} clear decisions changed"
            )
            lines.append(
                f"  {name}: probabilities max difference {row['probabilities_max_diff']:.2g} "
                f"(windows {row['window_probabilities_max_diff']:.2g}; {gate}), "
                f"labels agree on {row['label_agreement']:.0%}"
            )
            accuracy = row.get("accuracy")
            if accuracy:
                lines.append(
                    f"    accuracy on {accuracy['files']} labelled files: "
                    f"{accuracy['artifact']:.1%} (Predictor {accuracy['predictor']:.1%}, "
                    f"change {accuracy['change']:+.1%})"
                )
        return lines

    def summary(self) -> str:
        """:meth:`lines` in one line, for logs and error messages."""
        return "; ".join(line.strip() for line in self.lines())

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (``parity.json``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ParityReport:
        """Rebuild a report from :meth:`to_dict`'s output."""
        return cls(**data)

    def save(self, path: PathLike) -> Path:
        """Write :meth:`to_dict` as JSON (atomically: a crash leaves the old file or none)."""
        from melgenre._files import atomic_write

        return atomic_write(path, json.dumps(self.to_dict(), indent=2) + "\n")


def check_parity(
    predictor: Predictor,
    artifacts: Mapping[str, ExportedModel],
    *,
    files: Iterable[AudioSource] = (),
    data: FolderDataset | PathLike | None = None,
    feature_tolerance_db: float = FEATURE_TOLERANCE_DB,
) -> ParityReport:
    """Compare ``predictor`` with its in-graph features and exported ``artifacts``.

    Parameters
    ----------
    predictor : Predictor
        The reference.
    artifacts : mapping of str to ExportedModel
        Exports of ``predictor`` by a name (e.g. ``{"tflite": ExportedModel.load(path)}``);
        may be empty to check the in-graph features alone.
    files : iterable of sources, optional
        Recordings to check besides the synthesized signals.
    data : FolderDataset or path, optional
        A labelled folder: each artifact's file-level accuracy is compared with the
        Predictor's (the accuracy change of a quantized export).
    feature_tolerance_db : float, default=1e-3

    Returns
    -------
    ParityReport
    """
    from melgenre._tf import tf

    featurizer, loader = predictor.preprocessing.featurizer, predictor.preprocessing.loader

    def in_graph(samples: Any) -> Any:
        return featurizer.tf_transform(loader.tf_load(samples))

    graph_features = tf.function(in_graph, input_signature=[tf.TensorSpec([None], tf.float32)])
    rows: dict[str, dict[str, Any]] = {
        name: {
            "quantize": artifact.config.get("quantize"),
            "probabilities_max_diff": 0.0,
            "window_probabilities_max_diff": 0.0,
            "agree": 0,
            "clear_decisions": 0,
            "clear_decisions_changed": 0,
            "tolerance": (
                None if artifact.config.get("quantize") else PROBABILITY_TOLERANCE[artifact.format]
            ),
        }
        for name, artifact in artifacts.items()
    }
    signals: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for name, raw, cropped in _inputs(predictor, files, skipped):
        reference = featurizer.transform(cropped)
        graph = np.asarray(graph_features(tf.constant(raw.samples)))
        feature_diff = max_difference(graph, reference)
        signals.append(
            {
                "name": name,
                "sample_rate": raw.sample_rate,
                "samples": raw.n_samples,
                "windows": len(reference),
                "features_max_db": feature_diff,
            }
        )
        if not artifacts:
            continue
        with silence_unremarked():  # the check's signals include silence, on purpose
            expected = predictor.predict(raw)
        file_p = np.array(list(expected.probabilities.values()), dtype=np.float32)
        window_p = np.array([list(w.probabilities.values()) for w in expected.windows], np.float32)
        for artifact_name, artifact in artifacts.items():
            out = artifact(raw.samples)
            row = rows[artifact_name]
            file_diff = max_difference(out["probabilities"], file_p)
            row["probabilities_max_diff"] = max(row["probabilities_max_diff"], file_diff)
            row["window_probabilities_max_diff"] = max(
                row["window_probabilities_max_diff"],
                max_difference(out["window_probabilities"], window_p),
            )
            same = np.isfinite(file_diff) and np.argmax(out["probabilities"]) == np.argmax(file_p)
            row["agree"] += int(same)
            top_two = np.sort(file_p)[-2:]
            if top_two[1] - top_two[0] >= CLEAR_MARGIN:
                row["clear_decisions"] += 1
                row["clear_decisions_changed"] += int(not same)
    features_max = max((float(s["features_max_db"]) for s in signals), default=0.0)
    passed = features_max <= feature_tolerance_db
    report_rows = {}
    for artifact_name, row in rows.items():
        agree = row.pop("agree")
        row["label_agreement"] = agree / len(signals) if signals else 1.0
        if row["tolerance"] is None:
            passed = passed and row["clear_decisions_changed"] == 0
        else:
            worst = max(row["probabilities_max_diff"], row["window_probabilities_max_diff"])
            passed = passed and worst <= row["tolerance"]
        report_rows[artifact_name] = row
    if data is not None and artifacts:
        _accuracies(predictor, artifacts, data, report_rows)
    return ParityReport(
        features_max_db=features_max,
        artifacts=report_rows,
        signals=signals,
        skipped=skipped,
        feature_tolerance_db=feature_tolerance_db,
        passed=passed,
    )


def check_exports(
    predictor: Predictor,
    exports: Iterable[PathLike] = (),
    *,
    files: Iterable[AudioSource] = (),
    data: FolderDataset | PathLike | None = None,
) -> ParityReport:
    """The parity check of ``melgenre check-parity``: existing exports, or fresh ones.

    Parameters
    ----------
    predictor : Predictor
        The reference (e.g. ``Predictor.load(bundle)``).
    exports : iterable of str or os.PathLike, optional
        Export directories written by :meth:`Predictor.export`, checked under their
        directory names. Without them, the predictor is exported to a temporary
        directory as a SavedModel and (when ``n_fft`` is a power of two) as a float32
        TFLite file, and both are checked.
    files, data
        As for :func:`check_parity`.

    Returns
    -------
    ParityReport
    """
    import tempfile

    from melgenre.artifact import ExportedModel
    from melgenre.export import export_predictor, tflite_supported

    data = None if data is None else labelled_data(data)
    paths = [Path(p) for p in exports]
    if paths:
        artifacts = {path.name: ExportedModel.load(path) for path in paths}
        return check_parity(predictor, artifacts, files=files, data=data)
    formats = ["saved_model"] + (["tflite"] if tflite_supported(predictor) else [])
    with tempfile.TemporaryDirectory(prefix="melgenre-parity-") as scratch:
        artifacts = {
            name: ExportedModel.load(
                export_predictor(predictor, Path(scratch) / name, format=name, check=False)
            )
            for name in formats
        }
        return check_parity(predictor, artifacts, files=files, data=data)


def max_difference(got: Any, expected: Any) -> float:
    """``max |got - expected|``; infinite for other shapes or any non-finite value.

    A NaN must fail a check, not vanish in ``max`` (``max(0.1, nan)`` is ``0.1``).
    """
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return float("inf")
    return float(np.max(np.abs(got - expected))) if got.size else 0.0


def labelled_data(data: FolderDataset | PathLike) -> FolderDataset:
    """``data`` as a :class:`~melgenre.FolderDataset` (scanned now, so a bad folder fails early)."""
    from melgenre.data import FolderDataset

    return data if isinstance(data, FolderDataset) else FolderDataset(data)


def _inputs(
    predictor: Predictor, files: Iterable[AudioSource], skipped: list[dict[str, str]]
) -> Iterable[tuple[str, Audio, Audio]]:
    """``(name, raw, cropped)``: at the model's rate, before and after the loader's ``load``.

    A signal the Predictor refuses (:class:`~melgenre.errors.AudioUnusableError`) is
    appended to ``skipped`` instead: there is nothing to compare.
    """
    loader = predictor.preprocessing.loader
    sources: list[tuple[str, Any]] = [
        (name, (samples, rate))
        for name, samples, rate in parity_signals(predictor.preprocessing.sample_rate)
    ]
    sources += [(source_name(source), source) for source in files]
    for name, source in sources:
        raw = _given(predictor, source)  # decoded once; the loader finishes the Audio
        try:
            cropped = loader.load(raw)
        except AudioUnusableError as exc:  # e.g. shorter than the loader's offset
            skipped.append({"name": name, "reason": str(exc)})
            continue
        yield name, raw, cropped


def _given(predictor: Predictor, source: AudioSource) -> Audio:
    """What an artifact is given: ``source`` decoded, mixed and resampled, no more."""
    from melgenre.artifact import export_input

    return export_input(predictor.preprocessing.loader, source)


def _accuracies(
    predictor: Predictor,
    artifacts: Mapping[str, ExportedModel],
    data: FolderDataset | PathLike,
    rows: dict[str, dict[str, Any]],
) -> None:
    """File-level accuracy of the predictor and of each artifact on labelled data."""
    dataset = labelled_data(data)
    right = {name: 0 for name in artifacts}
    reference = 0
    for path, label in zip(dataset.paths, dataset.labels, strict=True):
        truth = dataset.classes[int(label)]
        raw = _given(predictor, path)  # decoded once: the Predictor crops it as the graph does
        reference += int(predictor.predict(raw).label == truth)
        for name, artifact in artifacts.items():
            answer = artifact.labels[int(np.argmax(artifact(raw.samples)["probabilities"]))]
            right[name] += int(answer == truth)
    n = max(1, len(dataset))
    for name in artifacts:
        rows[name]["accuracy"] = {
            "predictor": reference / n,
            "artifact": right[name] / n,
            "change": (right[name] - reference) / n,
            "files": len(dataset),
        }
