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

With ``--scores DIR`` (the music21 corpus the genre generator read, e.g.
``.bench-venv/lib/python3.11/site-packages/music21/corpus``), each ABC tune's written metre
(its ``M:`` header: the dances and folk songs) and rhythm (``R:``, the tune book's word for
its dance, where it names one of the classes) are joined too, as ``<label> in <metre>
(R: <rhythm>)``, and reported for every value however few files hold it: a class named from
a tune's title (``...Jig.abc``) need not be written in that class's metre.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
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
    parser.add_argument(
        "--scores", type=Path, help="the corpus of the manifest's 'source' (ABC tunes' metres)"
    )
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
        if args.scores is not None and "source" in row:  # the genres' scores
            metre, rhythm = (abc_field(args.scores, row["source"], f) for f in "MR")
            if not any(re.search(rf"{name}\b", rhythm) for name in record["classes"]):
                rhythm = "-"  # a folk song's subject ("liebes - lied"), not a dance
            row["metre"] = f"{row['label']} in {metre} (R: {rhythm})"
        if "source" in row:  # the corpus collection (the composer, the tune book)
            row["source"] = row["source"].split("/")[0]
    classes = record["classes"]
    report: dict[str, Any] = {"key": args.key, "files": len(rows), "by": {}}
    report["by"]["label"] = accuracy_by(rows, lambda r: [r["label"]])
    report["by"]["label"]["confused with"] = confusions(rows, classes)
    for column in [c for c in rows[0] if c not in SKIP | {"answer", "metre"}]:
        report["by"][column] = accuracy_by(rows, binning(rows, column))
    if args.scores is not None and "metre" in rows[0]:
        report["by"]["metre"] = accuracy_by(rows, lambda r: [r["metre"]], min_files=1)
        report["by"]["metre"]["confused with"] = confusions(rows, classes, key="metre")
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


def abc_field(corpus: Path, source: str, field: str) -> str:
    """Header ``field`` (``"M"``, ``"R"``) of the ABC tune ``source`` (``book.abc[#X11]``), or '-'.

    A header before the first ``X:`` is the book's default; a tune's own overrides it.
    """
    path, _, tune = source.partition("#X")
    if not path.endswith(".abc"):
        return "-"
    value = "-"
    current = None
    for line in (corpus / path).read_text(errors="replace").splitlines():
        if match := re.match(r"X:\s*(\d+)", line):
            if current is not None and (current == tune or not tune):
                break  # the tune's header is behind us
            current = match.group(1)
        elif (match := re.match(rf"{field}:\s*(\S.*)", line)) and (
            current is None or current == tune or not tune
        ):
            value = match.group(1).strip().lower()
    return value


def accuracy_by(
    rows: list[dict[str, Any]], values: Any, min_files: int = MIN_FILES
) -> dict[str, Any]:
    """Files, and fused, network and head accuracy, of the rows by each of ``values(row)``."""
    cells: dict[str, list[list[int]]] = defaultdict(list)
    for row in rows:
        for value in values(row):
            cells[value].append(row["answer"])
    table = {}
    for value in sorted(cells, key=lambda v: (-len(cells[v]), v)):
        answers = cells[value]
        if len(answers) < min_files:
            continue
        table[value] = {
            "files": len(answers),
            **{
                name: sum(a[0] == a[i] for a in answers) / len(answers)
                for i, name in ((1, "network"), (2, "head"), (3, "fused"))
            },
        }
    return table


def confusions(
    rows: list[dict[str, Any]], classes: list[str], key: str | None = None
) -> dict[str, dict[str, int]]:
    """Per true class (or value of ``key``), the classes its wrong fused answers went to."""
    wrong: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        true, fused = row["answer"][0], row["answer"][3]
        if true != fused:
            wrong[classes[true] if key is None else row[key]][classes[fused]] += 1
    return {k: dict(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in sorted(wrong.items())}


if __name__ == "__main__":
    main()
