"""Feature extraction's worker processes and the user's main script.

A worker imports the main script again only when the work pickles something defined
there; a featurizer written in an interactive session is extracted in the calling
process; workers are safe after TensorFlow started.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from class_tree import FEAT, class_tree
from signals import damaged_mp3


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """:func:`class_tree` in a fresh folder."""
    return class_tree(tmp_path)


@pytest.mark.parametrize("own_featurizer", [False, True])
def test_workers_import_the_main_script_only_when_the_work_needs_it(
    tree: Path, tmp_path: Path, own_featurizer: bool
) -> None:
    # a script's top-level imports (``from melgenre import GenreCNN`` is TensorFlow) run
    # again in every worker that imports it: only when something was pickled from it
    marker = tmp_path / "imported-again"
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from melgenre import FolderDataset, MelFeaturizer

        if __name__ == "__mp_main__":  # a worker importing this script again
            Path({str(marker)!r}).touch()

        class OwnFeaturizer(MelFeaturizer):  # a subclass only this script defines
            pass

        if __name__ == "__main__":
            kind = OwnFeaturizer if {own_featurizer!r} else MelFeaturizer
            feat = kind(**{FEAT.get_config()!r})
            fs = FolderDataset({str(tree)!r}).features(feat, workers=2, progress=False)
            print("windows", len(fs), fs.n_files)
        """
    )
    path = tmp_path / "extract.py"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "18"  # every file extracted
    assert marker.exists() == own_featurizer


def test_a_featurizer_defined_interactively_is_extracted_here_with_a_word(tree: Path) -> None:
    # as in a notebook: the main module is no file a worker could import
    code = textwrap.dedent(
        f"""
        from melgenre import FolderDataset, MelFeaturizer

        class OwnFeaturizer(MelFeaturizer):
            pass

        feat = OwnFeaturizer(**{FEAT.get_config()!r})
        fs = FolderDataset({str(tree)!r}).features(feat, workers=2, progress=False)
        print("files", fs.n_files)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "18"
    assert (
        "OwnFeaturizer is defined in an interactive session, which worker processes cannot "
        "import: extracting in this process." in out.stderr
    )


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


def test_workers_report_damaged_mp3_files_instead_of_printing_the_decoders_notes(
    tree: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from melgenre import AudioLoader

    damaged = damaged_mp3(tree / "hum" / "damaged.mp3")
    AudioLoader().load(damaged)  # decodes whole, with libmpg123's notes on descriptor 2
    assert "libmpg123" in capfd.readouterr().err
    script = textwrap.dedent(
        f"""
        from melgenre import FolderDataset, MelFeaturizer

        if __name__ == "__main__":
            feat = MelFeaturizer(**{FEAT.get_config()!r})
            fs = FolderDataset({str(tree)!r}).features(
                feat, workers=2, progress=False, cache_dir={str(tmp_path / "cache")!r}
            )
            print("damaged", *fs.damaged_files)
            print("files", fs.n_files)
        """
    )
    path = tmp_path / "extract.py"
    path.write_text(script)
    for _ in ("decoded", "from the cache"):
        out = subprocess.run(
            [sys.executable, str(path)], capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.split()[-1] == "19"  # the damaged file is used
        assert f"damaged {damaged}\n" in out.stdout  # and named in the FeatureSet
        assert "libmpg123" not in out.stderr, out.stderr
        assert "Note: " not in out.stderr, out.stderr
        assert (
            f"1 of 19 files hold damaged data that the decoder skipped (e.g. corrupt MP3 "
            f"frames): {damaged}." in out.stderr
        )


def test_decoder_notes_are_captured_only_where_allowed(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from melgenre import _stderr

    monkeypatch.setattr(sys, "stderr", sys.__stderr__)  # a real stream on descriptor 2

    lines = b"Note: Trying to resync...\n[src/libmpg123/layer3.c:1804] error: x\nother\n"
    with _stderr.decoder_notes() as notes:  # this process has threads: nothing captured
        os.write(2, lines)
    assert notes == []
    assert capfd.readouterr().err == lines.decode()
    monkeypatch.setattr(_stderr, "_capture_decoder_notes", True)  # as in a worker
    with _stderr.decoder_notes() as notes:
        os.write(2, lines)
    assert notes == ["Note: Trying to resync...", "[src/libmpg123/layer3.c:1804] error: x"]
    sys.stderr.flush()
    assert capfd.readouterr().err == "other\n"  # the rest written back
