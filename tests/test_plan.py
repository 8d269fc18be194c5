"""melgenre.plan: training sized by optimizer updates, with readable rules."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from melgenre import MelFeaturizer, TrainingPlan, plan_training
from melgenre.errors import ConfigError
from melgenre.plan import MAX_EPOCHS, MIN_EPOCHS, TARGET_UPDATES, clip_seconds


@pytest.mark.parametrize("n_windows", [1, 40, 420, 4_500, 100_000, 5_000_000])
def test_epochs_give_about_the_target_updates_within_bounds(n_windows: int) -> None:
    plan = plan_training(n_windows, 32)
    assert plan.steps_per_epoch == math.ceil(n_windows / 32)
    assert MIN_EPOCHS <= plan.epochs <= MAX_EPOCHS
    if MIN_EPOCHS < plan.epochs < MAX_EPOCHS:  # not clipped: just enough updates
        assert TARGET_UPDATES <= plan.updates < TARGET_UPDATES + plan.steps_per_epoch


def test_small_sets_get_more_epochs_and_big_sets_fewer() -> None:
    epochs = [plan_training(n, 32).epochs for n in (100, 1_000, 10_000, 100_000)]
    assert epochs == sorted(epochs, reverse=True)
    assert epochs[0] == MAX_EPOCHS
    assert epochs[-1] == MIN_EPOCHS


def test_a_fixed_epoch_count_is_kept() -> None:
    plan = plan_training(420, 32, epochs=7)
    assert plan.epochs == 7
    assert plan.rule == "fixed by the caller"


def test_warmup_patience_and_description() -> None:
    plan = plan_training(4_500, 32)  # 141 updates per epoch
    assert plan.epochs == 22
    assert plan.warmup_steps == round(0.05 * plan.updates)
    assert plan.patience == 6  # a quarter of 22, rounded up
    assert plan_training(4_500, 32, patience=3).patience == 3
    text = plan.describe(early_stopping=True)
    assert "22 epochs" in text
    assert "cosine" in text
    assert "patience 6" in text
    whole = plan.describe()  # the Trainer's default: the whole plan
    assert "patience" not in whole
    assert "no early stopping" in whole
    assert plan.to_dict()["updates"] == plan.updates
    assert isinstance(plan, TrainingPlan)
    short = plan_training(64, 32, epochs=10)  # 20 updates, 1 of warm-up
    assert short.warmup_steps == 1
    assert "warm-up 1 update then" in short.describe()


def test_the_schedule_warms_up_then_decays_to_zero() -> None:
    plan = plan_training(320, 32, epochs=20)  # 10 x 20 = 200 updates, 10 of warm-up
    schedule = plan.learning_rate_schedule()
    rates = [float(schedule(step)) for step in (0, 5, 10, 105, 199, 200)]
    assert rates[0] == pytest.approx(1e-4)
    assert rates[0] < rates[1] < rates[2] == pytest.approx(1e-3)
    assert rates[3] == pytest.approx(5e-4, rel=0.05)  # halfway down the cosine
    assert rates[4] < 1e-6
    assert rates[5] == pytest.approx(0.0, abs=1e-9)
    constant = plan_training(320, 32, epochs=20, schedule="constant")
    assert constant.warmup_steps == 0
    assert constant.learning_rate_schedule() == pytest.approx(1e-3)  # a plain float


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_windows": 0, "batch_size": 32}, "n_windows"),
        ({"n_windows": 10, "batch_size": 0}, "batch_size"),
        ({"n_windows": 10, "batch_size": 8, "warmup": 0.9}, "warmup"),
        ({"n_windows": 10, "batch_size": 8, "learning_rate": -1.0}, "learning_rate"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan_training(**kwargs)  # type: ignore[arg-type]


def test_clip_seconds_reads_headers_and_skips_unreadable_files(tmp_path: Path) -> None:
    paths = []
    for i, seconds in enumerate((1.0, 2.0, 3.0)):
        path = tmp_path / f"clip{i}.wav"
        sf.write(path, np.zeros(int(seconds * 8000), np.float32), 8000)
        paths.append(path)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    assert clip_seconds([*paths, broken]) == pytest.approx([1.0, 2.0, 3.0])
    assert len(clip_seconds(paths, limit=2)) == 2  # every other file


def test_windows_fit_the_clips() -> None:
    assert MelFeaturizer.for_clips([1.0, 1.1, 0.8]).frames == 48  # 44 frames, rounded up
    assert MelFeaturizer.for_clips([4.0] * 5).frames == 128  # capped
    assert MelFeaturizer.for_clips([0.05]).frames == 32  # at least 32
    assert MelFeaturizer.for_clips([]).frames == MelFeaturizer().frames
    short = MelFeaturizer.for_clips([1.0], sample_rate=16000, frames=64)
    assert short.frames == 64  # what the caller says wins
    assert short.sample_rate == 16000
