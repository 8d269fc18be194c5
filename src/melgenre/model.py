"""The CNN: :class:`GenreCNN`, a Keras 3 model built from keyword arguments.

Importing this module imports Keras (and TensorFlow). ``melgenre.GenreCNN``
is loaded lazily, so ``import melgenre`` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from melgenre import _batchnorm, _position
from melgenre._tf import keras
from melgenre._validation import check_bool, check_choice, check_int, listed
from melgenre._window_size import check_blocks, checked_body
from melgenre.errors import ConfigError

__all__ = ["GenreCNN"]

#: The values of GenreCNN's ``global_pooling`` parameter.
GLOBAL_POOLINGS = ("mean", "time", "mean-max")

#: The values of GenreCNN's ``block`` parameter.
BLOCKS = ("plain", "residual")


class _SeedSequence:
    """Distinct, reproducible seeds for the layers of one model (``None`` when unseeded)."""

    def __init__(self, seed: int | None) -> None:
        self.seed = seed
        self.count = 0

    def next(self) -> int | None:
        if self.seed is None:
            return None
        self.count += 1
        return (self.seed * 1_000_003 + self.count) % (2**31 - 1)


def _positive_int(owner: str, name: str, value: Any) -> int:
    check_int(owner, name, value, low=1)
    return int(value)


@keras.saving.register_keras_serializable(package="melgenre")
class GenreCNN(keras.Model):
    """A compact convolutional classifier for spectrogram windows.

    The default body is ``len(filters)`` blocks of 3x3 convolution, batch
    normalisation, ReLU and 2x2 max-pooling (the first convolution with
    stride ``first_stride``; ``block="residual"`` makes each block a
    residual one), then global pooling (``global_pooling``), a dense layer and
    dropout before the softmax. Each input window is first standardised (zero
    mean, unit variance over the window, channel by channel), so the
    featurizer's dB scale needs no hand-tuned constants.

    The defaults were chosen by 5-fold grouped cross-validation on the
    development suite (``benchmarks/cv.py``; figures in the training guide):
    115k parameters, and the first convolution at stride 1, which scored
    +6.2 points of file-level accuracy over stride 2 on genres and +4.3 on
    instrument families (-0.7 on spoken digits, within the folds' noise),
    for about twice the computation.

    Parameters
    ----------
    num_classes : int >= 2
        Number of classes (softmax outputs).
    input_shape : tuple of 3 ints
        Shape of one window, e.g. ``MelFeaturizer().output_shape``.
    filters : sequence of int, default=(16, 32, 64, 128)
        Convolution filters per block; one block per entry.
    first_stride : int > 0, default=1
        Stride of the first convolution. 2 halves both axes before the first
        block, for about half the training time and two thirds of the
        prediction time, at a cost in accuracy (the default was 2 before
        0.2).
    global_pooling : {"mean", "time", "mean-max"}, default="mean"
        How the last block's feature maps become one vector. ``"mean"``
        averages over frequency and time. ``"time"`` averages over time only
        and keeps the frequency axis, so the dense layer sees *where* in the
        spectrum each feature lies (register, spectral envelope).
        ``"mean-max"`` averages over frequency, then joins the mean and the
        maximum over time (as in PANNs), so a short event can count as much
        as a sustained one.
    block : {"plain", "residual"}, default="plain"
        ``"plain"``: one convolution per block. ``"residual"``: two
        convolutions per block with a shortcut around them (identity, or a
        1x1 convolution where the width or stride changes), added before the
        ReLU, as in ResNet's basic block; about 3.7x the computation at the
        default widths (halve ``filters`` to keep it).
    frequency_position : bool, default=False
        Append a channel holding each band's position (-1 at the lowest band
        to 1 at the highest) to the standardised input, so the convolutions
        can tell registers apart under the mean pooling (CoordConv; the
        frequency-aware CNNs of acoustic scene classification). Off by
        default: on instrument families with unseen programs it scored
        45.6 % against 48.4 % (5-fold cross-validation).
    dense_units : int >= 0, default=128
        Units of the dense layer after pooling; 0 leaves it out.
    dropout : float in [0, 1), default=0.3
        Dropout rate before the softmax (and after the dense layer).
    seed : int or None, default=None
        Seeds the weight initializers and dropout: the same seed builds the
        same initial model.
    name : str, default="genre_cnn"
        The Keras model name.
    **kwargs
        Passed to :class:`keras.Model` (e.g. ``trainable``).

    Notes
    -----
    A subclass changes the network by overriding :meth:`body` (inputs in,
    features out); it must be decorated with
    ``@keras.saving.register_keras_serializable(package=...)`` and, when it
    adds parameters, extend :meth:`get_config`.

    Examples
    --------
    >>> from melgenre import GenreCNN
    >>> model = GenreCNN(num_classes=4, input_shape=(64, 64, 1), filters=(8, 16))
    >>> model.output_shape
    (None, 4)
    >>> GenreCNN.from_config(model.get_config()).count_params() == model.count_params()
    True
    """

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        *,
        filters: Sequence[int] = (16, 32, 64, 128),
        first_stride: int = 1,
        global_pooling: str = "mean",
        block: str = "plain",
        frequency_position: bool = False,
        dense_units: int = 128,
        dropout: float = 0.3,
        seed: int | None = None,
        name: str = "genre_cnn",
        **kwargs: Any,
    ) -> None:
        owner = getattr(type(self), "_OWNER", type(self).__name__)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(
                f"The 'seed' parameter of {owner} must be an int or None. Got {seed!r} instead.",
                parameter="seed",
                value=seed,
            )
        self._seeds = _SeedSequence(seed)
        if _positive_int(owner, "num_classes", num_classes) < 2:
            raise ConfigError(
                f"The 'num_classes' parameter of {owner} must be at least 2. Got {num_classes!r}.",
                parameter="num_classes",
                value=num_classes,
            )
        shape = tuple(input_shape) if isinstance(input_shape, (list, tuple)) else None
        if shape is None or len(shape) != 3 or not all(isinstance(d, int) and d > 0 for d in shape):
            raise ConfigError(
                f"The 'input_shape' parameter of {owner} must be 3 positive ints "
                f"(bins, frames, channels), e.g. MelFeaturizer().output_shape. "
                f"Got {input_shape!r} instead.",
                parameter="input_shape",
                value=input_shape,
            )
        filters = [_positive_int(owner, "filters", f) for f in listed(owner, "filters", filters)]
        first_stride = _positive_int(owner, "first_stride", first_stride)
        check_choice(owner, "global_pooling", global_pooling, GLOBAL_POOLINGS)
        check_choice(owner, "block", block, BLOCKS)
        check_bool(owner, "frequency_position", frequency_position)
        check_int(owner, "dense_units", dense_units, low=0)
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, (int, float))
            or not 0 <= dropout < 1
        ):
            raise ConfigError(
                f"The 'dropout' parameter of {owner} must be a float in the range [0, 1). "
                f"Got {dropout!r} instead.",
                parameter="dropout",
                value=dropout,
            )
        inputs = keras.Input(shape=shape, name="windows")
        self.first_stride = first_stride
        self.global_pooling = global_pooling
        self.block = block
        self.frequency_position = frequency_position
        features = checked_body(
            owner,
            inputs,
            lambda: self.body(
                inputs, filters=filters, dense_units=dense_units, dropout=float(dropout)
            ),
        )
        outputs = keras.layers.Dense(
            num_classes,
            activation="softmax",
            kernel_initializer=self.initializer(),
            dtype="float32",  # under a mixed-precision policy too, as Keras advises
            name="probabilities",
        )(features)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.num_classes = num_classes
        self.window_shape = shape
        self.filters = filters
        self.dense_units = dense_units
        self.dropout = float(dropout)
        self.seed = seed

    def initializer(self, kind: str = "glorot_uniform") -> keras.initializers.Initializer:
        """A weight initializer, seeded from the model's ``seed`` (a new seed per call).

        Use it for every layer with weights in :meth:`body`, so that a model
        built with the same ``seed`` starts from the same weights.
        """
        return keras.initializers.get({"class_name": kind, "config": {"seed": self._seeds.next()}})

    def next_seed(self) -> int | None:
        """A new seed derived from the model's ``seed`` (``None`` when it has none).

        Give one to every layer with randomness in :meth:`body`, e.g.
        ``keras.layers.Dropout(0.3, seed=self.next_seed())``.
        """
        return self._seeds.next()

    def body(self, inputs: Any, *, filters: list[int], dense_units: int, dropout: float) -> Any:
        """Map the input windows to a feature vector (before the softmax layer).

        Override this to use another network; the arguments are this model's
        parameters.
        """
        # each channel of each window on its own (log-mel and its deltas differ in scale)
        x = keras.layers.LayerNormalization(
            axis=(1, 2), center=False, scale=False, name="standardize"
        )(inputs)
        if self.frequency_position:
            x = _position.FrequencyPosition(name="frequency_position")(x)
        check_blocks(type(self).__name__, tuple(inputs.shape[1:3]), filters, self.first_stride)
        for i, width in enumerate(filters):
            stride = self.first_stride if i == 0 else 1
            if self.block == "residual":
                x = self.residual_block(x, width, stride, name=str(i))
            else:
                x = self.conv_bn(x, width, 3, stride, name=str(i))
                x = keras.layers.Activation("relu", name=f"relu{i}")(x)
            x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
        x = self.pool(x)
        if dense_units:
            x = keras.layers.Dropout(dropout, seed=self.next_seed(), name="dropout_dense")(x)
            x = keras.layers.Dense(
                dense_units,
                activation="relu",
                kernel_initializer=self.initializer("he_normal"),
                name="dense",
            )(x)
        return keras.layers.Dropout(dropout, seed=self.next_seed(), name="dropout")(x)

    def conv_bn(self, x: Any, width: int, size: int, stride: int, *, name: str) -> Any:
        """A convolution without bias, then batch normalisation (``conv<name>``, ``bn<name>``)."""
        x = keras.layers.Conv2D(
            width,
            size,
            strides=stride,
            padding="same",
            use_bias=False,
            kernel_initializer=self.initializer("he_normal"),
            name=f"conv{name}",
        )(x)
        # momentum 0.9: moving statistics settle within a few hundred steps. Keras' own
        # layer, trained with TensorFlow's fused kernel (about 3x faster on a CPU)
        return _batchnorm.BatchNormalization(momentum=0.9, name=f"bn{name}")(x)

    def residual_block(self, x: Any, width: int, stride: int, *, name: str) -> Any:
        """ResNet's basic block: two 3x3 convolutions plus a shortcut, then ReLU."""
        shortcut = x
        if stride != 1 or int(x.shape[-1]) != width:
            shortcut = self.conv_bn(x, width, 1, stride, name=f"{name}_shortcut")
        x = self.conv_bn(x, width, 3, stride, name=f"{name}a")
        x = keras.layers.Activation("relu", name=f"relu{name}a")(x)
        x = self.conv_bn(x, width, 3, 1, name=f"{name}b")
        x = keras.layers.Add(name=f"residual{name}")([x, shortcut])
        return keras.layers.Activation("relu", name=f"relu{name}")(x)

    def pool(self, x: Any) -> Any:
        """Feature maps ``(batch, bins, frames, channels)`` to one vector per window.

        As the ``global_pooling`` parameter says; built from stock Keras layers, so
        the model saves and exports without custom code.
        """
        bins, frames = int(x.shape[1]), int(x.shape[2])
        if self.global_pooling == "time":
            x = keras.layers.AveragePooling2D((1, frames), name="time_pool")(x)
            return keras.layers.Flatten(name="bands")(x)
        if self.global_pooling == "mean-max":
            x = keras.layers.AveragePooling2D((bins, 1), name="frequency_pool")(x)
            x = keras.layers.Reshape((frames, int(x.shape[-1])), name="frames")(x)
            return keras.layers.Concatenate(name="mean_max")(
                [
                    keras.layers.GlobalAveragePooling1D(name="time_mean")(x),
                    keras.layers.GlobalMaxPooling1D(name="time_max")(x),
                ]
            )
        return keras.layers.GlobalAveragePooling2D(name="global_pool")(x)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-safe); ``from_config`` rebuilds the model."""
        return {
            "num_classes": self.num_classes,
            "input_shape": list(self.window_shape),
            "filters": list(self.filters),
            "first_stride": self.first_stride,
            "global_pooling": self.global_pooling,
            "block": self.block,
            "frequency_position": self.frequency_position,
            "dense_units": self.dense_units,
            "dropout": self.dropout,
            "seed": self.seed,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> GenreCNN:
        """Rebuild a model from :meth:`get_config` (weights are not included).

        A config without ``global_pooling`` or ``block`` (an earlier melgenre's): mean, plain.
        """
        return cls(**{"global_pooling": "mean", "block": "plain", **config})

    @classmethod
    def classic(
        cls,
        num_classes: int,
        input_shape: Sequence[int] = (128, 128, 1),
        *,
        seed: int | None = None,
    ) -> GenreCNN:
        """The classic genre-classification notebook's network, for comparison.

        Conv2D pairs (32, 64, 128, 256, 512 filters; the first of each pair
        "same"-padded, the second "valid"), each followed by 2x2
        max-pooling; Dropout 0.3; Flatten; Dense 1200 (ReLU); Dropout 0.45;
        softmax. No normalisation: it sees the dB values as they are. Train it
        as the notebook did, with ``Trainer(learning_rate=1e-4)``.
        """
        return _classic._ClassicCNN(num_classes, input_shape, seed=seed)


# the classic network lives in its own module; importing it registers it with Keras
from melgenre import _classic  # noqa: E402
