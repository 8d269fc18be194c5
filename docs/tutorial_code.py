"""The tutorial's code, run while the docs build: ``python docs/tutorial_code.py OUT_DIR``.

Every code block of ``tutorial.rst`` is a slice of this file (between ``# [name]``
markers), and every figure in it is written here, so the tutorial shows what
the code really does. It runs in about a minute on two CPU cores.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf


def main(out: Path) -> None:
    """Run the whole tutorial, writing its figures to ``out``."""
    # [data]
    from melgenre import demo

    root = demo.make_dataset(out / "data" / "demo", clips_per_class=24, duration=6.0)
    # root/arpeggio/arpeggio_000.wav, root/chords/..., 5 classes x 24 clips of 6 s
    # [data-end]

    # [load]
    from melgenre import AudioLoader

    loader = AudioLoader(sample_rate=22050)  # mono, resampled to 22.05 kHz
    audio = loader.load(root / "arpeggio" / "arpeggio_000.wav")
    print(audio.sample_rate, audio.duration, audio.samples.dtype)  # 22050 6.0 float32
    # [load-end]

    # [features]
    from melgenre import MelFeaturizer, plotting

    featurizer = MelFeaturizer()  # 128 mel bands, 128-frame windows every 64 frames
    windows = featurizer.transform(audio)
    print(windows.shape)  # (n_windows, 128, 128, 1)
    print(featurizer.window_times(audio)[:2])  # [(0.0, 2.97), (1.49, 4.46)] seconds
    plotting.plot_spectrogram(audio, featurizer, out / "spectrogram.png")
    # [features-end]

    # [dataset]
    from melgenre import FolderDataset, Preprocessing

    prep = Preprocessing(featurizer)  # loader and featurizer, one sample rate: the contract
    dataset = FolderDataset(root)
    print(dataset.classes)  # ['arpeggio', 'chords', 'drums', 'plucked', 'texture']
    train, validation, test = dataset.split(test_size=0.2, validation_size=0.1, seed=42)
    print(len(train), len(validation), len(test))  # whole files on each side, per class
    cache = out / "data" / "cache"
    train_fs, val_fs, test_fs = (
        part.features(prep, cache_dir=cache, workers=1, progress=False)
        for part in (train, validation, test)
    )
    print(train_fs)  # FeatureSet(... windows of shape (128, 128, 1) from ... files ...)
    # [dataset-end]

    # [model]
    from melgenre import GenreCNN

    model = GenreCNN(num_classes=len(dataset.classes), input_shape=featurizer.output_shape, seed=0)
    model.summary(print_fn=lambda line, **kwargs: None)  # or print it
    print(f"{model.count_params():,} parameters")
    # [model-end]

    # [train]
    from melgenre import Trainer

    trainer = Trainer(model, epochs=15, seed=0, verbose=0, run_dir=out / "data" / "run")
    history = trainer.fit(train_fs, validation=val_fs)
    plotting.plot_history(history, out / "curves.png")
    print(history.epochs, history.best("val_accuracy"))  # the whole plan: no early stopping
    # [train-end]

    # [evaluate]
    report = trainer.evaluate(test_fs)
    print(f"file-level {report.file_accuracy:.0%}, window-level {report.window_accuracy:.0%}")
    plotting.plot_confusion_matrix(report, out / "confusion.png")
    # [evaluate-end]

    # [predict]
    from melgenre import Predictor

    predictor = Predictor(preprocessing=prep, model=trainer.model, labels=dataset.classes)
    predictor.save(out / "data" / "model", history=history, report=report)
    predictor = Predictor.load(out / "data" / "model")

    # a "long recording": 6 s of drums, then 6 s of chords, then 6 s of texture
    parts = [demo.make_clip(label, seed=999) for label in ("drums", "chords", "texture")]
    sf.write(out / "data" / "long.wav", np.concatenate(parts), 22050)
    prediction = predictor.predict(out / "data" / "long.wav")
    for window in prediction.windows:
        print(f"{window.start:5.1f}-{window.end:5.1f} s  {window.label}")
    plotting.plot_timeline(prediction, out / "timeline.png")
    # [predict-end]

    (out / "results.json").write_text(
        json.dumps(
            {
                "file_accuracy": report.file_accuracy,
                "window_accuracy": report.window_accuracy,
                "timeline": [w.label for w in prediction.windows],
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/_generated"))
