"""benchmarks/errors.py: accuracy by a manifest's columns, binned as the columns allow."""

from __future__ import annotations

import pytest

from benchmark_modules import benchmark_module


@pytest.fixture(scope="module")
def errors():  # type: ignore[no-untyped-def]
    with benchmark_module("errors") as module:
        yield module


def _rows(n: int = 60) -> list[dict[str, object]]:
    """Files of class 0 or 1; the fused answer is wrong on every third file of class 1."""
    rows = []
    for i in range(n):
        true = i % 2
        fused = 1 - true if true == 1 and i % 3 == 0 else true
        rows.append(
            {
                "level": f"{i * 0.5:g}",  # 60 numeric values: thirds
                "noise": "white" if i < 40 else "pink",  # few values: by value
                "programs": "4" if i % 4 == 0 else "0;40;40",  # several per cell: by program
                "answer": [true, true, 1 - true, fused],  # true, network, head, fused
            }
        )
    return rows


def test_columns_bin_by_value_third_or_program(errors) -> None:  # type: ignore[no-untyped-def]
    rows = _rows()
    assert errors.binning(rows, "noise")(rows[0]) == ["white"]
    assert errors.binning(rows, "level")(rows[0]) == ["third 1 (0 to 10)"]
    assert errors.binning(rows, "level")(rows[-1]) == ["third 3 (20 to 29.5)"]
    programs = errors.binning(rows, "programs")
    assert programs(rows[0]) == ["program 4", "1 parts", "one program"]
    assert sorted(programs(rows[1])) == sorted(
        ["program 0", "program 40", "3 parts", "mixed programs"]
    )


def test_accuracy_by_counts_each_expert_and_drops_rare_values(  # type: ignore[no-untyped-def]
    errors,
) -> None:
    rows = _rows()
    table = errors.accuracy_by(rows, errors.binning(rows, "noise"))
    assert list(table) == ["white", "pink"]  # most files first
    white = table["white"]
    assert white["files"] == 40
    assert white["network"] == 1.0
    assert white["head"] == 0.0
    wrong = sum(1 for i in range(40) if i % 2 == 1 and i % 3 == 0)
    assert white["fused"] == pytest.approx(1 - wrong / 40)
    rare = errors.accuracy_by(rows[:7], lambda row: ["all"])  # fewer than MIN_FILES files
    assert rare == {}


def test_confusions_name_where_wrong_answers_went(errors) -> None:  # type: ignore[no-untyped-def]
    confused = errors.confusions(_rows(), ["a", "b"])
    assert confused == {"b": {"a": 10}}


def test_confusions_by_another_column(errors) -> None:  # type: ignore[no-untyped-def]
    rows = [{**row, "metre": f"m{i % 4}"} for i, row in enumerate(_rows())]
    confused = errors.confusions(rows, ["a", "b"], key="metre")
    assert confused == {"m1": {"a": 5}, "m3": {"a": 5}}


def test_abc_field_reads_the_tune_header_or_the_book_default(  # type: ignore[no-untyped-def]
    errors, tmp_path
) -> None:
    (tmp_path / "book.abc").write_text(
        "M:4/4\nX: 1\nT:One\nR: reel\nM:2/4\nK:G\nabc|\n\nX: 2\nT:Two\nK:D\ndef|\n"
        "\nX: 3\nM:6/8\nR: jig\nK:A\n"
    )
    (tmp_path / "tune.abc").write_text("X: 1\nT:Lone\nM: 9/8\nR: slipjig\nK:G\n")
    assert errors.abc_field(tmp_path, "book.abc#X1", "M") == "2/4"
    assert errors.abc_field(tmp_path, "book.abc#X1", "R") == "reel"
    assert errors.abc_field(tmp_path, "book.abc#X2", "M") == "4/4"  # the book's default
    assert errors.abc_field(tmp_path, "book.abc#X2", "R") == "-"
    assert errors.abc_field(tmp_path, "book.abc#X3", "M") == "6/8"
    assert errors.abc_field(tmp_path, "tune.abc", "M") == "9/8"
    assert errors.abc_field(tmp_path, "tune.abc", "R") == "slipjig"
    assert errors.abc_field(tmp_path, "bach/bwv1.6.mxl", "M") == "-"  # not ABC
