from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from melgenre import AudioLoader, FeatureSet, FolderDataset, MelFeaturizer, Preprocessing
from melgenre.errors import (
    AudioDecodeError,
    ConfigError,
    DatasetError,
    MelgenreDeprecationWarning,
)
from signals import noise, tone

SR = 8000
FEAT = MelFeaturizer(sample_rate=SR, n_fft=512, hop_length=128, n_mels=32, frames=32)
LOADER = AudioLoader(sample_rate=SR)


def write(path: Path, samples: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, SR)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Three classes with distinct sounds, 6 one-second files each, some nested."""
    root = tmp_path / "data"
    for c, label in enumerate(["hum", "noise", "whistle"]):
        for i in range(6):
            sub = "live/" if i == 5 else ""
            if label == "noise":
                x = noise(duration=1.0 + 0.25 * i, sample_rate=SR, seed=100 * c + i)
            else:
                x = tone(
                    frequency=(150.0 if label == "hum" else 2500.0) * (1 + i / 50),
                    duration=1.0 + 0.25 * i,
                    sample_rate=SR,
                )
            write(root / label / f"{sub}{label}{i}.wav", x)
    return root


# ------------------------------------------------------------------ scanning


def test_scan_classes_files_and_counts(tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tree / "hum" / ".hidden.wav").write_bytes(b"x")
    (tree / "hum" / ".cache").mkdir()
    (tree / "hum" / ".cache" / "a.wav").write_bytes(b"x")
    (tree / "hum" / "notes.txt").write_text("not audio")
    (tree / ".git").mkdir()
    with caplog.at_level(logging.INFO, logger="melgenre"):
        ds = FolderDataset(tree)
    assert "Found 18 files belonging to 3 classes." in caplog.messages
    assert ds.classes == ["hum", "noise", "whistle"]
    assert len(ds) == 18
    assert ds.class_counts() == {"hum": 6, "noise": 6, "whistle": 6}
    first = ds[0]
    assert (first.path, first.label, first.label_index) == (tree / "hum" / "hum0.wav", "hum", 0)
    path, label, index = list(ds)[5]
    assert (path, label, index) == (tree / "hum" / "live" / "hum5.wav", "hum", 0)
    assert ds.labels.tolist() == [0] * 6 + [1] * 6 + [2] * 6
    assert FolderDataset(tree).paths == ds.paths  # deterministic
    assert repr(ds) == f"FolderDataset({str(tree)!r}, 18 files, 3 classes)"


def test_class_names_choose_and_order_classes(tree: Path) -> None:
    ds = FolderDataset(tree, class_names=["whistle", "hum"])
    assert ds.classes == ["whistle", "hum"]
    assert ds.labels.tolist() == [0] * 6 + [1] * 6
    with pytest.raises(DatasetError, match=r"names \['rock'\], which are not folders"):
        FolderDataset(tree, class_names=["hum", "rock"])


def test_stray_root_files_are_ignored_with_a_warning(
    tree: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tree / "loose.wav", np.zeros(100, np.float32))
    with caplog.at_level(logging.WARNING, logger="melgenre"):
        assert len(FolderDataset(tree)) == 18
    assert "files belong in a folder per class" in caplog.text


def test_scan_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"'.*nowhere' does not exist"):
        FolderDataset(tmp_path / "nowhere")
    file = write(tmp_path / "a.wav", np.zeros(10, np.float32))
    with pytest.raises(DatasetError, match="is not a folder"):
        FolderDataset(file)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="has no class folders"):
        FolderDataset(empty)
    single = tmp_path / "single"
    write(single / "rock" / "a.wav", np.zeros(10, np.float32))
    with pytest.raises(DatasetError, match=r"single class folder \('rock'\).*at least 2 classes"):
        FolderDataset(single)
    (single / "jazz").mkdir()
    (single / "jazz" / "readme.txt").write_text("no audio here")
    with pytest.raises(DatasetError, match=r"'.*jazz' contains no audio files"):
        FolderDataset(single)
    with pytest.raises(
        ConfigError, match="'on_error' parameter of FolderDataset must be one of 'skip', 'raise'"
    ):
        FolderDataset(single, on_error="ignore")  # type: ignore[arg-type]


def test_from_split_folders(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for split in ("train", "test"):
        for label in ("a", "b"):
            for i in range(2):
                write(
                    tmp_path / split / label / f"{split}{i}.wav",
                    noise(duration=0.2, sample_rate=SR, seed=hash((split, label, i)) % 1000),
                )
    leaked = (tmp_path / "train" / "a" / "train0.wav").read_bytes()
    (tmp_path / "test" / "a" / "copy.wav").write_bytes(leaked)
    with caplog.at_level(logging.WARNING, logger="melgenre"):
        train, test = FolderDataset.from_split_folders(tmp_path)
    assert train.classes == test.classes == ["a", "b"]
    assert (len(train), len(test)) == (4, 5)
    assert "The official split leaks" in caplog.text
    (tmp_path / "test" / "c").mkdir()
    write(tmp_path / "test" / "c" / "x.wav", np.zeros(100, np.float32))
    with pytest.raises(DatasetError, match=r"Split 'train' .* lacks class folders \['c'\]"):
        FolderDataset.from_split_folders(tmp_path)
    with pytest.raises(DatasetError, match=r"Split folders \['validation'\] are missing"):
        FolderDataset.from_split_folders(tmp_path, splits=("train", "validation", "test"))


# --------------------------------------------------------------------- split


def test_split_sizes_stratified_and_reproducible(tree: Path) -> None:
    ds = FolderDataset(tree)
    split = ds.split(test_size=0.5, seed=42)
    train, test = split.train, split.test
    assert split.validation is None
    assert split == (train, None, test)
    assert train.class_counts() == test.class_counts() == {"hum": 3, "noise": 3, "whistle": 3}
    assert ds.split(test_size=0.5, seed=42).test.paths == test.paths
    assert train.classes == ds.classes
    others = {tuple(ds.split(test_size=0.5, seed=s).test.paths) for s in range(8)}
    assert len(others) > 1
    train, val, test = ds.split(test_size=1 / 3, validation_size=1 / 3, seed=0)
    for part in (train, val, test):
        assert part.class_counts() == {"hum": 2, "noise": 2, "whistle": 2}


def test_unpacking_a_two_way_split_into_two_names_is_deprecated(tree: Path) -> None:
    ds = FolderDataset(tree)
    with pytest.warns(MelgenreDeprecationWarning, match=r"split\.train and split\.test"):
        train, test = ds.split(test_size=0.5, seed=42)
    assert (train, test) == ds.split(test_size=0.5, seed=42)[::2]
    assert len(list(ds.split(test_size=0.3, validation_size=0.3))) == 3  # no warning


def test_groups_stay_together(tree: Path) -> None:
    ds = FolderDataset(tree)

    def album(p: Path) -> tuple[str, int]:
        """'Albums': files 0-2 and 3-5 of each class."""
        label = p.parent.name if p.parent.name != "live" else p.parent.parent.name
        return label, int(p.stem[-1]) // 3

    for seed in range(10):
        train, _, test = ds.split(test_size=0.5, validation_size=None, seed=seed, groups=album)[:]
        train_albums = {album(p) for p in train.paths}
        assert not train_albums & {album(p) for p in test.paths}
        assert train.class_counts() == test.class_counts() == {"hum": 3, "noise": 3, "whistle": 3}


def test_identical_files_stay_together_and_are_reported(
    tree: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = tree / "noise" / "noise0.wav"
    (tree / "noise" / "dup.wav").write_bytes(source.read_bytes())
    (tree / "hum" / "mislabelled.wav").write_bytes(source.read_bytes())
    ds = FolderDataset(tree)
    assert ds.duplicates() == [
        sorted([source, tree / "noise" / "dup.wav", tree / "hum" / "mislabelled.wav"])
    ]
    with caplog.at_level(logging.WARNING, logger="melgenre"):
        for seed in range(10):
            train, _, test = ds.split(test_size=0.3, seed=seed)[:]
            trio = {source, tree / "noise" / "dup.wav", tree / "hum" / "mislabelled.wav"}
            assert trio <= set(train.paths) or trio <= set(test.paths)
    assert "Found 1 groups of byte-identical files (3 files)" in caplog.text
    assert "Identical files carry different labels" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"test_size": 0.0},
            r"'test_size' parameter of FolderDataset.split must be a float in the range \(0, 1\)",
        ),
        ({"test_size": 1.5}, "'test_size'"),
        ({"test_size": "0.2"}, "'test_size'"),
        ({"validation_size": 1.0}, "'validation_size'"),
        ({"test_size": 0.6, "validation_size": 0.5}, "must be below 1"),
    ],
)
def test_split_parameter_errors(tree: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FolderDataset(tree).split(**kwargs)


def test_groups_callable_errors_name_the_file(tree: Path) -> None:
    def bad(path: Path) -> str:
        raise KeyError(path.name)

    with pytest.raises(DatasetError, match=r"groups callable failed on '.*hum0\.wav': KeyError"):
        FolderDataset(tree).split(groups=bad)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    layout=st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=12), min_size=2, max_size=4),
    duplicates=st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99)), max_size=4),
    seed=st.integers(0, 2**32 - 1),
    validation=st.booleans(),
    test_size=st.floats(0.1, 0.45),
)
def test_split_never_leaks(
    tmp_path_factory: pytest.TempPathFactory,
    layout: list[list[int]],
    duplicates: list[tuple[int, int]],
    seed: int,
    validation: bool,
    test_size: float,
) -> None:
    """Random folder layouts: each class is a list of files, each file's group id; some files duplicated."""
    root = tmp_path_factory.mktemp("layout")
    files: list[Path] = []
    for c, groups in enumerate(layout):
        for i, _ in enumerate(groups):
            path = root / f"class{c}" / f"f{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"{c}-{i}-unique".encode())
            files.append(path)
    for a, b in duplicates:
        files[b % len(files)].write_bytes(files[a % len(files)].read_bytes())
    group_of = {
        root / f"class{c}" / f"f{i}.wav": g
        for c, groups in enumerate(layout)
        for i, g in enumerate(groups)
    }
    ds = FolderDataset(root)

    def split() -> list[FolderDataset]:
        parts = ds.split(
            test_size=test_size,
            validation_size=0.2 if validation else None,
            seed=seed,
            groups=lambda p: group_of[p],
        )
        return [p for p in parts[:] if p is not None]

    parts = split()
    assert sum(len(p) for p in parts) == len(ds)
    sides = [set(p.paths) for p in parts]
    assert set().union(*sides) == set(ds.paths)
    for i, a in enumerate(sides):
        for b in sides[i + 1 :]:
            assert not a & b
            assert not {group_of[p] for p in a} & {group_of[p] for p in b}
            assert not {p.read_bytes() for p in a} & {p.read_bytes() for p in b}
    assert [p.paths for p in split()] == [p.paths for p in parts]


# ------------------------------------------------------------------ features


def check_featureset(fs: FeatureSet, ds: FolderDataset) -> None:
    assert fs.x.dtype == np.float32
    assert fs.x.shape[1:] == FEAT.output_shape
    assert len(fs) == len(fs.x) == len(fs.y) == len(fs.groups)
    assert fs.y.shape == (len(fs), len(ds.classes))
    np.testing.assert_array_equal(fs.y.argmax(axis=1), fs.labels)
    np.testing.assert_array_equal(fs.labels, ds.labels[fs.groups])
    assert fs.classes == tuple(ds.classes)
    assert fs.paths == tuple(str(p) for p in ds.paths)
    assert np.all(np.diff(fs.groups) >= 0)  # file after file, in dataset order


def test_features_serial_and_parallel_agree(tree: Path) -> None:
    ds = FolderDataset(tree)
    serial = ds.features(FEAT, workers=1, progress=False)
    check_featureset(serial, ds)
    assert serial.n_files == 18
    # windows of each file are the featurizer's output for that file
    second = ds[1].path
    np.testing.assert_array_equal(serial.x[serial.groups == 1], FEAT.transform(LOADER.load(second)))
    parallel = ds.features(FEAT, workers=2, progress=False)
    np.testing.assert_array_equal(parallel.x, serial.x)
    np.testing.assert_array_equal(parallel.groups, serial.groups)
    threads = ds.features(FEAT, executor=cf.ThreadPoolExecutor(2), progress=False)
    np.testing.assert_array_equal(threads.x, serial.x)


def test_bad_files_are_skipped_and_reported(tree: Path, tmp_path: Path) -> None:
    (tree / "hum" / "broken.wav").write_text("not audio")
    (tree / "noise" / "empty.flac").write_bytes(b"")
    ds = FolderDataset(tree)
    fs = ds.features(FEAT, workers=1, progress=False, cache_dir=tmp_path / "cache")
    assert fs.n_files == 18
    assert sorted(Path(f.path).name for f in fs.failures) == ["broken.wav", "empty.flac"]
    assert all(
        f.error_type == "AudioDecodeError" and Path(f.path).name in f.reason for f in fs.failures
    )
    assert fs.report_path is not None
    report = json.loads(Path(fs.report_path).read_text())
    assert report["failed"] == 2
    assert {Path(f["path"]).name for f in report["failures"]} == {"broken.wav", "empty.flac"}
    check_featureset(fs, ds)
    assert str(tree / "hum" / "broken.wav") in fs.paths
    assert fs.paths.index(str(tree / "hum" / "broken.wav")) not in fs.groups


@pytest.mark.parametrize("workers", [1, 2])
def test_on_error_raise_raises_the_files_error(tree: Path, workers: int) -> None:
    (tree / "hum" / "broken.wav").write_text("not audio")
    with pytest.raises(AudioDecodeError, match=r"broken\.wav.*not an audio file") as info:
        FolderDataset(tree, on_error="raise").features(FEAT, workers=workers, progress=False)
    assert info.value.source == str(tree / "hum" / "broken.wav")
    with pytest.raises(AudioDecodeError):
        FolderDataset(tree).features(FEAT, workers=1, progress=False, on_error="raise")


def test_all_files_failing_is_a_dataset_error(tmp_path: Path) -> None:
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        (tmp_path / label / "x.wav").write_text("nope")
    with pytest.raises(DatasetError, match="failed for all 2 files"):
        FolderDataset(tmp_path).features(FEAT, workers=1, progress=False)


def test_features_argument_errors(tree: Path) -> None:
    ds = FolderDataset(tree)
    with pytest.raises(
        ConfigError, match=r"resamples to 8000 Hz but the featurizer expects 22050 Hz"
    ):
        ds.features(Preprocessing(MelFeaturizer(), loader=LOADER), progress=False)
    with pytest.raises(ConfigError, match="'workers'"):
        ds.features(FEAT, workers=0, progress=False)
    with pytest.raises(TypeError, match="expects a melgenre Featurizer"):
        ds.features("mel", progress=False)  # type: ignore[arg-type]


def test_progress_bar_can_be_turned_off(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds = FolderDataset(tree)
    ds.features(FEAT, workers=1, progress=True)
    assert "Extracting features" in capsys.readouterr().err
    ds.features(FEAT, workers=1, progress=False)
    captured = capsys.readouterr()
    assert captured.err == captured.out == ""


# --------------------------------------------------------------------- cache


class CountingFeaturizer(MelFeaturizer):
    calls = 0

    def transform(self, audio: Any) -> Any:
        type(self).calls += 1
        return super().transform(audio)


def counting(**overrides: Any) -> CountingFeaturizer:
    config = FEAT.get_config() | overrides
    return CountingFeaturizer(**config)


def test_cache_hit_miss_and_invalidation(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    ds = FolderDataset(tree)
    CountingFeaturizer.calls = 0
    cold = ds.features(counting(), cache_dir=cache, workers=1, progress=False)
    assert CountingFeaturizer.calls == 18
    assert isinstance(cold.x, np.memmap)
    assert not cold.x.flags.writeable
    warm = ds.features(counting(), cache_dir=cache, workers=1, progress=False)
    assert CountingFeaturizer.calls == 18  # nothing recomputed
    np.testing.assert_array_equal(warm.x, cold.x)
    np.testing.assert_array_equal(warm.groups, cold.groups)
    # the consolidated set is gone, but per-file entries still hit
    for path in (cache / "sets").iterdir():
        path.unlink()
    ds.features(counting(), cache_dir=cache, workers=1, progress=False)
    assert CountingFeaturizer.calls == 18
    # another featurizer config misses
    ds.features(counting(top_db=60.0), cache_dir=cache, workers=1, progress=False)
    assert CountingFeaturizer.calls == 36
    # another loader config misses too
    FolderDataset(tree).features(
        Preprocessing(counting(), loader=AudioLoader(duration=0.5, sample_rate=None)),
        cache_dir=cache,
        workers=1,
        progress=False,
    )
    assert CountingFeaturizer.calls == 54
    # a changed file misses; the others hit
    write(tree / "hum" / "hum0.wav", tone(frequency=400.0, duration=1.0, sample_rate=SR))
    changed = ds.features(counting(), cache_dir=cache, workers=1, progress=False)
    assert CountingFeaturizer.calls == 55
    assert not np.array_equal(changed.x[changed.groups == 0], cold.x[cold.groups == 0])
    np.testing.assert_array_equal(changed.x[changed.groups == 1], cold.x[cold.groups == 1])


def test_moved_files_keep_their_cache_entries(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    CountingFeaturizer.calls = 0
    FolderDataset(tree).features(counting(), cache_dir=cache, workers=1, progress=False)
    moved = tmp_path / "moved"
    tree.rename(moved)
    FolderDataset(moved).features(counting(), cache_dir=cache, workers=1, progress=False)
    assert CountingFeaturizer.calls == 18


def test_a_moved_folder_reuses_its_feature_set_under_the_new_paths(
    tree: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # the set is keyed by content: the same files under another path (a moved folder, a
    # relative path) are the same set, not a "damaged" one to rebuild
    (tree / "hum" / "broken.wav").write_text("not audio")
    cache = tmp_path / "cache"
    first = FolderDataset(tree).features(FEAT, cache_dir=cache, workers=1, progress=False)
    moved = tmp_path / "moved"
    tree.rename(moved)
    with caplog.at_level(logging.INFO, logger="melgenre"):
        again = FolderDataset(moved).features(FEAT, cache_dir=cache, workers=1, progress=False)
    assert "Reused cached features" in caplog.text
    assert "damaged" not in caplog.text
    np.testing.assert_array_equal(again.x, first.x)
    np.testing.assert_array_equal(again.groups, first.groups)
    assert [f.path for f in again.failures] == [str(moved / "hum" / "broken.wav")]
    assert again.report_path is not None
    report = json.loads(Path(again.report_path).read_text())
    assert [f["path"] for f in report["failures"]] == [str(moved / "hum" / "broken.wav")]
    # and back: the original place reads the set again, as its own
    moved.rename(tree)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="melgenre"):
        back = FolderDataset(tree).features(FEAT, cache_dir=cache, workers=1, progress=False)
    assert "Reused cached features" in caplog.text
    assert "damaged" not in caplog.text
    assert [f.path for f in back.failures] == [str(tree / "hum" / "broken.wav")]


def test_corrupt_entries_are_recomputed_not_trusted(
    tree: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "cache"
    ds = FolderDataset(tree)
    reference = ds.features(counting(), cache_dir=cache, workers=1, progress=False)
    entries = sorted((cache / "features").rglob("*.npz"))
    assert len(entries) == 18
    flipped = bytearray(entries[0].read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF  # inside the array data: only the CRC can tell
    entries[0].write_bytes(bytes(flipped))
    entries[1].write_bytes(entries[1].read_bytes()[:100])  # truncated
    entries[2].write_bytes(b"garbage")
    for path in (cache / "sets").iterdir():
        path.unlink()
    CountingFeaturizer.calls = 0
    with caplog.at_level(logging.WARNING, logger="melgenre.cache"):
        again = ds.features(counting(), cache_dir=cache, workers=1, progress=False)
    assert CountingFeaturizer.calls == 3
    assert caplog.text.count("Ignoring damaged cache entry") == 3
    np.testing.assert_array_equal(again.x, reference.x)


def test_damaged_consolidated_set_is_rebuilt(
    tree: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "cache"
    ds = FolderDataset(tree)
    first = ds.features(FEAT, cache_dir=cache, workers=1, progress=False)
    reference, chroma = np.array(first.x), np.array(first.chroma)
    for chroma_file in (False, True):  # the windows, then the chroma
        (path,) = (
            p for p in (cache / "sets").glob("*.npy") if p.stem.endswith(".chroma") == chroma_file
        )
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="melgenre"):
            again = ds.features(FEAT, cache_dir=cache, workers=1, progress=False)
        assert "Ignoring damaged feature set" in caplog.text
        np.testing.assert_array_equal(again.x, reference)
        np.testing.assert_array_equal(again.chroma, chroma)


def test_each_files_chroma_is_stored_beside_its_windows(tree: Path, tmp_path: Path) -> None:
    """Extraction keeps each file's chroma (Preprocessing.chroma), cached or not, in file order."""
    ds = FolderDataset(tree)
    plain = ds.features(FEAT, workers=1, progress=False)
    cached = ds.features(FEAT, cache_dir=tmp_path / "c", workers=2, progress=False)
    reused = ds.features(FEAT, cache_dir=tmp_path / "c", workers=1, progress=False)
    prep = Preprocessing(FEAT)
    for fs in (plain, cached, reused):
        assert fs.chroma is not None
        assert fs.chroma_groups is not None
        assert fs.chroma.shape == (len(fs.chroma_groups), 12)
        files, _ = fs.file_labels()
        assert list(np.unique(fs.chroma_groups)) == list(files)
        for file in files:
            expected = prep.chroma(prep.load(fs.paths[file]))
            np.testing.assert_allclose(fs.file_chroma(file), expected, rtol=1e-6, atol=1e-9)
    bare = dataclasses.replace(plain, chroma=None, chroma_groups=None)
    with pytest.raises(DatasetError, match="no chroma"):
        bare.file_chroma(0)


# ------------------------------------------------------------------- tf.data


def test_to_tf_dataset_streams_every_window_once_per_epoch(tree: Path, tmp_path: Path) -> None:
    ds = FolderDataset(tree)
    for fs in (
        ds.features(FEAT, workers=1, progress=False),
        ds.features(FEAT, cache_dir=tmp_path / "c", workers=1, progress=False),
    ):
        data = fs.to_tf_dataset(batch_size=7, shuffle=True, seed=3)
        epochs = []
        for _ in range(2):
            xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in data], strict=True)
            assert all(len(x) <= 7 for x in xs)
            x_all, y_all = np.concatenate(xs), np.concatenate(ys)
            assert x_all.shape == fs.x.shape
            # every window exactly once: compare sorted row fingerprints
            assert sorted(map(bytes, x_all.reshape(len(x_all), -1)[:, :8].copy())) == sorted(
                map(bytes, np.asarray(fs.x).reshape(len(fs), -1)[:, :8].copy())
            )
            np.testing.assert_array_equal(np.sort(y_all.argmax(1)), np.sort(fs.labels))
            epochs.append(x_all)
        assert not np.array_equal(epochs[0], epochs[1])  # reshuffled each epoch
        ordered = np.concatenate(
            [x.numpy() for x, _ in fs.to_tf_dataset(batch_size=5, shuffle=False)]
        )
        np.testing.assert_array_equal(ordered, fs.x)


def test_parallel_extraction_is_safe_after_tensorflow_is_imported(
    tree: Path, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        f"""
        import tensorflow as tf  # imported first, as in a training script
        from melgenre import AudioLoader, MelFeaturizer
        from melgenre import FolderDataset

        if __name__ == "__main__":
            feat = MelFeaturizer(**{FEAT.get_config()!r})
            fs = FolderDataset({str(tree)!r}).features(feat, workers=2, progress=False)
            print("windows", len(fs))
        """
    )
    path = tmp_path / "train.py"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "windows" in out.stdout


def test_dask_cluster_executor_fills_a_shared_cache(tree: Path, tmp_path: Path) -> None:
    """Beyond one machine: a Dask cluster's executor runs the per-file work."""
    distributed = pytest.importorskip("distributed")
    cache = tmp_path / "shared-cache"
    ds = FolderDataset(tree)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_cluster = ds.features(
            FEAT, executor=client.get_executor(), cache_dir=cache, progress=False
        )
    assert len(list((cache / "features").rglob("*.npz"))) == 18
    local = ds.features(FEAT, workers=1, progress=False)
    np.testing.assert_array_equal(on_cluster.x, local.x)
    CountingFeaturizer.calls = 0
    for path in (cache / "sets").iterdir():
        path.unlink()
    # Entries the cluster wrote are keyed like local ones: a local run only reads them.
    ds.features(MelFeaturizer(**FEAT.get_config()), cache_dir=cache, workers=1, progress=False)


def test_old_spellings_keep_working_with_a_warning(tree: Path) -> None:
    with pytest.warns(MelgenreDeprecationWarning, match="'loader' parameter of FolderDataset"):
        old = FolderDataset(tree, loader=AudioLoader(sample_rate=SR, duration=0.5))
    assert old.paths == FolderDataset(tree).paths
    fs = old.features(FEAT, workers=1, progress=False)  # the old loader still decodes
    assert fs.x.shape[0] == len(old)  # half a second: one window per file
    with pytest.warns(MelgenreDeprecationWarning, match="melgenre.dataset.FolderDataset"):
        from melgenre.dataset import FolderDataset as Moved
    assert Moved is FolderDataset
    with pytest.warns(MelgenreDeprecationWarning, match="check_loader"):
        FEAT.check_loader(LOADER)
    subset = dataclasses.replace(FolderDataset(tree), items=FolderDataset(tree).items[:4])
    assert len(subset) == 4
    assert subset.classes == FolderDataset(tree).classes


def test_a_set_is_joined_from_entry_bytes_and_a_vanished_entry_is_recomputed(
    tmp_path: Path,
) -> None:
    from melgenre.cache import FeatureCache

    cache = FeatureCache(tmp_path)
    a = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3, 1)
    b = a + 100.0
    cache.put("k", "a", a)
    cache.put("k", "b", b)
    calls: list[int] = []

    def recompute(i: int) -> np.ndarray:
        calls.append(i)
        return np.full((1, 4, 3, 1), 7.0, np.float32)

    x = cache.write_set(
        "s", "k", [("a", 2), ("gone", 1), ("b", 2)], shape=(4, 3, 1), recompute=recompute
    )
    assert calls == [1]
    np.testing.assert_array_equal(x, np.concatenate([a, np.full((1, 4, 3, 1), 7.0), b]))
    # an entry that does not hold the windows it should is not trusted either
    x = cache.write_set(
        "t", "k", [("a", 3)], shape=(4, 3, 1), recompute=lambda i: np.zeros((3, 4, 3, 1))
    )
    assert x.shape == (3, 4, 3, 1)
    assert not x.any()
