"""How long and how fast to train, decided from the data by rules a user can read.

A fixed epoch count is wrong at both ends: 30 epochs of 420 windows are about 400
optimizer updates, far too few to fit anything, while 30 epochs of a million windows
over-train and waste hours. :func:`plan_training` sizes training by *updates*
instead, and :class:`Trainer` follows the plan by default:

* epochs = ``target_updates / steps_per_epoch``, rounded up and kept within
  ``[min_epochs, max_epochs]``: a small set gets many passes, a big one few;
* the learning rate warms up linearly from a tenth of its peak over the first
  ``warmup`` of the updates, then decays to zero along a cosine (the schedule of
  most current audio and vision recipes: stable early steps, a settled end);
* early stopping watches the validation loss smoothed over epochs (an exponential
  moving average, so one noisy epoch neither stops nor rescues a run) with a
  patience of a quarter of the epochs, and keeps the best epoch's weights.

The window length follows the recordings too: :func:`clip_seconds` reads the
durations of (a sample of) the files from their headers and
:meth:`MelFeaturizer.for_clips <melgenre.MelFeaturizer.for_clips>` fits the
window to the median one.

The plan is recorded in ``training_hist.json`` (``params["plan"]``), in the model
bundle, and printed by ``melgenre train``.

Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from melgenre._typing import PathLike
from melgenre._validation import check_choice, check_int, check_real, counted

__all__ = ["TrainingPlan", "clip_seconds", "plan_training"]

#: Optimizer updates a plan aims for (chosen by cross-validation, benchmarks/cv.py).
TARGET_UPDATES = 3000
#: Bounds on the planned epochs.
MIN_EPOCHS, MAX_EPOCHS = 10, 200
#: Fraction of the updates spent warming the learning rate up.
WARMUP = 0.05
#: Early-stopping patience as a fraction of the planned epochs (at least MIN_PATIENCE).
PATIENCE_FRACTION, MIN_PATIENCE = 0.25, 5


@dataclasses.dataclass(frozen=True)
class TrainingPlan:
    """The length, learning-rate schedule and early stopping of one training run.

    Attributes
    ----------
    epochs : int
        Passes over the training windows.
    steps_per_epoch : int
        Optimizer updates per epoch (``ceil(windows / batch_size)``).
    learning_rate : float
        The peak learning rate, reached after the warm-up.
    warmup_steps : int
        Updates of linear warm-up from ``learning_rate / 10``.
    schedule : {"cosine", "constant"}
        Warm-up then cosine decay to zero over the remaining updates, or a constant rate
        (no warm-up: the behaviour of melgenre 0.1).
    patience : int
        Epochs without improvement of the smoothed validation loss before stopping.
    rule : str
        The rule that gave ``epochs``, in words.
    """

    epochs: int
    steps_per_epoch: int
    learning_rate: float
    warmup_steps: int
    schedule: str
    patience: int
    rule: str

    @property
    def updates(self) -> int:
        """Optimizer updates over the whole run: ``epochs * steps_per_epoch``."""
        return self.epochs * self.steps_per_epoch

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-safe values (``updates`` included)."""
        return {**dataclasses.asdict(self), "updates": self.updates}

    def describe(self, *, early_stopping: bool = False) -> str:
        """One line for people: what the run will do and why.

        Parameters
        ----------
        early_stopping : bool, default=False
            Whether the run stops early (the line gives the patience) or runs
            the whole plan, as :class:`~melgenre.Trainer` does by default.
        """
        schedule = (
            f"warm-up {counted(self.warmup_steps, 'update')} then cosine decay"
            if self.schedule == "cosine"
            else "constant"
        )
        stopping = (
            f"early-stopping patience {counted(self.patience, 'epoch')}"
            if early_stopping
            else "no early stopping (the whole plan runs)"
        )
        return (
            f"{counted(self.epochs, 'epoch')} x {counted(self.steps_per_epoch, 'update')} = "
            f"{counted(self.updates, 'update')} "
            f"({self.rule}); learning rate {self.learning_rate:g}, {schedule}; {stopping}"
        )

    def learning_rate_schedule(self) -> Any:
        """The Keras learning rate: a float (``"constant"``) or the warm-up + cosine schedule."""
        if self.schedule == "constant":
            return self.learning_rate
        from melgenre._tf import keras

        warm = self.warmup_steps > 0
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=self.learning_rate / 10 if warm else self.learning_rate,
            decay_steps=max(1, self.updates - self.warmup_steps),
            warmup_target=self.learning_rate if warm else None,
            warmup_steps=self.warmup_steps,
        )


def plan_training(
    n_windows: int,
    batch_size: int,
    *,
    epochs: int | None = None,
    learning_rate: float = 1e-3,
    schedule: str = "cosine",
    target_updates: int = TARGET_UPDATES,
    warmup: float = WARMUP,
    patience: int | None = None,
) -> TrainingPlan:
    """Plan a run over ``n_windows`` training windows in batches of ``batch_size``.

    Parameters
    ----------
    n_windows, batch_size : int > 0
    epochs : int > 0, optional
        A fixed epoch count; default: from ``target_updates`` (see the module notes).
    learning_rate : float > 0, default=1e-3
        Peak learning rate.
    schedule : {"cosine", "constant"}, default="cosine"
        Warm-up then cosine decay, or a constant ``learning_rate``.
    target_updates : int > 0, default=3000
    warmup : float in [0, 0.5], default=0.05
        Fraction of the updates spent warming up (with ``schedule="cosine"``).
    patience : int >= 0, optional
        Default: a quarter of the epochs, at least 5.

    Returns
    -------
    TrainingPlan

    Examples
    --------
    >>> plan_training(480, 32).epochs  # 15 updates per epoch: 200 epochs would be 3000
    200
    >>> plan_training(100_000, 32).epochs  # 3125 updates per epoch
    10
    """
    check_int("plan_training", "n_windows", n_windows, low=1)
    check_int("plan_training", "batch_size", batch_size, low=1)
    check_int("plan_training", "epochs", epochs, low=1, allow_none=True)
    check_real("plan_training", "learning_rate", learning_rate, low=0.0, closed_low=False)
    check_int("plan_training", "target_updates", target_updates, low=1)
    check_real("plan_training", "warmup", warmup, low=0.0, high=0.5)
    check_int("plan_training", "patience", patience, low=0, allow_none=True)
    check_choice("plan_training", "schedule", schedule, ("cosine", "constant"))
    steps = math.ceil(n_windows / batch_size)
    if epochs is not None:
        rule = "fixed by the caller"
    else:
        wanted = math.ceil(target_updates / steps)
        epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, wanted))
        rule = f"about {target_updates} updates, within {MIN_EPOCHS}..{MAX_EPOCHS} epochs"
    if patience is None:
        patience = max(MIN_PATIENCE, math.ceil(PATIENCE_FRACTION * epochs))
    return TrainingPlan(
        epochs=epochs,
        steps_per_epoch=steps,
        learning_rate=float(learning_rate),
        warmup_steps=round(warmup * epochs * steps) if schedule == "cosine" else 0,
        schedule=schedule,
        patience=patience,
        rule=rule,
    )


def clip_seconds(paths: Sequence[PathLike], *, limit: int = 256) -> list[float]:
    """Durations in seconds of up to ``limit`` of ``paths``, evenly spread, from file headers.

    Files whose header cannot be read are left out (extraction reports them).
    """
    import soundfile as sf

    from melgenre._stderr import decoder_notes

    check_int("clip_seconds", "limit", limit, low=1)
    chosen = list(paths)[:: max(1, math.ceil(len(paths) / limit))]
    seconds = []
    for path in chosen:
        try:
            with decoder_notes():  # a damaged MP3's notes: extraction reports the file
                seconds.append(float(sf.info(str(path)).duration))
        except Exception:
            continue
    return seconds
