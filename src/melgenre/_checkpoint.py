"""Checkpoints of a training run, written after every epoch, and what resuming needs.

A run directory's ``checkpoints/`` folder holds at most two ``epoch-NNNN.keras``
files (the latest epoch and the best one by the monitored metric; Keras'
format, optimizer state included) and ``checkpoint.json``, the commit record
naming them. Every file is written to a temporary sibling, flushed and renamed
into place, and ``checkpoint.json`` is replaced only after the model file it
names is complete, so a crash at any moment leaves the previous consistent
checkpoint (the pattern of ``tf.train.CheckpointManager``).

``checkpoint.json`` also carries what the ``.keras`` file does not: the epoch,
the history so far, early stopping's counters, and the state of the model's
random seed generators (dropout), so a resumed run continues exactly where the
interrupted one was.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from melgenre._files import atomic_target, atomic_write
from melgenre._tf import keras
from melgenre.errors import ConfigError, MelgenreError
from melgenre.history import lower_is_better

__all__ = [
    "CHECKPOINT_DIR",
    "STATE_FILE",
    "Checkpointer",
    "ResumableEarlyStopping",
    "clear_checkpoints",
    "read_state",
    "restore",
    "resume_state",
    "start_run",
]

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "checkpoint.json"
_FORMAT = "melgenre.checkpoint"
_VERSION = 1


def _seed_variables(model: keras.Model) -> list[Any]:
    """The model's random-seed state variables (dropout), which ``.keras`` files leave out."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def seed_states(model: keras.Model) -> list[list[int]]:
    return [np.asarray(v.numpy()).tolist() for v in _seed_variables(model)]


def restore_seed_states(model: keras.Model, states: list[list[int]]) -> None:
    variables = _seed_variables(model)
    if len(variables) != len(states):
        raise MelgenreError(
            f"The checkpoint holds {len(states)} random-seed states but the model has "
            f"{len(variables)}; it was written for another model."
        )
    for variable, state in zip(variables, states, strict=True):
        variable.assign(np.asarray(state, dtype=variable.dtype))


def read_state(directory: Path) -> dict[str, Any] | None:
    """The commit record in ``directory``, or ``None`` when there is none."""
    path = directory / STATE_FILE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MelgenreError(f"Cannot read the checkpoint record {str(path)!r}: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise MelgenreError(f"{str(path)!r} is not a melgenre checkpoint record.")
    if state.get("version") != _VERSION:
        raise MelgenreError(
            f"{str(path)!r} has checkpoint format version {state.get('version')!r}; this "
            f"melgenre reads version {_VERSION}."
        )
    for key in ("latest", "best"):
        name = state.get(key)
        if name is not None and not (directory / name).is_file():
            raise MelgenreError(
                f"The checkpoint record {str(path)!r} names {name!r}, which is missing."
            )
    return state


class Checkpointer(keras.callbacks.Callback):
    """Keras callback: after each epoch, save the latest and best checkpoints and the record.

    ``history`` returns the run's history so far (a ``_EpochLog``'s
    ``history().to_dict()``); ``stopper`` is the run's early stopping, whose
    counters are recorded; ``run`` identifies the run (data, batch size,
    seed) so a resume on other data can be refused.
    """

    def __init__(
        self,
        directory: Path,
        *,
        monitor: str,
        run: dict[str, Any],
        history: Any,
        stopper: keras.callbacks.EarlyStopping | None = None,
        resumed: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.directory = directory
        self.monitor = monitor
        self.run = run
        self.history = history
        self.stopper = stopper
        self.best_file: str | None = None
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        if resumed is not None:
            self.best_file = resumed.get("best")
            self.best_epoch = resumed.get("best_epoch")
            self.best_value = resumed.get("best_value")
        self.latest_file: str | None = resumed.get("latest") if resumed else None
        self.epochs_done: int = int(resumed["epoch"]) if resumed else 0

    def _improved(self, epoch: int, logs: dict[str, Any]) -> bool:
        if self.stopper is not None and self.stopper.monitor == self.monitor:
            return self.stopper.best_epoch == epoch and self.stopper.best is not None
        value = logs.get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return False
        if self.best_value is None:
            return True
        if lower_is_better(self.monitor):
            return float(value) < self.best_value
        return float(value) > self.best_value

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        name = f"epoch-{epoch + 1:04d}.keras"
        with atomic_target(self.directory / name, suffix=".keras", fsync=True) as tmp:
            self.model.save(tmp)
        self.latest_file = name
        if self._improved(epoch, logs):
            self.best_file, self.best_epoch = name, epoch + 1
            self.best_value = float(logs[self.monitor])
        self._write(epoch + 1, finished=False)
        keep = {self.latest_file, self.best_file}
        for old in self.directory.glob("epoch-*.keras"):
            if old.name not in keep:
                old.unlink(missing_ok=True)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.latest_file is not None:
            self._write(self.epochs_done, finished=True)

    def _write(self, epoch: int, *, finished: bool) -> None:
        self.epochs_done = epoch
        history = self.history()
        stopper = self.stopper
        state = {
            "format": _FORMAT,
            "version": _VERSION,
            "epoch": epoch,
            "finished": finished,
            "latest": self.latest_file,
            "best": self.best_file,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "monitor": self.monitor,
            "early_stopping": (
                {
                    "wait": int(stopper.wait),
                    "best": None if stopper.best is None else float(stopper.best),
                    "best_epoch": int(stopper.best_epoch),
                    "stopped_epoch": int(stopper.stopped_epoch),
                }
                if stopper is not None
                else None
            ),
            "seed_states": seed_states(self.model),
            "run": self.run,
            "history": history,
        }
        atomic_write(self.directory / STATE_FILE, json.dumps(state, indent=1) + "\n", fsync=True)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' early stopping, whose counters can be carried over from a checkpoint.

    ``EarlyStopping.on_train_begin`` resets them; this one resets them and then
    restores the given ones (with the best epoch's weights).

    A tie with the best value counts as an improvement: on a plateau (validation
    accuracy held at 100 % on a small validation set) the later, more trained
    epoch is kept and patience starts again, where Keras would keep the first.
    """

    def _is_improvement(self, monitor_value: Any, reference_value: Any) -> bool:
        if reference_value is None:
            return True
        if self.min_delta == 0 and monitor_value == reference_value:
            return True
        return bool(super()._is_improvement(monitor_value, reference_value))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.carried: dict[str, Any] | None = None
        self.carried_weights: list[Any] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        if self.carried is not None:
            self.wait = int(self.carried["wait"])
            self.best = self.carried["best"]
            self.best_epoch = int(self.carried["best_epoch"])
            self.best_weights = self.carried_weights


def resume_state(checkpoints: Path, run: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint state to resume from (``None``: no checkpoint, start afresh).

    Raises
    ------
    ConfigError
        The checkpoint is damaged, or its run had other data or settings than ``run``.
    """
    try:
        state = read_state(checkpoints)
    except MelgenreError as exc:
        raise ConfigError(f"Cannot resume: {exc}", parameter="resume") from exc
    if state is None:
        logger.info("No checkpoint in %s: starting a new run.", checkpoints)
        return None
    differ = sorted(k for k in run if state["run"].get(k) != run[k])
    if differ:
        raise ConfigError(
            f"Cannot resume the run in {str(checkpoints)!r}: it was trained with other "
            f"{', '.join(differ)} (the training files, batch size, seed and classes "
            "must be the same). Use another run_dir, or fit(resume=False) to start over.",
            parameter="resume",
        )
    return state


def restore(
    model: keras.Model,
    checkpoints: Path,
    state: dict[str, Any],
    log: Any,
    stopper: ResumableEarlyStopping | None,
) -> int:
    """Load the checkpoint's weights, counters and history; return the finished epochs.

    ``log`` is the run's :class:`melgenre._fitting.EpochLog`; call this inside the
    distribution strategy's scope, if any.
    """
    if stopper is not None and state.get("early_stopping") and state["best"]:
        model.load_weights(checkpoints / state["best"])
        stopper.carried = state["early_stopping"]
        stopper.carried_weights = model.get_weights()
    final = state["best"] if state["finished"] and stopper is not None else None
    model.load_weights(checkpoints / (final or state["latest"]))
    restore_seed_states(model, state["seed_states"])
    history = state["history"]
    log.metrics = {k: list(v) for k, v in history["metrics"].items()}
    log.seconds = list(history["params"].get("epoch_seconds", []))
    if stopper is not None and stopper.carried is not None and state["finished"]:
        stopper.best_weights = stopper.carried_weights
        stopper.best = stopper.carried["best"]
        stopper.best_epoch = stopper.carried["best_epoch"]
    return int(state["epoch"])


def clear_checkpoints(checkpoints: Path) -> None:
    """Remove an earlier run's checkpoint files before a new run writes its own."""
    for old in [*checkpoints.glob("epoch-*.keras"), checkpoints / STATE_FILE]:
        old.unlink(missing_ok=True)


def start_run(
    checkpoints: Path | None,
    run: dict[str, Any],
    *,
    resume: bool,
    model: keras.Model,
    log: Any,
    stopper: ResumableEarlyStopping | None,
    monitor: str,
    scope: Any,
) -> tuple[int, dict[str, Any] | None, Checkpointer | None]:
    """Resume the run in ``checkpoints`` or start a new one there.

    Returns ``(initial_epoch, state, checkpointer)``: the epochs already
    finished, the checkpoint state resumed from (``None`` for a new run; its
    ``"finished"`` says the run had ended and its final weights are loaded)
    and the callback that writes this run's checkpoints (``None`` without
    ``checkpoints``). ``scope`` returns the distribution strategy's scope.
    """
    if checkpoints is None:
        return 0, None, None
    state = resume_state(checkpoints, run) if resume else None
    initial_epoch = 0
    if state is not None:
        with scope():
            initial_epoch = restore(model, checkpoints, state, log, stopper)
        if state["finished"]:
            logger.info("The run in %s had finished; restored its final weights.", checkpoints)
        else:
            logger.info("Resuming the run in %s after epoch %d.", checkpoints, initial_epoch)
    else:
        clear_checkpoints(checkpoints)
    checkpointer = Checkpointer(
        checkpoints,
        monitor=monitor,
        run=run,
        history=lambda: log.history().to_dict(),
        stopper=stopper,
        resumed=state,
    )
    return initial_epoch, state, checkpointer
