"""Fusing a file's clip statistics with its windows: :class:`StatisticsHead` and :func:`fuse`.

A :class:`StatisticsHead` classifies a file's :class:`~melgenre.ClipStatistics` with a
standardised multinomial logistic regression; :func:`fuse` multiplies its probabilities,
raised to the head's ``weight``, with the window model's (a product of experts).
:func:`fit_statistics_head` is what ``Trainer(statistics=True)`` runs after the window
model: fit on the training files, its weight :data:`FUSION_WEIGHT`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from melgenre._regression import choose_c, logistic_weights
from melgenre._statistics_fit import check_statistics_head, fit_statistics_head
from melgenre._typing import FloatArray, IntArray
from melgenre._validation import (
    check_bool,
    check_int,
    check_real,
    checked_indices,
    checked_rows,
)
from melgenre._varispeed import with_copies
from melgenre.data import FeatureSet
from melgenre.errors import ConfigError, _NotTrainedConfigError
from melgenre.statistics import ClipStatistics

__all__ = [
    "BALANCED_C_GRID",
    "C_GRID",
    "FUSION_WEIGHT",
    "VARISPEED",
    "VARISPEED_FILES",
    "WEIGHT_GRID",
    "StatisticsHead",
    "check_statistics_head",
    "fit_statistics_head",
    "fuse",
]

logger = logging.getLogger(__name__)

#: The inverse L2 strengths ``StatisticsHead(C="auto")`` chooses from.
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
#: The inverse L2 strengths ``StatisticsHead(C="auto", balance=True)`` chooses from (its
#: features are smaller, by the square root of their block's length).
BALANCED_C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
#: The fusion weights :meth:`StatisticsHead.choose_weight` chooses from.
WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0)
#: A fitted head's fusion weight unless :meth:`StatisticsHead.choose_weight` sets another:
#: 1, both experts trusted alike (no free parameter). Chosen by the development suite's
#: cross-validation: 1/2 (the default until 2026-12-06) scored below it on the suite's mean,
#: and a weight chosen on each fold's validation files below the fixed one.
FUSION_WEIGHT = 1.0
#: The varispeed copies (in semitones) a :class:`StatisticsHead` also learns each training
#: file from: a whole tone and a semitone higher and lower, pitch and tempo moving together.
#: Chosen by the development suite: every domain's fused accuracy rose with them.
VARISPEED = (-2.0, -1.0, 1.0, 2.0)
#: At most this many training files get varispeed copies (a random sample past it), so
#: the copies' cost stays bounded on large sets, where the regression needs them least.
VARISPEED_FILES = 2000


def fuse(
    window_probabilities: npt.ArrayLike,
    statistics_probabilities: npt.ArrayLike,
    weight: float = 1.0,
) -> FloatArray:
    """Product of experts: ``p * q ** weight``, normalised, for two sets of file probabilities.

    ``weight`` 0 leaves ``p`` as it is; 1 trusts both alike.

    Examples
    --------
    >>> import numpy as np
    >>> [round(float(p), 3) for p in fuse(np.array([[0.6, 0.4]]), np.array([[0.2, 0.8]]))[0]]
    [0.273, 0.727]
    """
    logs = np.log(np.clip(np.asarray(window_probabilities, np.float64), 1e-7, 1.0))
    logs = logs + weight * np.log(
        np.clip(np.asarray(statistics_probabilities, np.float64), 1e-7, 1.0)
    )
    logs -= logs.max(axis=-1, keepdims=True)
    out = np.exp(logs)
    return np.asarray(out / out.sum(axis=-1, keepdims=True), dtype=np.float32)


class StatisticsHead:
    """Standardised clip statistics classified by a multinomial logistic regression.

    Parameters
    ----------
    statistics : ClipStatistics, optional
        The summary it reads; default ``ClipStatistics()``.
    C : float > 0 or "auto", default="auto"
        Inverse L2 strength of the logistic regression. ``"auto"`` chooses it
        from :data:`C_GRID` (:data:`BALANCED_C_GRID` with ``balance``) by
        5-fold stratified cross-validation of the log loss on the training
        files (fewer folds when a class has fewer than five files; 1.0 when one
        has a single file; with varispeed copies, folds that keep a file and
        its copies on one side). The choice is ``C_``.
    balance : bool, default=True
        Divide each block of the standardised statistics
        (:attr:`ClipStatistics.blocks`: the cepstra's means, their spreads, the
        tempogram, ...) by the square root of its length, so that every block
        has the same total variance and one L2 penalty treats blocks alike, not
        numbers (a block of 320 lags would otherwise have sixteen times the say
        of 20 cepstral means). Dimensions past the blocks (a subclass's) are
        one more block. The factor is part of the ``scale`` weights, so
        prediction and export are unchanged; ``"auto"`` then chooses C from
        :data:`BALANCED_C_GRID`. Chosen by the development suite: the head
        alone is better balanced on all three of its domains (see
        ``docs/defaults.rst``).
    varispeed : sequence of float, default=VARISPEED
        Semitones (each in [-12, 12], not 0) by which :meth:`fit` also plays every
        training file faster (higher) or slower (lower), resampled so that pitch
        and tempo move together (speed perturbation), and learns each copy's
        statistics with the file's label. The files are read again with the
        preprocessing that made ``features`` (:attr:`FeatureSet.preprocessing`);
        a set without it is fitted on its files alone. Prediction reads files as
        they are: only the fit changes. ``()`` fits the files alone.
    varispeed_files : int > 0 or None, default=VARISPEED_FILES (2000)
        At most this many training files get copies: past it, a random sample of
        them (seed 0), so that a set of tens of thousands of files is not decoded
        four more times. ``None``: every file.

    Attributes
    ----------
    C_ : float or None
        The inverse L2 strength used by the last fit.
    n_copies_ : int
        Varispeed copies the last :meth:`fit` learned from (0 without them).
    weight : float, default=FUSION_WEIGHT (1)
        The exponent of this head's probabilities in :func:`fuse`; a
        :meth:`choose_weight` on held-out files sets another.

    Examples
    --------
    >>> import numpy as np
    >>> from melgenre import ClipStatistics, StatisticsHead
    >>> rng = np.random.default_rng(0)
    >>> head = StatisticsHead(ClipStatistics(n_mfcc=4, tempo_window=16, tempo_lags=4,
    ...                                      similarity_lags=4))
    >>> x = rng.normal(size=(20, head.statistics.dim)); y = np.arange(20) % 2
    >>> head.fit_statistics(x + y[:, None], y, n_classes=2).predict_proba(x[:1]).shape
    (1, 2)
    """

    def __init__(
        self,
        statistics: ClipStatistics | None = None,
        *,
        C: float | Literal["auto"] = "auto",  # noqa: N803
        balance: bool = True,
        varispeed: Sequence[float] = VARISPEED,
        varispeed_files: int | None = VARISPEED_FILES,
    ) -> None:
        if C != "auto":
            check_real(type(self).__name__, "C", C, low=0.0, closed_low=False)
        self.statistics = statistics if statistics is not None else ClipStatistics()
        self.C: float | Literal["auto"] = C if C == "auto" else float(C)
        check_bool(type(self).__name__, "balance", balance)
        self.balance = balance
        for value in varispeed:
            check_real(type(self).__name__, "varispeed", value, low=-12.0, high=12.0)
        self.varispeed = tuple(float(v) for v in varispeed)
        if 0.0 in self.varispeed:
            raise ConfigError(f"{type(self).__name__}: varispeed holds 0, the file itself.")
        check_int(type(self).__name__, "varispeed_files", varispeed_files, low=1, allow_none=True)
        self.varispeed_files = varispeed_files
        self.n_copies_ = 0
        self.C_: float | None = None
        self.weight = FUSION_WEIGHT
        self.weights_: dict[str, npt.NDArray[np.float64]] | None = None

    def __repr__(self) -> str:
        return (
            f"StatisticsHead(statistics={self.statistics!r}, C={self.C}, balance={self.balance}, "
            f"varispeed={self.varispeed})"
        )

    def fit(
        self, features: FeatureSet, *, progress: bool = False, workers: int | None = None
    ) -> StatisticsHead:
        """Fit on the files of ``features`` (their windows' statistics and labels).

        With :attr:`varispeed` and a set that carries its preprocessing, the files'
        varispeed copies too (the files are decoded again: about 8 s a hundred 15 s
        files, four copies each, on one thread); ``progress`` shows a bar while they are
        read, by ``workers`` threads (default: one per CPU; the fit does not depend on it).
        """
        check_int(f"{type(self).__name__}.fit", "workers", workers, low=1, allow_none=True)
        files, x = self.statistics.transform(features)
        _, labels = features.file_labels()
        x, labels, groups = with_copies(
            self.statistics,
            self.varispeed,
            features,
            files,
            x,
            labels,
            self.varispeed_files,
            progress,
            workers,
        )
        self.fit_statistics(x, labels, n_classes=len(features.classes), groups=groups)
        self.n_copies_ = len(x) - len(files)
        return self

    def fit_statistics(
        self,
        x: FloatArray,
        labels: IntArray,
        *,
        n_classes: int,
        groups: npt.ArrayLike | None = None,
    ) -> StatisticsHead:
        """Fit on precomputed statistics ``(n_rows, dim)`` and label indices.

        ``groups`` (one per row) keeps rows that share a group on one side of the
        folds that choose ``C`` (a file and its copies); by default every row is its
        own. Rows of another length than ``statistics.dim``, NaN or infinite values and
        labels that are not indices of ``n_classes`` classes are a ``ConfigError``.
        """
        dim = self.statistics.dim
        x = np.asarray(checked_rows("StatisticsHead", "statistics", x, (dim,)), np.float64)
        labels = checked_indices("StatisticsHead", "labels", labels, len(x), n_classes, "classes")
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale < 1e-12] = 1.0
        if self.balance:
            scale = scale * self._block_factors(x.shape[1])
        x = (x - mean) / scale
        grid = BALANCED_C_GRID if self.balance else C_GRID
        auto = self.C == "auto"
        self.C_ = self._choose_c(x, labels, grid, groups) if auto else float(self.C)
        coef, intercept = logistic_weights(x, labels, self.C_, n_classes)
        self.weights_ = {"mean": mean, "scale": scale, "coef": coef, "intercept": intercept}
        return self

    def _block_sizes(self, dim: int) -> dict[str, int]:
        """The non-empty blocks' lengths in order (:attr:`ClipStatistics.blocks`).

        Numbers past the blocks (a subclass's own) count as one more block, ``"rest"``.
        """
        sizes = {name: n for name, n in self.statistics.blocks.items() if n}
        if dim > sum(sizes.values()):
            sizes["rest"] = dim - sum(sizes.values())
        return sizes

    def _block_factors(self, dim: int) -> npt.NDArray[np.float64]:
        """Each dimension's block length's square root (:meth:`_block_sizes`)."""
        sizes = self._block_sizes(dim).values()
        return np.concatenate([np.full(n, np.sqrt(n)) for n in sizes])[:dim]

    @staticmethod
    def _choose_c(
        x: npt.NDArray[np.floating[Any]],
        labels: IntArray,
        grid: tuple[float, ...] = C_GRID,
        groups: npt.ArrayLike | None = None,
    ) -> float:
        """The grid's C with the best cross-validated log loss on ``(x, labels)``."""
        return choose_c(x, labels, grid, groups)

    def predict_proba(self, x: FloatArray) -> FloatArray:
        """Class probabilities ``(n_files, n_classes)`` from statistics ``(n_files, dim)``.

        Raises NotTrainedError before :meth:`fit`, ConfigError for rows not finite or not dim long.
        """
        if self.weights_ is None:
            raise _NotTrainedConfigError("This StatisticsHead is not fitted yet: call fit first.")
        w = self.weights_
        x = checked_rows("StatisticsHead.predict_proba", "statistics", x, w["mean"].shape)
        z = (np.asarray(x, np.float64) - w["mean"]) / w["scale"] @ w["coef"].T + w["intercept"]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        out: FloatArray = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
        return out

    def weight_scores(
        self, window_probabilities: npt.ArrayLike, statistics: FloatArray, labels: IntArray
    ) -> dict[str, float]:
        """The mean log-likelihood of held-out files' true labels under :func:`fuse`, by weight.

        Parameters
        ----------
        window_probabilities : array [shape=(n_files, n_classes)]
            The window model's file probabilities.
        statistics : np.ndarray [shape=(n_files, dim)]
            The same files' clip statistics.
        labels : array of int [shape=(n_files,)]

        Returns
        -------
        dict
            For each :data:`WEIGHT_GRID` entry (``"0.5": -0.41``, ...).
        """
        labels = np.asarray(labels, dtype=np.int64)
        head = self.predict_proba(statistics)
        scores = {}
        for weight in WEIGHT_GRID:
            fused = fuse(window_probabilities, head, weight)
            chosen = np.clip(fused[np.arange(len(labels)), labels], 1e-7, 1.0)
            scores[str(weight)] = float(np.mean(np.log(chosen)))
        return scores

    def choose_weight(
        self, window_probabilities: npt.ArrayLike, statistics: FloatArray, labels: IntArray
    ) -> dict[str, float]:
        """Set :attr:`weight` to the :data:`WEIGHT_GRID` entry that fits held-out files best.

        The best is the highest :meth:`weight_scores` (ties: the smaller
        weight), on files neither model was trained on: a head that does not
        help there is given less say, or none. On a few dozen files the choice
        is noisy: the development suite scored the fixed :data:`FUSION_WEIGHT`
        at least as well as this choice on a 10 % validation split, so the
        Trainer keeps the fixed weight; choose on larger held-out sets.

        Parameters and Returns: as :meth:`weight_scores`.
        """
        scores = self.weight_scores(window_probabilities, statistics, labels)
        self.weight = float(max(WEIGHT_GRID, key=lambda w: (scores[str(w)], -w)))
        return scores

    def predict_windows(
        self, windows: FloatArray, starts: IntArray | None = None, chroma: FloatArray | None = None
    ) -> FloatArray:
        """One file's probabilities ``(n_classes,)`` from its windows (and their first frames).

        ``chroma``: the file's chroma, for statistics with ``harmony=True``.
        """
        statistics = self.statistics.from_windows(windows, starts, chroma)
        row: FloatArray = self.predict_proba(statistics[np.newaxis])[0]
        return row

    @property
    def num_classes(self) -> int:
        """Classes of the fitted head (0 before :meth:`fit`)."""
        return 0 if self.weights_ is None else int(self.weights_["coef"].shape[0])

    def get_config(self) -> dict[str, Any]:
        """``{"statistics": {...}, "C": ...}`` (weights apart: :meth:`get_weights`)."""
        return {
            "statistics": self.statistics.get_config(),
            "C": self.C,
            "balance": self.balance,
            "varispeed": list(self.varispeed),
            "varispeed_files": self.varispeed_files,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> StatisticsHead:
        """Rebuild an unfitted head from :meth:`get_config`."""
        statistics = ClipStatistics.from_config(config["statistics"])
        balance = config.get("balance", False)
        varispeed = config.get("varispeed", ())  # heads saved before copies: fitted without
        files = config.get("varispeed_files", VARISPEED_FILES)
        return cls(
            statistics, C=config["C"], balance=balance, varispeed=varispeed, varispeed_files=files
        )

    def get_weights(self) -> dict[str, Any]:
        """The fitted arrays as JSON-safe lists."""
        if self.weights_ is None:
            raise _NotTrainedConfigError("This StatisticsHead is not fitted yet: call fit first.")
        arrays = {k: v.tolist() for k, v in self.weights_.items()}
        return {"C_": self.C_, "weight": self.weight, **arrays}

    def set_weights(self, weights: dict[str, Any]) -> None:
        """Load :meth:`get_weights`' arrays, checking their shapes."""
        try:
            arrays = {
                k: np.asarray(weights[k], np.float64)
                for k in ("mean", "scale", "coef", "intercept")
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"Bad StatisticsHead weights: {exc!r}.") from exc
        dim = self.statistics.dim
        n = arrays["coef"].shape[0] if arrays["coef"].ndim == 2 else -1
        expected = {"mean": (dim,), "scale": (dim,), "coef": (n, dim), "intercept": (n,)}
        if n < 2 or any(arrays[k].shape != s for k, s in expected.items()):
            shapes = {k: v.shape for k, v in arrays.items()}
            raise ConfigError(f"StatisticsHead weights of shapes {shapes} do not fit dim {dim}.")
        self.weights_ = arrays
        self.C_ = None if weights.get("C_") is None else float(weights["C_"])
        self.weight = float(weights.get("weight", 1.0))  # heads saved before it was stored: 1
