"""The PCEN probe's layer (``benchmarks/_probes.WindowPCEN``) computes what ``librosa.pcen`` does."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.signal

from benchmark_modules import benchmark_module


def _db_windows() -> np.ndarray:
    """Two windows of 128 bands x 96 frames in dB below their peak, clipped at -80."""
    rng = np.random.default_rng(0)
    power = rng.random((2, 128, 96)) ** 4
    power[:, :, 40:] *= 30.0  # a step up in level: the gain control's job
    db = 10 * np.log10(power / power.max(axis=(1, 2), keepdims=True) + 1e-12)
    return np.maximum(db, -80.0).astype(np.float32)


@pytest.mark.parametrize("keep_decibels", [True, False])
def test_window_pcen_is_librosas_pcen_from_the_steady_state(keep_decibels: bool) -> None:
    db = _db_windows()
    x = np.stack([db, np.zeros_like(db)], axis=-1)  # a second channel, passed through
    with benchmark_module("_probes") as probes:
        layer = probes.WindowPCEN(keep_decibels=keep_decibels)
        out = np.asarray(layer(x))
    sr, hop = 22050, 512
    frames = 0.4 * sr / hop
    b = (np.sqrt(1 + 4 * frames**2) - 1) / (2 * frames**2)
    for i in range(len(db)):
        magnitude = 10.0 ** (db[i].astype(np.float64) / 20) * 2.0**31
        start = scipy.signal.lfilter_zi([b], [1, b - 1])[np.newaxis, :] * magnitude[:, :1]
        expected = librosa.pcen(magnitude, sr=sr, hop_length=hop, zi=start)
        pcen = out[i, ..., -1] if keep_decibels else out[i, ..., 0]
        np.testing.assert_allclose(pcen, expected, rtol=1e-4, atol=1e-5)
    if keep_decibels:
        assert out.shape == (2, 128, 96, 3)
        np.testing.assert_array_equal(out[..., :2], x)
    else:
        assert out.shape == (2, 128, 96, 2)
        np.testing.assert_array_equal(out[..., 1], x[..., 1])
