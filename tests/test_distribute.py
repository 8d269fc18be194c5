"""Training under a tf.distribute strategy (issue 8, item 5).

TensorFlow's devices are fixed when it initialises, so the two logical CPU
devices are configured in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from melgenre.errors import MelgenreTypeError

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    from melgenre import FeatureSet, GenreCNN, Trainer

    def stripes(n, seed):
        # class a: stripes along time, b: along frequency, c: plain noise (local textures)
        rng = np.random.default_rng(seed)
        labels = np.arange(n) % 3
        x = rng.normal(size=(n, 16, 16, 1)).astype("float32")
        x[labels == 0, ::2] += 2.0
        x[labels == 1, :, ::2] += 2.0
        files = np.arange(n)
        return FeatureSet(x, labels, files, tuple(f"f{i}.wav" for i in files), ("a", "b", "c"))

    train, test = stripes(192, 0), stripes(30, 1)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    model = GenreCNN(num_classes=3, input_shape=(16, 16, 1), filters=(8,), dense_units=16, dropout=0.0,
                     first_stride=1, seed=0)  # built outside the scope: the trainer rebuilds it
    trainer = Trainer(model, epochs=10, batch_size=16, learning_rate=1e-2, seed=0, verbose=0,
                      strategy=strategy)
    history = trainer.fit(train)
    report = trainer.evaluate(test)
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "history_replicas": history.params["replicas"],
        "strategy": history.params["strategy"],
        "in_scope": trainer.model.distribute_strategy is strategy,
        "mirrored": type(trainer.model.trainable_variables[0].value).__name__,
        "accuracy": report.window_accuracy,
        "rebuilt": trainer.model is not model,
    }))
    """
)


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus() -> None:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["history_replicas"] == 2
    assert result["strategy"] == "MirroredStrategy"
    assert result["in_scope"]
    assert result["rebuilt"]
    assert result["mirrored"] == "MirroredVariable"
    assert result["accuracy"] >= 0.9


def test_strategy_must_be_a_tf_distribute_strategy() -> None:
    from melgenre import GenreCNN, Trainer

    model = GenreCNN(num_classes=2, input_shape=(16, 16, 1), filters=(4,))
    with pytest.raises(MelgenreTypeError, match=r"tf\.distribute\.Strategy"):
        Trainer(model, strategy="mirrored")
