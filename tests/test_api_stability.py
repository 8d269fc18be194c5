"""The public API does not change by accident (issue 9, item 4).

``api_snapshot.json`` records ``melgenre.__all__`` and the public methods,
properties and signatures of the six workflow classes. A name that disappears
or whose signature changes fails this test unless the CHANGELOG's
``[Unreleased]`` section names it (as ``Class.method`` or the top-level name);
then, and for additions, refresh the snapshot:

    .venv/bin/python tests/test_api_stability.py --update
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = Path(__file__).with_name("api_snapshot.json")
CLASSES = ("AudioLoader", "MelFeaturizer", "FolderDataset", "GenreCNN", "Trainer", "Predictor")


def _signature(member: Any) -> str:
    if isinstance(member, property):
        return "property"
    if isinstance(member, (classmethod, staticmethod)):
        kind = type(member).__name__
        return f"{kind} {inspect.signature(member.__func__)}"
    try:
        return str(inspect.signature(member))
    except (TypeError, ValueError):
        return type(member).__name__


def current_api() -> dict[str, str]:
    import melgenre

    api = {name: "exported" for name in melgenre.__all__}
    for class_name in CLASSES:
        cls = getattr(melgenre, class_name)
        api[class_name] = f"class{_signature(cls)}"
        for klass in cls.__mro__:  # melgenre's own members, not Keras' or object's
            if not klass.__module__.startswith("melgenre"):
                continue
            fields = (
                {f.name for f in dataclasses.fields(klass)}
                if dataclasses.is_dataclass(klass)
                else set()
            )
            for name, member in vars(klass).items():
                if name in fields or (name.startswith("_") and name != "__call__"):
                    continue  # parameters are in the class signature
                key = f"{class_name}.{name}"
                if key not in api:
                    api[key] = _signature(member)
    import melgenre.serve  # the service's API (the serve extra is part of the dev install)

    for name in melgenre.serve.__all__:
        api[f"serve.{name}"] = _signature(getattr(melgenre.serve, name))
    return dict(sorted(api.items()))


def unreleased_notes() -> str:
    text = (ROOT / "CHANGELOG.md").read_text()
    match = re.search(r"^## \[Unreleased\]\n(.*?)(?=^## \[)", text, flags=re.S | re.M)
    return match.group(1) if match else ""


def differences(old: dict[str, str], new: dict[str, str]) -> tuple[list[str], list[str]]:
    """(removed or changed names, added names)."""
    broken = [k for k in old if k not in new or new[k] != old[k]]
    added = [k for k in new if k not in old]
    return broken, added


def test_public_api_matches_the_snapshot_or_the_changelog() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new = current_api()
    old = json.loads(SNAPSHOT.read_text())
    broken, added = differences(old, new)
    notes = unreleased_notes()
    unexplained = [k for k in broken if f"`{k}" not in notes and f"{k}(" not in notes]
    assert not unexplained, (
        f"Public API removed or changed without a CHANGELOG entry: {unexplained}. "
        "Say so under [Unreleased] (name it, e.g. `Trainer.fit`), keep the old name working "
        "with melgenre.deprecation for a release if you can, then run "
        "`python tests/test_api_stability.py --update`."
    )
    stale = added + broken
    assert not stale, (
        f"The public API grew ({added}) or changed ({broken}) and the CHANGELOG says so: "
        "refresh the snapshot with `python tests/test_api_stability.py --update`."
    )


def test_the_check_catches_a_removal_and_a_changed_signature() -> None:
    old = {"Trainer.fit": "(self, train)", "Predictor.load": "classmethod (path)", "X": "exported"}
    new = {"Trainer.fit": "(self, train, *, resume=False)", "X": "exported", "Y": "exported"}
    assert differences(old, new) == (["Trainer.fit", "Predictor.load"], ["Y"])


def test_deprecation_helpers_warn_with_versions() -> None:
    from melgenre.deprecation import deprecated, renamed_parameter
    from melgenre.errors import MelgenreDeprecationWarning, MelgenreTypeError

    def new_name(x: int) -> int:
        return x + 1

    old_name = deprecated(new_name, old_name="old_name", since="0.2", removed_in="0.4")
    with pytest.warns(MelgenreDeprecationWarning, match=r"since melgenre 0\.2 .* removed in 0\.4"):
        assert old_name(1) == 2

    @renamed_parameter("n_frames", "frames", since="0.2", removed_in="0.3")
    def window(*, frames: int = 1) -> int:
        return frames

    with pytest.warns(FutureWarning, match="'n_frames' parameter of .*window.*use 'frames'"):
        assert window(n_frames=5) == 5
    with pytest.raises(MelgenreTypeError, match="both"):
        window(n_frames=5, frames=6)


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        SNAPSHOT.write_text(json.dumps(current_api(), indent=1) + "\n")
        print(f"wrote {SNAPSHOT}")
    else:
        raise SystemExit(__doc__)
