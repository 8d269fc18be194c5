"""What a trained :class:`~melgenre.Trainer` answers with: probabilities, evaluation, a Predictor.

:class:`TrainedModel` is a mixin of :class:`~melgenre.Trainer`: the methods that
use the model (and the heads) :meth:`Trainer.fit` trained.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from melgenre._fit_checks import check_features, checked_windows
from melgenre._fitting import predict_in_batches
from melgenre._typing import FloatArray, PathLike
from melgenre.data import FeatureSet, FolderDataset
from melgenre.deprecation import deprecated
from melgenre.errors import ConfigError, MelgenreWarning, _NotTrainedConfigError
from melgenre.evaluation import EvaluationReport, evaluate_features, features_to_evaluate

if TYPE_CHECKING:
    from melgenre.fusion import StatisticsHead
    from melgenre.predictor import Predictor
    from melgenre.preprocessing import Preprocessing

__all__ = ["TrainedModel"]


class TrainedModel:
    """Predict, evaluate and hand over the trained model with its heads."""

    model: Any
    batch_size: int
    strategy: Any
    clip_head_: Any
    statistics_head_: StatisticsHead | None
    classes_: tuple[str, ...] | None
    #: The preprocessing that made the training windows (:attr:`FeatureSet.preprocessing`),
    #: recorded by :meth:`Trainer.fit`; ``None`` before it or for windows made by hand.
    preprocessing_: Preprocessing | None = None

    def predict_proba(
        self, features: FeatureSet | FloatArray, *, batch_size: int | None = None
    ) -> FloatArray:
        """Window probabilities, computed in batches (memory-mapped sets stay on disk).

        Parameters
        ----------
        features : FeatureSet or np.ndarray [shape=(n, n_bins, frames, 1)]
        batch_size : int > 0, optional
            Windows per model call; default ``max(batch_size, 64)``.

        Returns
        -------
        probabilities : np.ndarray [shape=(n, n_classes), dtype=float32]

        Raises
        ------
        ConfigError
            The windows' shape is not the model's input, or one holds NaN or an infinity.
        MelgenreTypeError
            ``features`` is not numeric.
        """
        x = checked_windows("Trainer.predict_proba", self.model, features)
        return predict_in_batches(
            self.model, x, batch_size or max(self.batch_size, 64), self.strategy
        )

    predict = deprecated(predict_proba, old_name="Trainer.predict", since="0.2", removed_in="0.3")

    def evaluate(
        self,
        test: FeatureSet | FolderDataset,
        *,
        preprocessing: Preprocessing | None = None,
        batch_size: int | None = None,
        cache_dir: PathLike | None = None,
        workers: int | None = None,
    ) -> EvaluationReport:
        """File-level and window-level accuracy, per-class scores and confusion matrices.

        Parameters
        ----------
        test : FeatureSet or FolderDataset
            Labelled data; a dataset is featurized with ``preprocessing``.
            Its classes must be among the training set's.
        preprocessing : Preprocessing, optional
            Needed for a dataset: the preprocessing the model was trained with.
        batch_size : int > 0, optional
            Windows per model call.
        cache_dir, workers : optional
            For a dataset's extraction, as in :meth:`FolderDataset.features`.

        Returns
        -------
        EvaluationReport
        """
        if isinstance(test, FolderDataset):
            if preprocessing is None:
                raise ConfigError(
                    "Trainer.evaluate needs preprocessing=... to featurize a FolderDataset "
                    "(the Preprocessing the model was trained with).",
                    parameter="preprocessing",
                )
            test = features_to_evaluate(test, preprocessing, cache_dir, workers, False)
        check_features(self.model, test, "test")
        size = batch_size or max(self.batch_size, 64)
        if self.clip_head_ is not None:
            from melgenre.pooling import with_embeddings

            predict = with_embeddings(self.model)
        else:
            predict = lambda x: self.predict_proba(x, batch_size=batch_size)  # noqa: E731
        return evaluate_features(
            predict,
            test,
            list(test.classes),
            batch_size=size,
            clip_head=self.clip_head_,
            statistics_head=self.statistics_head_,
        )

    def _file_probabilities(self, features: FeatureSet) -> FloatArray:
        """Each file's probabilities from the window model (and the clip head, if any)."""
        from melgenre.evaluation import file_probabilities

        if self.clip_head_ is None:
            _, mean = file_probabilities(self.predict_proba(features), features.groups)
            return mean.astype(np.float32)
        from melgenre.pooling import embedding_model, window_embeddings

        embeddings = window_embeddings(embedding_model(self.model), features, 256)
        out: FloatArray = self.clip_head_.predict_files(embeddings, features.groups)
        return out

    def to_predictor(
        self,
        preprocessing: Preprocessing | None = None,
        *,
        labels: Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Predictor:
        """A :class:`~melgenre.Predictor` of the trained model, with the heads :meth:`fit` made.

        The clip head (``pooling="attention"``) and the statistics head
        (``statistics=True``) come along, so the Predictor answers as
        :meth:`evaluate` scores.

        Parameters
        ----------
        preprocessing : Preprocessing, optional
            The preprocessing the training windows were made with; default: the one
            :meth:`fit` recorded from them (:attr:`FeatureSet.preprocessing`). Another
            featurizer than that one is refused; another loader is used with a warning.
        labels : sequence of str, optional
            Class names by output index; default: the training set's classes.
        metadata : dict, optional
            Stored in the bundle (:class:`~melgenre.Predictor`).

        Returns
        -------
        Predictor

        Raises
        ------
        NotTrainedError
            Before :meth:`fit` (also a ``ConfigError`` until 0.3, as it was).
        ConfigError
            A featurizer other than the training windows'; no ``preprocessing`` for
            windows that do not record theirs.

        Examples
        --------
        >>> trainer.fit(train_fs, validation=val_fs)  # doctest: +SKIP
        >>> trainer.to_predictor().save("genre-model")  # doctest: +SKIP
        """
        from melgenre.predictor import Predictor

        if self.classes_ is None:
            raise _NotTrainedConfigError(
                "Trainer.to_predictor needs a trained model: call fit first."
            )
        return Predictor(
            preprocessing=self._predictor_preprocessing(preprocessing),
            model=self.model,
            labels=list(labels if labels is not None else self.classes_),
            metadata=metadata,
            clip_head=self.clip_head_,
            statistics_head=self.statistics_head_,
        )

    def _predictor_preprocessing(self, given: Preprocessing | None) -> Preprocessing:
        """``given``, checked against the training windows' preprocessing, or that one."""
        trained = self.preprocessing_
        if given is None:
            if trained is None:
                raise ConfigError(
                    "Trainer.to_predictor: the training windows do not record the "
                    "preprocessing that made them (a FeatureSet built by hand): pass it, "
                    "to_predictor(preprocessing)."
                )
            return trained
        if trained is None or given == trained:
            return given
        if given.featurizer != trained.featurizer:
            raise ConfigError(
                f"Trainer.to_predictor got {given.featurizer!r}, but the training windows "
                f"were made with {trained.featurizer!r}: the Predictor would read features "
                "the model never saw. Pass the training preprocessing, or nothing (it is "
                "the default)."
            )
        warnings.warn(
            f"Trainer.to_predictor: the Predictor will load audio with {given.loader!r}, "
            f"the training windows were made with {trained.loader!r}.",
            MelgenreWarning,
            stacklevel=3,
        )
        return given
