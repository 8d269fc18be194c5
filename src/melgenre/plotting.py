"""Figures as PNG files: training curves, confusion matrix, spectrogram with its windows.

matplotlib (the ``plot`` extra: ``pip install "melgenre[plot]"``) is imported only
when a function runs. Figures are drawn with matplotlib's object API (no pyplot
state), so plotting is safe in scripts, servers and threads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from melgenre._typing import PathLike
from melgenre._validation import counted
from melgenre.audio import Audio
from melgenre.errors import MelgenreError
from melgenre.evaluation import EvaluationReport
from melgenre.history import History

if TYPE_CHECKING:
    from melgenre.features import MelFeaturizer
    from melgenre.predictor import Prediction

__all__ = ["plot_confusion_matrix", "plot_history", "plot_spectrogram", "plot_timeline"]


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MelgenreError(
            'Plotting needs matplotlib: pip install "melgenre[plot]" (or pip install matplotlib).'
        ) from None
    return Figure(figsize=(width, height), layout="constrained")


def _save(figure: Any, path: PathLike) -> Path:
    """Write the figure through a temporary sibling (the format from the path's suffix)."""
    from melgenre._files import atomic_target

    path = Path(path)
    with atomic_target(path, suffix=path.suffix) as tmp:
        figure.savefig(tmp, dpi=110)
    return path


def plot_history(history: History | PathLike, path: PathLike) -> Path:
    """Accuracy and loss per epoch, training beside validation.

    Parameters
    ----------
    history : History or path to ``training_hist.json``
    path : str or os.PathLike
        The PNG file to write.

    Returns
    -------
    path : pathlib.Path
    """
    if not isinstance(history, History):
        history = History.load(history)
    figure = _figure(10, 4)
    axes = figure.subplots(1, 2)
    epochs = np.arange(1, history.epochs + 1)
    for ax, metric, title in ((axes[0], "accuracy", "Accuracy"), (axes[1], "loss", "Loss")):
        for key, style, label in (
            (metric, "-o", "training"),
            (f"val_{metric}", "-s", "validation"),
        ):
            if key in history.metrics:
                ax.plot(epochs, history.metrics[key], style, markersize=3, label=label)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    return _save(figure, path)


def plot_confusion_matrix(
    report: EvaluationReport, path: PathLike, *, level: str = "file", normalize: bool = True
) -> Path:
    """The confusion matrix of an :class:`EvaluationReport`.

    Parameters
    ----------
    report : EvaluationReport
    path : str or os.PathLike
    level : {"file", "window"}, default="file"
    normalize : bool, default=True
        Show each row (true class) as fractions; counts are printed in cells.
    """
    if level not in ("file", "window"):
        raise MelgenreError(f"level must be 'file' or 'window'; got {level!r}.")
    counts = np.asarray(
        report.confusion_matrix if level == "file" else report.window_confusion_matrix, dtype=float
    )
    rows = counts.sum(axis=1, keepdims=True)
    shown = (
        np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0) if normalize else counts
    )
    n = len(report.classes)
    figure = _figure(1.2 + 0.65 * n, 1.0 + 0.6 * n)
    ax = figure.subplots()
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    figure.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(range(n), report.classes, rotation=45, ha="right")
    ax.set_yticks(range(n), report.classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = report.file_accuracy if level == "file" else report.window_accuracy
    ax.set_title(f"{level}-level accuracy {accuracy:.1%}")
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                dark = shown[i, j] > 0.6 * (shown.max() or 1)
                ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")  # fmt: skip
    return _save(figure, path)


def plot_spectrogram(audio: Audio, featurizer: MelFeaturizer, path: PathLike) -> Path:
    """The log-mel spectrogram of ``audio`` with the boundaries of its windows.

    Parameters
    ----------
    audio : Audio
        Mono audio at the featurizer's sample rate.
    featurizer : MelFeaturizer
    path : str or os.PathLike
    """
    spec = featurizer.spectrogram(audio)
    times = featurizer.window_times(audio)
    seconds_per_frame = featurizer.hop_length / featurizer.sample_rate
    figure = _figure(10, 4)
    ax = figure.subplots()
    extent = (0.0, spec.shape[1] * seconds_per_frame, 0, spec.shape[0])
    image = ax.imshow(spec, origin="lower", aspect="auto", extent=extent, cmap="magma")
    from melgenre.features import MelFeaturizer

    in_db = type(featurizer).scale is MelFeaturizer.scale
    figure.colorbar(image, ax=ax, label="dB" if in_db else None)
    for k, (start, end) in enumerate(times):
        y = spec.shape[0] * (0.92 - 0.06 * (k % 2))
        ax.axvline(start, color="cyan", linewidth=0.8, alpha=0.8)
        arrow = {"arrowstyle": "<->", "color": "cyan", "linewidth": 0.8}
        ax.annotate("", xy=(end, y), xytext=(start, y), arrowprops=arrow)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mel band")
    ax.set_title(
        f"{audio.source}: {counted(len(times), 'window')} of {featurizer.window_seconds:.2f} s"
    )
    return _save(figure, path)


def plot_timeline(prediction: Prediction, path: PathLike, *, top: int = 5) -> Path:
    """Each class's probability over time, window by window, for one recording.

    Parameters
    ----------
    prediction : Prediction
        From :meth:`melgenre.Predictor.predict`; its ``windows`` give the times.
    path : str or os.PathLike
        The PNG file to write.
    top : int, default=5
        Plot the ``top`` classes with the highest probability in any window.

    Returns
    -------
    path : pathlib.Path
    """
    windows = prediction.windows
    if not windows:
        raise MelgenreError(f"The prediction for {prediction.source!r} has no windows to plot.")
    labels = list(windows[0].probabilities)
    peak = {label: max(w.probabilities[label] for w in windows) for label in labels}
    shown = sorted(labels, key=lambda label: -peak[label])[: max(1, top)]
    centres = [(w.start + w.end) / 2 for w in windows]
    figure = _figure(10, 3.5)
    ax = figure.subplots()
    for label in shown:
        ax.plot(centres, [w.probabilities[label] for w in windows], marker="o", label=label)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, max(w.end for w in windows))
    ax.set_xlabel("time (s), window centres")
    ax.set_ylabel("probability")
    ax.set_title(
        f"{Path(prediction.source).name}: {prediction.label} "
        f"({prediction.confidence:.0%}) overall, "
        f"{counted(len(windows), 'window')}"
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    ax.grid(alpha=0.3)
    return _save(figure, path)
