"""Training and evaluating a model on :class:`FeatureSet` s: :class:`Trainer`.

Importing this module imports Keras (and TensorFlow).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from melgenre._checkpoint import CHECKPOINT_DIR, start_run
from melgenre._fit_checks import check_fit, check_settings
from melgenre._fitting import (
    EpochLog,
    SmoothedMetric,
    class_weights,
    files_hash,
    final_history,
    place_in_scope,
    run_params,
    shard_by_data,
    stopping,
)
from melgenre._tf import keras
from melgenre._trained import TrainedModel
from melgenre._typing import PathLike
from melgenre._validation import check_bool, check_choice, listed
from melgenre.augment import Augmentation
from melgenre.data import FeatureSet
from melgenre.fusion import StatisticsHead, fit_statistics_head
from melgenre.history import HISTORY_FILE, History
from melgenre.plan import TARGET_UPDATES, TrainingPlan, plan_training

__all__ = ["Trainer"]

logger = logging.getLogger(__name__)


class Trainer(TrainedModel):
    """Fit a Keras classifier on a :class:`FeatureSet` and evaluate it per file and per window.

    The model is compiled with Adam, categorical cross-entropy and accuracy
    unless ``optimizer``, ``loss`` or ``metrics`` say otherwise. The run's
    length and learning-rate schedule come from the training set's size
    (:func:`melgenre.plan_training`; see the training guide).

    Parameters
    ----------
    model : keras.Model
        A classifier with a softmax output per class, e.g. :class:`~melgenre.GenreCNN`.
    epochs : int > 0 or None, default=None
        Passes over the training windows. ``None`` plans them from the data:
        about ``target_updates`` optimizer updates, within 10 to 200 epochs
        (the plan is ``trainer.plan_`` after :meth:`fit` and is recorded in
        the history).
    batch_size : int > 0, default=32
    learning_rate : float > 0, default=1e-3
        Adam's peak learning rate (ignored when ``optimizer`` is given).
    schedule : {"cosine", "constant"}, default="cosine"
        ``"cosine"``: the learning rate warms up linearly from a tenth over the
        first 5 % of the updates, then follows a cosine down to zero.
        ``"constant"``: it stays at ``learning_rate`` throughout.
    target_updates : int > 0, default=3000
        The optimizer updates a planned run (``epochs=None``) aims at.
    optimizer : keras.optimizers.Optimizer or str, optional
        Used as it is (no schedule).
    loss : keras loss or str, default="categorical_crossentropy"
    metrics : sequence, default=("accuracy",)
    callbacks : sequence of keras.callbacks.Callback, optional
        Added to the trainer's own (TensorBoard, ...); a
        ``keras.callbacks.EarlyStopping`` among them replaces the trainer's
        early stopping.
    verbose : {"auto", 0, 1, 2}, default="auto"
        Keras' progress output: 0 silent, 1 progress bar, 2 one line per epoch.
    seed : int or None, default=None
        Seeds Keras, NumPy, Python, the weights' initialisation, the
        shuffling, dropout and the augmentation: with a seed, a run on CPU is
        deterministic.
    run_dir : str or os.PathLike, optional
        Writes ``training_hist.json`` (after every epoch) and a checkpoint
        every epoch there, so a run can be resumed (``fit(..., resume=True)``).
    early_stopping : bool or None, default=False
        ``False``: the planned run goes to its end, where the cosine schedule
        has brought the learning rate to zero, and a validation set is only
        reported. ``True``: stop after ``patience`` epochs without improvement
        of the smoothed ``monitor`` and restore the best epoch's weights.
        ``None``: on when ``fit`` gets a validation set (the default before
        0.2; by cross-validation, stopping on the validation loss of a few
        dozen files ended good runs early).
    monitor : str, default="val_loss"
        The metric early stopping watches (lower is better for losses and
        errors, higher otherwise).
    patience : int >= 0 or None, default=None
        Epochs without improvement before stopping; ``None``: the plan's, a
        quarter of the epochs (at least 5).
    smoothing : float in [0, 0.99], default=0.6
        Early stopping watches an exponential moving average of ``monitor``
        (logged as ``<monitor>_smoothed``): each epoch's value weighs
        ``1 - smoothing``, so one noisy epoch neither stops a run nor is kept
        as its best. 0 watches the raw metric.
    class_weight : "balanced", dict or None, default=None
        Weigh each class's windows in the loss: ``"balanced"`` gives every
        class the same total weight (``n_windows / (n_classes * count)``);
        a dict maps class names or indices to weights (others get 1).
    augmentation : Augmentation or None, default=None
        Random masks, level shifts and mixup applied to the training batches
        in the ``tf.data`` pipeline (never to validation or test windows).
    strategy : tf.distribute.Strategy or None, default=None
        Train with any TensorFlow distribution strategy, e.g.
        ``tf.distribute.MirroredStrategy()`` for the GPUs of one machine or
        ``MultiWorkerMirroredStrategy()`` across machines. ``batch_size`` is
        the *global* batch, split over the replicas. A model built outside
        ``strategy.scope()`` is rebuilt inside it (same weights), so use
        ``trainer.model`` afterwards.
    pooling : {"mean", "attention"}, default="mean"
        How a file's answer comes from its windows. ``"mean"``: the mean of
        the window probabilities. ``"attention"``: after the window model is
        trained, a :class:`~melgenre.pooling.ClipHead` learns to weigh the
        windows' frozen embeddings (see :func:`~melgenre.pooling.fit_clip_head`);
        it is ``trainer.clip_head_``, used by :meth:`evaluate` and passed on to
        :class:`Predictor` (``Predictor(..., clip_head=trainer.clip_head_)``).
    statistics : bool, default=True
        After the window model, fit a :class:`~melgenre.fusion.StatisticsHead`
        on the training files' clip statistics (tempo, periodicity, timbre of
        the whole file); its probabilities, raised to the weight
        :data:`~melgenre.fusion.FUSION_WEIGHT` (1: a plain product), multiply the
        windows' file answer in :meth:`evaluate` and in the Predictor of
        :meth:`to_predictor`. It is ``trainer.statistics_head_``. The default
        since 0.2 (chosen by the development suite, ``docs/defaults.rst``);
        ``False`` answers with the windows alone.

    Attributes
    ----------
    plan_ : TrainingPlan
        The plan of the last :meth:`fit`.
    history_ : History
        The last :meth:`fit`'s history.
    clip_head_ : ClipHead or None
        The trained clip head, with ``pooling="attention"``.
    statistics_head_ : StatisticsHead or None
        The fitted statistics head, with ``statistics=True``.
    classes_ : tuple of str or None
        The training set's classes (the model's outputs, in order), after :meth:`fit`.

    Notes
    -----
    With ``run_dir``, the trainer also keeps ``run_dir/checkpoints/``: the
    latest epoch's and the best epoch's model (``.keras``, optimizer state
    included; best by ``monitor`` when it is logged) and ``checkpoint.json``,
    everything written atomically. ``fit(..., resume=True)`` continues from
    there.

    Examples
    --------
    >>> from melgenre import GenreCNN, Trainer
    >>> trainer = Trainer(GenreCNN(num_classes=3, input_shape=(32, 32, 1), filters=(4,)),
    ...                   epochs=2, seed=0, verbose=0)
    >>> trainer.epochs
    2
    """

    def __init__(
        self,
        model: keras.Model,
        *,
        epochs: int | None = None,
        batch_size: int = 32,
        learning_rate: float = 1e-3,
        schedule: str = "cosine",
        target_updates: int = TARGET_UPDATES,
        optimizer: Any = None,
        loss: Any = "categorical_crossentropy",
        metrics: Sequence[Any] = ("accuracy",),
        callbacks: Sequence[keras.callbacks.Callback] = (),
        verbose: str | int = "auto",
        seed: int | None = None,
        run_dir: PathLike | None = None,
        early_stopping: bool | None = False,
        monitor: str = "val_loss",
        patience: int | None = None,
        smoothing: float = 0.6,
        class_weight: str | Mapping[str | int, float] | None = None,
        augmentation: Augmentation | None = None,
        strategy: Any = None,
        pooling: str = "mean",
        statistics: bool = True,
    ) -> None:
        check_choice("Trainer", "pooling", pooling, ("mean", "attention"))
        check_bool("Trainer", "statistics", statistics)
        check_settings(
            model=model,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            patience=patience,
            schedule=schedule,
            smoothing=smoothing,
            target_updates=target_updates,
            class_weight=class_weight,
            verbose=verbose,
            augmentation=augmentation,
            strategy=strategy,
        )
        self.model = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = float(learning_rate)
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = list(metrics)
        self.callbacks = listed("Trainer", "callbacks", callbacks)
        self.verbose = verbose
        self.seed = seed
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.early_stopping = early_stopping
        self.monitor = monitor
        self.patience = patience
        self.schedule = schedule
        self.target_updates = target_updates
        self.smoothing = float(smoothing)
        self.plan_: TrainingPlan | None = None
        self.class_weight = class_weight
        self.augmentation = augmentation
        self.strategy = strategy
        self.pooling = pooling
        self.statistics = statistics
        self.history_: History | None = None
        self.clip_head_: Any = None
        self.statistics_head_: StatisticsHead | None = None
        self.classes_: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return (
            f"Trainer(model={self.model.name!r}, epochs={self.epochs}, "
            f"batch_size={self.batch_size}, learning_rate={self.learning_rate}, seed={self.seed})"
        )

    def plan(self, train: FeatureSet) -> TrainingPlan:
        """The plan :meth:`fit` follows on ``train``: epochs, schedule and patience.

        Parameters
        ----------
        train : FeatureSet
            The training windows (only their number matters).

        Returns
        -------
        TrainingPlan
            From :func:`melgenre.plan_training` with this trainer's settings.
        """
        return plan_training(
            len(train),
            self.batch_size,
            epochs=self.epochs,
            learning_rate=self.learning_rate,
            schedule=self.schedule,
            target_updates=self.target_updates,
            patience=self.patience,
        )

    def compile(self, plan: TrainingPlan | None = None) -> None:
        """Compile the model with this trainer's optimizer, loss and metrics.

        Parameters
        ----------
        plan : TrainingPlan, optional
            Gives Adam the plan's learning-rate schedule; without it, the
            constant ``learning_rate``. A given ``optimizer`` is used as it is.
        """
        rate = plan.learning_rate_schedule() if plan is not None else self.learning_rate
        optimizer = (
            self.optimizer
            if self.optimizer is not None
            else keras.optimizers.Adam(learning_rate=rate)
        )
        self.model.compile(optimizer=optimizer, loss=self.loss, metrics=self.metrics)

    def fit(
        self,
        train: FeatureSet,
        validation: FeatureSet | None = None,
        *,
        resume: bool = False,
    ) -> History:
        """Train on ``train``, report metrics on ``validation`` after each epoch.

        Parameters
        ----------
        train, validation : FeatureSet
        resume : bool, default=False
            Continue the run recorded in ``run_dir/checkpoints`` from its last
            finished epoch: weights, optimizer state, early stopping's
            counters, the dropout and shuffling random streams and the history
            carry over, so with a seed the result equals an uninterrupted
            run's (on CPU). Without a checkpoint the run starts afresh. A run
            that had finished is restored (its final weights and history)
            without training.

        Returns
        -------
        History
            Also stored as ``self.history_`` and, with ``run_dir``, written to
            ``run_dir/training_hist.json``.

        Raises
        ------
        ConfigError
            The sets do not fit the model, ``resume`` without ``run_dir``, or
            the checkpoint is from a run on other data or settings.
        """
        check_fit(self.model, train, validation, resume=resume, run_dir=self.run_dir)
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        self.model = place_in_scope(self.model, self.strategy)
        plan = self.plan_ = self.plan(train)
        with self._scope():
            self.compile(plan)
            # build the optimizer's variables now so a checkpoint can be loaded into them
            self.model.optimizer.build(self.model.trainable_variables)
        weights = class_weights(self.class_weight, train)
        train_hash = files_hash(train)
        run = {
            "train_files_hash": train_hash,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "classes": list(train.classes),
        }
        params = run_params(self, train, validation, weights, train_hash, plan)
        watched, stopper, params["early_stopping"] = stopping(self, validation, plan.patience)
        logger.info("Training plan: %s.", plan.describe(early_stopping=stopper is not None))
        path = self.run_dir / HISTORY_FILE if self.run_dir is not None else None
        log = EpochLog(path, params)
        smoother = (
            SmoothedMetric(self.monitor, self.smoothing, log) if watched != self.monitor else None
        )
        initial_epoch, state, checkpointer = start_run(
            self.run_dir / CHECKPOINT_DIR if self.run_dir is not None else None,
            run,
            resume=resume,
            model=self.model,
            log=log,
            stopper=stopper,
            monitor=watched,
            scope=self._scope,
        )
        if state is not None and state["finished"]:
            self._fit_heads(train, validation, log)
            self.history_ = final_history(log, stopper, state, watched, path)
            return self.history_
        data = train.to_tf_dataset(
            self.batch_size,
            shuffle=True,
            seed=self.seed,
            augmentation=self.augmentation,
            initial_epoch=initial_epoch,
        )
        val_data = (
            validation.to_tf_dataset(self.batch_size, shuffle=False)
            if validation is not None
            else None
        )
        if self.strategy is not None:
            data, val_data = shard_by_data(data), shard_by_data(val_data)
        callbacks = [smoother, log, *self.callbacks, stopper, checkpointer]
        self.model.fit(
            data,
            validation_data=val_data,
            epochs=plan.epochs,
            initial_epoch=initial_epoch,
            callbacks=[c for c in callbacks if c is not None],
            verbose=self.verbose,
            shuffle=False,  # the FeatureSet's dataset shuffles, reproducibly for the seed
            class_weight=weights,
        )
        self._fit_heads(train, validation, log)
        self.history_ = final_history(log, stopper, None, watched, path)
        return self.history_

    def _fit_heads(self, train: FeatureSet, validation: FeatureSet | None, log: EpochLog) -> None:
        """The clip head (``pooling="attention"``) and the statistics head (``statistics``)."""
        self.clip_head_ = self.statistics_head_ = None
        self.classes_, self.preprocessing_ = tuple(train.classes), train.preprocessing
        if self.pooling == "attention":
            from melgenre.pooling import fit_clip_head

            self.clip_head_, summary = fit_clip_head(self.model, train, validation, seed=self.seed)
            log.run_params["clip_head"] = summary
        if self.statistics:
            self.statistics_head_, summary = fit_statistics_head(
                train, validation, self._file_probabilities, progress=self.verbose != 0
            )
            log.run_params["statistics_head"] = summary

    def _scope(self) -> Any:
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()
