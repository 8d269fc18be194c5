"""Where the errors are: file accuracy by what the data's manifest says of each file.

Run (after ``fusion.py ... --keep-answers`` has recorded each test file's answers):

    .venv/bin/python benchmarks/fusion.py --domain genres --candidate full-stats \
        --cv benchmarks/results/cv/genres-5fold-stats.json --keep-answers --tag=-answers
    .venv/bin/python benchmarks/errors.py --domain genres --key genres/full-stats+statistics-answers

Joins the recorded answers of every test fold (each file is tested once) with the domain's
``manifest.csv`` and reports the fused answer's accuracy (and the network's and the head's)
by each column: by value where a column has at most 30 of them, by thirds of its values
where it is numeric with more, by program where a cell lists several (``0;40;52``, with the
number of parts and whether they share one program). A value held by fewer than 8 files is
left out. Prints the figures and writes ``benchmarks/results/errors.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import cv
from _common import earlier_results, write_result

SKIP = {"path", "label", "piece_id", "group_id", "split", "offset_s", "seconds", "seed"}
MIN_FILES = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="genres", choices=list(cv.DOMAINS))
    parser.add_argument("--key", required=True, help="the fusion.json record with answers")
    args = parser.parse_args()
    record = json.loads(Path("benchmarks/results/cv/fusion.json").read_text())[args.key]
    answers = {
        str(Path(path).resolve()): [int(a) for a in answer.split()]
        for fold in record["folds"]
        for path, answer in fold.get("answers", {}).items()
    }
    if not answers:
        raise SystemExit(f"{args.key}: run fusion.py with --keep-answers first")
    root = Path(cv.DOMAINS[args.domain][0])
    with open(root / "manifest.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if str((root / r["path"]).resolve()) in answers]
    for row in rows:
        row["answer"] = answers[str((root / row["path"]).resolve())]
        if "source" in row:  # the corpus collection (the composer, the tune book)
            row["source"] = row["source"].split("/")[0]
    classes = record["classes"]
    report: dict[str, Any] = {"key": args.key, "files": len(rows), "by": {}}
    report["by"]["label"] = accuracy_by(rows, lambda r: [r["label"]])
    report["by"]["label"]["confused with"] = confusions(rows, classes)
    for column in [c for c in rows[0] if c not in SKIP and c != "answer"]:
        report["by"][column] = accuracy_by(rows, binning(rows, column))
    for column, table in report["by"].items():
        print(f"\n{column}:")
        for value, cell in table.items():
            if value != "confused with":
                print(
                    f"  {value:<32} {cell['files']:>4} files  fused {cell['fused']:6.1%}  "
                    f"network {cell['network']:6.1%}  head {cell['head']:6.1%}"
                )
    results = earlier_results("errors")
    results[args.key] = report
    write_result("errors", results)


def binning(rows: list[dict[str, Any]], column: str) -> Any:
    """``row -> [values]`` for ``column``: its value, its third, or the programs it lists."""
    values = [r[column] for r in rows]
    if any(";" in v for v in values):  # several programs, one per part

        def programs(row: dict[str, Any]) -> list[str]:
            parts = row[column].split(";")
            ensemble = "one program" if len(set(parts)) == 1 else "mixed programs"
            return [*(f"program {p}" for p in set(parts)), f"{len(parts)} parts", ensemble]

        return programs
    try:
        numbers = sorted(float(v) for v in values)
    except ValueError:
        numbers = []
    if numbers and len(set(values)) > 30:
        cuts = [numbers[len(numbers) // 3], numbers[2 * len(numbers) // 3]]

        def third(row: dict[str, Any]) -> list[str]:
            x = float(row[column])
            index = sum(x >= c for c in cuts)
            low = f"{numbers[0]:g}" if index == 0 else f"{cuts[index - 1]:g}"
            high = f"{cuts[index]:g}" if index < 2 else f"{numbers[-1]:g}"
            return [f"third {index + 1} ({low} to {high})"]

        return third
    return lambda row: [row[column]]


def accuracy_by(rows: list[dict[str, Any]], values: Any) -> dict[str, Any]:
    """Files, and fused, network and head accuracy, of the rows by each of ``values(row)``."""
    cells: dict[str, list[list[int]]] = defaultdict(list)
    for row in rows:
        for value in values(row):
            cells[value].append(row["answer"])
    table = {}
    for value in sorted(cells, key=lambda v: (-len(cells[v]), v)):
        answers = cells[value]
        if len(answers) < MIN_FILES:
            continue
        table[value] = {
            "files": len(answers),
            **{
                name: sum(a[0] == a[i] for a in answers) / len(answers)
                for i, name in ((1, "network"), (2, "head"), (3, "fused"))
            },
        }
    return table


def confusions(rows: list[dict[str, Any]], classes: list[str]) -> dict[str, dict[str, int]]:
    """Per true class, the classes its wrong fused answers went to, most first."""
    wrong: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        true, fused = row["answer"][0], row["answer"][3]
        if true != fused:
            wrong[classes[true]][classes[fused]] += 1
    return {k: dict(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in sorted(wrong.items())}


if __name__ == "__main__":
    main()
