"""What ``Trainer(statistics=True)`` runs after the window model: :func:`fit_statistics_head`.

Exported by :mod:`melgenre.fusion`, beside the :class:`~melgenre.StatisticsHead` it fits,
with :func:`check_statistics_head` (what a Predictor checks of the head it is given).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from melgenre._typing import FloatArray
from melgenre.data import FeatureSet
from melgenre.errors import ConfigError
from melgenre.statistics import ClipStatistics

if TYPE_CHECKING:
    from melgenre.fusion import StatisticsHead

logger = logging.getLogger(__name__)


def fit_statistics_head(
    train: FeatureSet,
    validation: FeatureSet | None = None,
    file_probabilities: Callable[[FeatureSet], FloatArray] | None = None,
    *,
    choose_weight: bool = False,
    progress: bool = False,
) -> tuple[StatisticsHead, dict[str, Any]]:
    """Fit a :class:`~melgenre.StatisticsHead` on ``train``; score its weights on ``validation``.

    Its statistics are :class:`~melgenre.ClipStatistics`' defaults, without the harmony when
    ``train`` carries no chroma (:attr:`FeatureSet.chroma <melgenre.FeatureSet.chroma>`).

    ``file_probabilities`` gives the window model's file probabilities of a
    feature set (in the order of its sorted file indices and ``train``'s
    classes); with it and ``validation``, the summary records
    :meth:`~melgenre.StatisticsHead.weight_scores` on the validation files, and with
    ``choose_weight`` :meth:`~melgenre.StatisticsHead.choose_weight` sets the weight
    there (else it is :data:`~melgenre.fusion.FUSION_WEIGHT`). Returns the head and a JSON-safe
    summary (``C``, ``C_``, ``weight``, the validation scores). ``progress`` shows a bar
    while the varispeed copies are read (:meth:`~melgenre.StatisticsHead.fit`).
    """
    from melgenre.fusion import StatisticsHead

    harmony = train.chroma is not None
    if not harmony:
        logger.info(
            "The training features carry no chroma (a FeatureSet built by hand): the "
            "statistics head goes without the harmony."
        )
    head = StatisticsHead(ClipStatistics(harmony=harmony)).fit(train, progress=progress)
    summary: dict[str, Any] = {**head.get_config(), "C_": head.C_, "copies": head.n_copies_}
    if validation is not None and file_probabilities is not None:
        _, labels = validation.file_labels()
        labels = np.array([train.classes.index(validation.classes[k]) for k in labels])
        _, statistics = head.statistics.transform(validation)
        score = head.choose_weight if choose_weight else head.weight_scores
        summary["validation_log_likelihood"] = score(
            file_probabilities(validation), statistics, labels
        )
    chosen = choose_weight and "validation_log_likelihood" in summary
    summary["weight_rule"] = "validation" if chosen else "fixed"
    summary["weight"] = head.weight
    logger.info(
        "Statistics head fitted on %d files and %d varispeed copies (C=%g, fusion weight %g).",
        train.n_files,
        head.n_copies_,
        head.C_,
        head.weight,
    )
    return head, summary


def check_statistics_head(head: Any, labels: list[str]) -> None:
    """Raise a ConfigError unless ``head`` is a fitted StatisticsHead for ``labels``."""
    from melgenre.fusion import StatisticsHead

    if not isinstance(head, StatisticsHead):
        raise ConfigError(
            "statistics_head must be a fitted melgenre.fusion.StatisticsHead "
            f"(Trainer(statistics=True) makes one); got {type(head).__name__}.",
            parameter="statistics_head",
        )
    if head.num_classes != len(labels):
        state = "not fitted" if head.weights_ is None else f"fitted for {head.num_classes} classes"
        raise ConfigError(
            f"The statistics head is {state}, but there are {len(labels)} labels.",
            parameter="statistics_head",
        )
