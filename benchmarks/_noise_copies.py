"""A screen for ``fusion.py --noise-copies SNR``: the head also learns from noisy copies.

Beside the library's rows (each training file and its varispeed copies), each training file
is read again with white and with pink (1/f power) Gaussian noise added at ``SNR`` dB below
the file's own mean power, seeded by the file's position and the colour, and the copies'
statistics join the rows with the file's label and group (so ``C``'s folds keep them with
their file). Test files are read as they are. Not in the library.
"""

from __future__ import annotations

from typing import Any

import numpy as np

COLOURS = ("white", "pink")


def noise(n: int, colour: str, rng: np.random.Generator) -> Any:
    """Unit-power Gaussian noise of ``n`` samples, white or pink (power falling as 1/f)."""
    white = rng.standard_normal(n)
    if colour == "pink":
        spectrum = np.fft.rfft(white)
        spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
        spectrum[0] = 0
        white = np.fft.irfft(spectrum, n)
    return white / np.sqrt(np.mean(white**2) + 1e-20)


def noisy_copies(snr_db: float) -> Any:
    """``make(audio, position)`` for ``melgenre._varispeed.read_copies``: one copy a colour."""
    from melgenre import Audio

    def make(audio: Any, position: int) -> list[Any]:
        samples = np.asarray(audio.samples, np.float64)
        level = np.sqrt(np.mean(samples**2) / 10 ** (snr_db / 10))
        copies = []
        for number, colour in enumerate(COLOURS):
            rng = np.random.default_rng([position, number])
            noisy = samples + level * noise(samples.shape[-1], colour, rng)
            copies.append(Audio(noisy.astype(np.float32), audio.sample_rate))
        return copies

    return make


def noisy_head(base: Any, snr_db: float) -> Any:
    """``base`` (a StatisticsHead class) fitted on noisy copies too (see the module notes).

    The library's ``fit`` makes the rows of the files and their varispeed copies; before its
    regression is fitted, the noisy copies' rows join them, grouped with their file's.
    """
    from _head_screens import with_extra_rows

    from melgenre._varispeed import read_copies

    make = noisy_copies(snr_db)
    return with_extra_rows(
        base, lambda statistics, features, files: read_copies(statistics, features, files, make)
    )
