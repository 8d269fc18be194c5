"""A :class:`~melgenre.Predictor`'s files: :meth:`save` a bundle, :meth:`load` it, :meth:`export`.

:class:`PredictorFiles` is a mixin of :class:`~melgenre.Predictor`; the work is done
by :mod:`melgenre.bundle` and :mod:`melgenre.export`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar, cast

from melgenre._typing import AudioSource, PathLike
from melgenre.bundle import read_predictor, save_predictor
from melgenre.errors import BundleError, ConfigError

if TYPE_CHECKING:
    from melgenre.data import FolderDataset
    from melgenre.evaluation import EvaluationReport
    from melgenre.history import History
    from melgenre.predictor import Predictor

__all__ = ["PredictorFiles"]

_Loaded = TypeVar("_Loaded", bound="PredictorFiles")


class PredictorFiles:
    """Save, load and export a Predictor."""

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
            The bundle directory: new, empty, or an earlier bundle, which is replaced
            (see :mod:`melgenre.bundle`); a file or a directory of other files there is a
            :class:`~melgenre.BundleError`, never deleted.
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
        return save_predictor(
            cast("Predictor", self), path, history=history, report=report, extra_files=extra_files
        )

    def export(
        self,
        path: PathLike,
        format: Literal["saved_model", "tflite"] = "saved_model",
        *,
        quantize: Literal["float16", "int8"] | None = None,
        allow_mismatch: bool = False,
        files: Sequence[AudioSource] = (),
        data: FolderDataset | PathLike | None = None,
    ) -> Path:
        """Export the model with its preprocessing inside the graph: waveform in, probabilities out.

        The artifact computes the log-mel windows in TensorFlow ops with the same
        constants as the NumPy featurizer (:meth:`Featurizer.tf_transform`) and pools
        them as this predictor does (fused with its statistics head's answer on the
        clip statistics, if it has one). Before it is moved into place, a parity check
        (:func:`melgenre.parity.check_parity`) compares it with this predictor on
        synthesized signals and ``files``; its figures are written to ``parity.json``.
        See :mod:`melgenre.export` for the directory's layout and signature.

        Parameters
        ----------
        path : str or os.PathLike
            The export directory (replaced if it is an earlier export).
        format : {"saved_model", "tflite"}, default="saved_model"
        quantize : {"float16", "int8"} or None, default=None
            TFLite only: float16 weights, or int8 weights with float computation
            (dynamic-range quantization).
        allow_mismatch : bool, default=False
            Write the artifact even when the parity check fails.
        files : sequence of sources, optional
            Recordings to include in the parity check.
        data : FolderDataset or path, optional
            A labelled folder: ``parity.json`` records the artifact's file-level
            accuracy beside this predictor's (the cost of quantizing).

        Returns
        -------
        path : pathlib.Path

        Raises
        ------
        ExportError
            The featurizer or a statistics head has no in-graph twin, TFLite
            is asked for with an ``n_fft`` that is not a power of two, or the
            parity check fails.

        Examples
        --------
        >>> predictor.export("exported", format="tflite")  # doctest: +SKIP
        PosixPath('exported')
        """
        from melgenre.export import export_predictor

        return export_predictor(
            cast("Predictor", self),
            path,
            format=format,
            quantize=quantize,
            allow_mismatch=allow_mismatch,
            files=tuple(files),
            data=data,
        )

    @classmethod
    def load(cls: type[_Loaded], path: PathLike) -> _Loaded:
        """Load a bundle written by :meth:`save`, validating it first.

        Parameters
        ----------
        path : str or os.PathLike
            The bundle directory.

        Returns
        -------
        Predictor

        Raises
        ------
        BundleError
            A missing or damaged file, an unknown format version, an unregistered
            component, labels that disagree with the model's outputs, or a
            featurizer whose windows disagree with the model's input.
        """
        root, arguments = read_predictor(path)
        try:
            return cls(**arguments)
        except ConfigError as exc:
            raise BundleError(f"The bundle {str(root)!r} is inconsistent: {exc}") from exc
