"""FolderDataset.features: extraction in one process or many, bad files skipped or raised,
progress, the feature cache (hits, moves, damage) and the sets' streaming to TensorFlow."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from class_tree import FEAT, LOADER, SR, class_tree, write
from melgenre import AudioLoader, FeatureSet, FolderDataset, MelFeaturizer, Preprocessing
from melgenre.errors import AudioDecodeError, ConfigError, DatasetError
from signals import tone


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """:func:`class_tree` in a fresh folder."""
    return class_tree(tmp_path)


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


def test_silent_files_are_named_whether_decoded_or_cached(
    tree: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tree / "hum" / "blank.wav", np.zeros(SR, np.float32))  # a failed render, say
    write(tree / "noise" / "faint.wav", 1e-3 * tone(frequency=300.0, duration=1.0, sample_rate=SR))
    ds = FolderDataset(tree)
    cache = tmp_path / "cache"

    def said(workers: int, cache_dir: Path | None) -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="melgenre.extraction"):
            fs = ds.features(FEAT, workers=workers, progress=False, cache_dir=cache_dir)
        assert fs.n_files == 20  # kept: a class of silence is a real use
        assert fs.silent_files == (str(tree / "hum" / "blank.wav"),)
        assert fs.damaged_files == ()
        return [r.getMessage() for r in caplog.records if "silent" in r.getMessage()]

    expected = [
        f"1 of 20 files are silent (no sample above -90 dBFS): {tree / 'hum' / 'blank.wav'}. "
        "A model learns them as their folder's class; remove them unless silence is one "
        "of your classes."
    ]
    assert said(2, None) == expected
    assert said(2, cache) == expected  # decoded into the cache
    assert said(1, cache) == expected  # the cached set: nothing decoded again
    shutil.rmtree(cache / "sets")
    assert said(1, cache) == expected  # the cached entries alone


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
    one = FolderDataset(tmp_path)._subset([0])  # e.g. a split's side of one file
    with pytest.raises(DatasetError, match=r"failed for the only file: .*a/x\.wav"):
        one.features(FEAT, workers=1, progress=False)


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
