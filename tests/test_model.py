from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from melgenre import GenreCNN
from melgenre.errors import ConfigError

SHAPE = (32, 32, 1)


def test_default_model_shapes_and_config_round_trip() -> None:
    model = GenreCNN(num_classes=5, input_shape=SHAPE, filters=(4, 8), dense_units=8, seed=1)
    assert model.input_shape == (None, *SHAPE)
    assert model.output_shape == (None, 5)
    config = model.get_config()
    assert config["filters"] == [4, 8]
    assert config["input_shape"] == list(SHAPE)
    clone = GenreCNN.from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()
    # the same seed builds the same initial weights; another seed does not
    for a, b in zip(clone.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    other = GenreCNN(num_classes=5, input_shape=SHAPE, filters=(4, 8), dense_units=8, seed=2)
    assert not all(
        np.array_equal(a, b) for a, b in zip(other.get_weights(), model.get_weights(), strict=True)
    )


def test_probabilities_sum_to_one_and_ignore_input_scale() -> None:
    model = GenreCNN(
        num_classes=3, input_shape=SHAPE, filters=(4,), dense_units=0, dropout=0.0, seed=0
    )
    x = np.random.default_rng(0).uniform(-80, 0, size=(4, *SHAPE)).astype(np.float32)
    p = model.predict(x, verbose=0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    # windows are standardised inside the model: an affine change of the dB scale changes nothing
    np.testing.assert_allclose(model.predict(x * 0.5 + 30.0, verbose=0), p, atol=1e-4)


def test_each_input_channel_is_standardised_on_its_own() -> None:
    model = GenreCNN(num_classes=3, input_shape=(16, 16, 3), filters=(4,), seed=0)
    rng = np.random.default_rng(0)
    # log-mel-like dB values beside deltas and delta-deltas tens of times smaller
    scales = [(-40.0, 10.0), (0.0, 1.0), (0.0, 0.3)]
    x = np.stack([rng.normal(m, sd, (2, 16, 16)) for m, sd in scales], axis=-1).astype(np.float32)
    standardized = keras.Model(model.input, model.get_layer("standardize").output)
    out = np.asarray(standardized(x))
    np.testing.assert_allclose(out.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2)), 1.0, atol=1e-2)
    assert model.predict_on_batch(x).shape == (2, 3)


def test_save_and_load_with_safe_mode(tmp_path: Path) -> None:
    model = GenreCNN(num_classes=3, input_shape=SHAPE, filters=(4, 8), seed=0)
    x = np.random.default_rng(1).normal(size=(5, *SHAPE)).astype(np.float32)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is GenreCNN
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_a_fresh_program_loads_saved_models_once_melgenre_model_is_imported(
    tmp_path: Path,
) -> None:
    """The recipe docs/training.rst gives for checkpoints and a bundle's ``.keras`` files."""
    import subprocess
    import sys

    from melgenre.pooling import ClipHead

    GenreCNN(3, input_shape=SHAPE, filters=(4, 8), frequency_position=True, block="residual").save(
        tmp_path / "window.keras"
    )
    ClipHead(3, 8, seed=0).save(tmp_path / "clip_head.keras")
    code = (
        "import sys, keras, melgenre.model, melgenre.pooling\n"
        "for name in sys.argv[1:]:\n"
        "    print(type(keras.saving.load_model(name, safe_mode=True)).__name__)\n"
    )
    names = [str(tmp_path / "window.keras"), str(tmp_path / "clip_head.keras")]
    done = subprocess.run(
        [sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["GenreCNN", "ClipHead"]


@pytest.mark.parametrize(
    ("pooling", "layer", "size"),
    [
        ("mean", "global_pool", 8),  # channels
        ("time", "bands", 8 * 8),  # 32 bins / 2 / 2 = 8 bands x 8 channels
        ("mean-max", "mean_max", 2 * 8),  # mean and max over time of 8 channels
    ],
)
def test_pooling_options_shape_save_and_load(
    pooling: str, layer: str, size: int, tmp_path: Path
) -> None:
    model = GenreCNN(
        num_classes=3, input_shape=(32, 16, 1), filters=(4, 8), global_pooling=pooling, seed=0
    )
    assert model.get_layer(layer).output.shape == (None, size)
    assert model.get_config()["global_pooling"] == pooling
    x = np.random.default_rng(2).normal(size=(3, 32, 16, 1)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_a_config_from_before_global_pooling_and_block_means_the_old_network() -> None:
    model = GenreCNN(num_classes=3, input_shape=SHAPE, filters=(4,), global_pooling="mean")
    config = model.get_config()
    del config["global_pooling"], config["block"]  # as melgenre 0.1 and 0.2 saved it
    clone = GenreCNN.from_config(config)
    assert (clone.global_pooling, clone.block) == ("mean", "plain")
    assert clone.count_params() == model.count_params()


def test_residual_blocks_shape_shortcuts_save_and_load(tmp_path: Path) -> None:
    plain = GenreCNN(num_classes=3, input_shape=(32, 16, 1), filters=(4, 4, 8), seed=0)
    model = GenreCNN(
        num_classes=3, input_shape=(32, 16, 1), filters=(4, 4, 8), block="residual", seed=0
    )
    assert model.get_config()["block"] == "residual"
    assert model.output_shape == plain.output_shape == (None, 3)
    names = {layer.name for layer in model.layers}
    # a 1x1 shortcut where the width changes (1 -> 4, 4 -> 8), the identity where it does not
    assert {"conv0_shortcut", "conv2_shortcut", "residual0", "residual1", "residual2"} <= names
    assert "conv1_shortcut" not in names
    # two 3x3 convolutions per block: more weights than the plain network
    assert model.count_params() > plain.count_params()
    x = np.random.default_rng(2).normal(size=(3, 32, 16, 1)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def stripe_difference(model: GenreCNN, low: int, high: int) -> float:
    """How much the pooled embeddings of a 2-band stripe at band ``low`` and at ``high`` differ."""
    pooled = keras.Model(model.input, model.get_layer("dense").input)
    x = np.zeros((2, *model.window_shape), np.float32)
    x[0, low : low + 2] = 1.0
    x[1, high : high + 2] = 1.0
    out = np.asarray(pooled(x))
    return float(np.abs(out[0] - out[1]).sum() / np.abs(out).sum())


def test_time_pooling_keeps_where_a_feature_lies_in_frequency() -> None:
    # the same tone low and high in the spectrum: mean pooling sees the same
    # vector (only the borders differ); time pooling puts it in different bands
    embeddings = {}
    for pooling in ("mean", "time"):
        model = GenreCNN(
            num_classes=3, input_shape=(32, 16, 1), filters=(4, 8), global_pooling=pooling, seed=0
        )
        embeddings[pooling] = stripe_difference(model, 8, 20)
    assert embeddings["time"] > 5 * embeddings["mean"]


def test_frequency_position_appends_a_band_ramp(tmp_path: Path) -> None:
    from melgenre._position import FrequencyPosition

    x = np.random.default_rng(0).normal(size=(2, 5, 3, 2)).astype(np.float32)
    y = np.asarray(FrequencyPosition()(x))
    assert y.shape == (2, 5, 3, 3)
    np.testing.assert_array_equal(y[..., :2], x)  # the input's channels pass unchanged
    ramp = np.linspace(-1.0, 1.0, 5, dtype=np.float32)
    np.testing.assert_allclose(y[..., 2], np.broadcast_to(ramp[None, :, None], (2, 5, 3)))
    assert np.asarray(FrequencyPosition()(np.ones((1, 1, 4, 1), np.float32)))[..., 1].max() == 0

    model = GenreCNN(
        num_classes=3, input_shape=(32, 16, 1), filters=(4, 8), frequency_position=True, seed=0
    )
    plain = GenreCNN(num_classes=3, input_shape=(32, 16, 1), filters=(4, 8), seed=0)
    assert model.get_config()["frequency_position"] is True
    assert model.get_layer("frequency_position").output.shape == (None, 32, 16, 2)
    # one more input channel to the first convolution: 3 x 3 x 4 more weights
    assert model.count_params() == plain.count_params() + 3 * 3 * 4
    x = np.random.default_rng(2).normal(size=(3, 32, 16, 1)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    config = plain.get_config()
    del config["frequency_position"]  # as melgenre 0.2 saved it
    assert GenreCNN.from_config(config).frequency_position is False


def test_frequency_position_tells_registers_apart_under_mean_pooling() -> None:
    # the same stripe 8 bands apart (a multiple of the two poolings' stride, away from
    # the borders): the plain network is translation-equivariant, so its mean-pooled
    # embeddings are equal; with the position channel the network sees the register
    embeddings = {}
    for position in (False, True):
        model = GenreCNN(
            num_classes=3,
            input_shape=(32, 16, 1),
            filters=(4, 8),
            frequency_position=position,
            seed=0,
        )
        embeddings[position] = stripe_difference(model, 8, 16)
    assert embeddings[False] < 1e-5
    assert embeddings[True] > 0.01


@keras.saving.register_keras_serializable(package="melgenre_tests")
class WideCNN(GenreCNN):
    """A user subclass with another body and a parameter of its own."""

    def __init__(
        self, num_classes: int, input_shape: Any, *, kernel: int = 5, **kwargs: Any
    ) -> None:
        self.kernel = kernel
        super().__init__(num_classes, input_shape, **kwargs)

    def body(self, inputs: Any, *, filters: list[int], dense_units: int, dropout: float) -> Any:
        x = keras.layers.Conv2D(
            filters[0], self.kernel, activation="relu", kernel_initializer=self.initializer()
        )(inputs)
        return keras.layers.GlobalMaxPooling2D()(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kernel": self.kernel}


def test_a_user_subclass_with_another_body_saves_and_loads(tmp_path: Path) -> None:
    model = WideCNN(num_classes=4, input_shape=SHAPE, filters=(6,), kernel=7, seed=3)
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer",
        "Conv2D",
        "GlobalMaxPooling2D",
        "Dense",
    ]
    model.save(tmp_path / "wide.keras")
    loaded = keras.saving.load_model(tmp_path / "wide.keras", safe_mode=True)
    assert type(loaded) is WideCNN
    assert loaded.kernel == 7
    x = np.ones((2, *SHAPE), np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_classic_preset_layer_list() -> None:
    model = GenreCNN.classic(num_classes=10)
    layers = [
        (
            type(layer).__name__,
            getattr(layer, "filters", None)
            or getattr(layer, "units", None)
            or getattr(layer, "rate", None),
        )
        for layer in model.layers
    ]
    conv_blocks = []
    for width in (32, 64, 128, 256, 512):
        conv_blocks += [("Conv2D", width), ("Conv2D", width), ("MaxPooling2D", None)]
    assert layers == [
        ("InputLayer", None),
        *conv_blocks,
        ("Dropout", 0.3),
        ("Flatten", None),
        ("Dense", 1200),
        ("Dropout", 0.45),
        ("Dense", 10),
    ]
    assert model.input_shape == (None, 128, 128, 1)
    assert model.count_params() == 7_182_458  # 4.7M conv + 2048x1200 dense + 1200x10 output
    assert model.layers[1].padding == "same"
    assert model.layers[2].padding == "valid"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_classes": 1}, "'num_classes' parameter of GenreCNN must be at least 2"),
        ({"num_classes": 2.0}, "'num_classes'"),
        (
            {"input_shape": (128, 128)},
            r"'input_shape' parameter of GenreCNN must be 3 positive ints",
        ),
        ({"filters": (8, 0)}, "'filters'"),
        ({"dense_units": -1}, "'dense_units'"),
        (
            {"dropout": 1.0},
            r"'dropout' parameter of GenreCNN must be a float in the range \[0, 1\)",
        ),
        ({"first_stride": 0}, "'first_stride'"),
        (
            {"global_pooling": "max"},
            r"'global_pooling' parameter of GenreCNN must be one of 'mean'",
        ),
        ({"block": "dense"}, r"'block' parameter of GenreCNN must be one of 'plain'"),
        ({"frequency_position": 1}, r"'frequency_position' parameter of GenreCNN must be a bool"),
        ({"seed": "0"}, "'seed'"),
    ],
)
def test_bad_parameters(kwargs: dict[str, Any], message: str) -> None:
    params: dict[str, Any] = {"num_classes": 3, "input_shape": SHAPE} | kwargs
    with pytest.raises(ConfigError, match=message):
        GenreCNN(**params)


def test_windows_too_small_for_the_blocks_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"windows of 8 x 8 are too small for 4 blocks.*at least 16 bands") as caught:  # fmt: skip
        GenreCNN(num_classes=3, input_shape=(8, 8, 1))
    assert caught.value.parameter == "input_shape"
    with pytest.raises(ConfigError, match=r"30 x 64 are too small.*first stride of 2.*at least 31"):
        GenreCNN(num_classes=3, input_shape=(30, 64, 1), first_stride=2)
    assert GenreCNN(num_classes=3, input_shape=(31, 31, 1), first_stride=2).output_shape == (
        None,
        3,
    )
    assert GenreCNN(num_classes=3, input_shape=(16, 16, 1)).output_shape == (None, 3)
    with pytest.raises(ConfigError, match="too small for 6 blocks"):
        GenreCNN(num_classes=3, input_shape=(32, 32, 1), filters=(4,) * 6)
    # another body's layers (the classic's): Keras' reason, as a melgenre error
    # (Keras 3.13 and later refuse such a layer; Keras 3.12 builds it with an empty axis)
    with pytest.raises(ConfigError, match=r"GenreCNN.classic\(\): windows of 64 x 64 are too small for its layers \((Keras: Computed output size|layer '.*' gives shape)"):  # fmt: skip
        GenreCNN.classic(num_classes=3, input_shape=(64, 64, 1))


class EmptyBody(GenreCNN):
    """A body whose layers leave nothing of the window (as Keras 3.12 builds too-small ones)."""

    def body(self, inputs: Any, *, filters: list[int], dense_units: int, dropout: float) -> Any:
        x = keras.layers.Lambda(lambda t: t[:, :0], name="nothing")(inputs)
        return keras.layers.Flatten()(x)


def test_a_body_with_an_empty_axis_is_a_config_error_not_a_model() -> None:
    with pytest.raises(ConfigError, match=r"too small for its layers \(layer 'nothing' gives shape \(None, 0, 32, 1\)\)"):  # fmt: skip
        EmptyBody(num_classes=3, input_shape=SHAPE)


class PlainLayersBody(GenreCNN):
    """A user's body of Keras layers left at their default ``data_format``."""

    def body(self, inputs: Any, *, filters: list[int], dense_units: int, dropout: float) -> Any:
        x = keras.layers.Conv2D(4, 3, padding="same", kernel_initializer=self.initializer())(inputs)
        x = keras.layers.MaxPooling2D(2)(x)
        return keras.layers.GlobalAveragePooling2D()(x)


@pytest.mark.parametrize(
    "build",
    [
        lambda: GenreCNN(3, input_shape=SHAPE, filters=(4, 8), seed=0),
        lambda: GenreCNN(3, input_shape=SHAPE, filters=(4, 8), global_pooling="time", seed=0),
        lambda: GenreCNN(3, input_shape=SHAPE, filters=(4, 8), global_pooling="mean-max", seed=0),
        lambda: GenreCNN(3, input_shape=SHAPE, filters=(4, 8), block="residual", seed=0),
        lambda: GenreCNN.classic(3, seed=0),
        lambda: PlainLayersBody(3, input_shape=SHAPE, seed=0),
    ],
    ids=["mean", "time", "mean-max", "residual", "classic", "subclass"],
)
def test_a_channels_first_keras_configuration_builds_the_same_network(build: Any) -> None:
    """``"image_data_format": "channels_first"`` in keras.json must not reread the windows."""
    reference = build()
    x = np.random.default_rng(3).normal(size=(2, *reference.input_shape[1:])).astype(np.float32)
    keras.config.set_image_data_format("channels_first")
    try:
        model = build()
    finally:
        keras.config.set_image_data_format("channels_last")
    assert model.output_shape == reference.output_shape
    np.testing.assert_allclose(model.predict(x, verbose=0), reference.predict(x, verbose=0))
    assert keras.config.image_data_format() == "channels_last"  # put back as it was


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_probabilities_stay_float32_under_a_mixed_precision_policy(policy: str) -> None:
    """Keras' advice for mixed precision: the softmax outputs in float32."""
    from melgenre.pooling import ClipHead
    from melgenre.prediction import compile_forward

    keras.mixed_precision.set_global_policy(policy)
    try:
        model = GenreCNN(3, input_shape=SHAPE, filters=(4, 8), seed=0)
        head = ClipHead(3, 8, seed=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("conv0").compute_dtype != "float32"  # the policy holds elsewhere
    assert model.output.dtype == head.output.dtype == "float32"
    x = np.random.default_rng(4).normal(size=(2, *SHAPE)).astype(np.float32)
    probabilities = model.predict(x, verbose=0)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    # the Predictor's forward pass, with the embeddings a clip head reads (float16 ones)
    for embeddings, width in ((False, 3), (True, 3 + 128)):  # dense_units=128
        rows = compile_forward(model, SHAPE, embeddings=embeddings)(x).numpy()
        assert rows.dtype == np.float32
        assert rows.shape == (2, width)
        np.testing.assert_allclose(rows[:, :3], probabilities, atol=1e-3)
