"""The bench data's grouped split and the training recipes compared on its validation split.

``recipe_search.py`` trains each recipe below and ranks them by validation accuracy;
``accuracy.py`` trains :data:`CHOSEN` and reports it on the test split. Keeping both on this
one table means the recipe reported is exactly the recipe that was chosen.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

# SpecAugment: two time and two frequency masks of up to 16 rows/frames, filled with the mean.
SPECAUGMENT = {"time_masks": 2, "max_time_mask": 16, "freq_masks": 2, "max_freq_mask": 16}
SPEC_MIXUP = {**SPECAUGMENT, "mixup_alpha": 0.3}
WIDE = {"filters": (32, 64, 128, 256), "dense_units": 256}
BATCH_SIZE = 32

#: name -> {"augmentation": Augmentation kwargs, "featurizer": MelFeaturizer kwargs,
#:          "model": GenreCNN kwargs, "schedule": None | "cosine", "learning_rate": float}
RECIPES: dict[str, dict[str, Any]] = {
    "none": {},
    "specaugment": {"augmentation": SPECAUGMENT},
    "mixup": {"augmentation": {"time_masks": 0, "freq_masks": 0, "mixup_alpha": 0.3}},
    "specaugment+mixup": {"augmentation": SPEC_MIXUP},
    # levers tried on top of specaugment+mixup
    "sm+overlap75": {"augmentation": SPEC_MIXUP, "featurizer": {"window_hop": 32}},
    "sm+context6s": {"augmentation": SPEC_MIXUP, "featurizer": {"hop_length": 1024}},
    "sm+cosine": {"augmentation": SPEC_MIXUP, "schedule": "cosine", "learning_rate": 1e-3},
    "sm+wide": {"augmentation": SPEC_MIXUP, "model": WIDE},
    "sm+wide+overlap75": {
        "augmentation": SPEC_MIXUP,
        "model": WIDE,
        "featurizer": {"window_hop": 32},
    },
}

#: The recipe with the best validation file accuracy in results/recipe_search.json
#: (68.8 %, against 65.6 % for specaugment+mixup, the choice before the levers were tried).
CHOSEN = "sm+wide"


def split(data_dir: Path) -> tuple[Any, Any, Any]:
    """Train / validation / test: 70/10/20 of the files, grouped by piece, stratified, seed 42."""
    import melgenre

    manifest = data_dir / "manifest.csv"
    groups = None
    if manifest.exists():
        with open(manifest) as handle:
            piece = {data_dir / row["path"]: row["group_id"] for row in csv.DictReader(handle)}
        groups = piece.__getitem__
    ds = melgenre.FolderDataset(data_dir)
    return ds.split(test_size=0.2, validation_size=0.1, seed=42, groups=groups)


def featurizer(name: str) -> Any:
    """The recipe's :class:`melgenre.MelFeaturizer`."""
    import melgenre

    return melgenre.MelFeaturizer(**RECIPES[name].get("featurizer", {}))


def trainer(name: str, n_classes: int, train: Any, *, epochs: int, patience: int, **kw: Any) -> Any:
    """A :class:`melgenre.Trainer` with a fresh ``GenreCNN`` for the recipe, seed 0.

    ``train`` is the training FeatureSet (its size sets the schedule's length).
    """
    import keras

    import melgenre

    recipe = RECIPES[name]
    shape = featurizer(name).output_shape
    model = melgenre.GenreCNN(n_classes, shape, seed=0, **recipe.get("model", {}))
    learning_rate = recipe.get("learning_rate", 3e-4)
    optimizer = None
    if recipe.get("schedule") == "cosine":
        steps = math.ceil(len(train) / BATCH_SIZE)
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=learning_rate / 10,
            decay_steps=epochs * steps,
            warmup_target=learning_rate,
            warmup_steps=3 * steps,
        )
        optimizer = keras.optimizers.Adam(learning_rate=schedule)
    augmentation = recipe.get("augmentation")
    return melgenre.Trainer(
        model,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        learning_rate=learning_rate,
        optimizer=optimizer,
        seed=0,
        patience=patience,
        augmentation=melgenre.Augmentation(**augmentation) if augmentation else None,
        **kw,
    )
