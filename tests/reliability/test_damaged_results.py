"""A results folder whose files were replaced by ones with a valid checksum but a wrong shape
(rewritten by another tool, or resealed after a hand edit): every reader fails closed with one
line naming the file, never a traceback or a record carrying a wrong number, and never touches
the folder. (Damage without a matching checksum is covered by test_fuzz.py and
test_corruption_detection.py.) Uses a copy of the committed quickstart baseline: no run needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.core.errors import ResultsError
from harness.core.hashing import file_sha256
from harness.store.checksums import seal
from harness.store.run_store import read_job
from tests.reliability.conftest import REPO, cli, error_lines

BASELINE = REPO / "results" / "baselines" / "quickstart"
ACCURACY_JOB = "diabetes-logreg--diabetes--accuracy--"


@pytest.fixture
def results(tmp_path: Path) -> Path:
    shutil.copytree(BASELINE, tmp_path / "results")
    return tmp_path / "results"


def _job(results: Path) -> Path:
    return next(p for p in results.glob("runs/*/jobs/*") if p.name.startswith(ACCURACY_JOB))


def _reseal(job: Path) -> None:
    """What a tool that 'fixes up' a job folder does: record the files' hashes, reseal job.json."""
    record = json.loads((job / "job.json").read_text())
    record["files"] = {name: file_sha256(job / name) for name in record["files"]}
    (job / "job.json").write_text(json.dumps(seal(record), indent=2, sort_keys=True))


def _folder_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        h.update(f"{p.relative_to(root)}|{st.st_mode}|{st.st_mtime_ns}".encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def _edit_first(key: str, value: object) -> Callable[[list[dict]], object]:
    def edit(records: list[dict]) -> object:
        records[0][key] = value
        return records

    return edit


METRICS_SHAPES: dict[str, tuple[Callable[[list[dict]], object], str]] = {
    # case: (edit of the parsed metrics.json, words the line must hold)
    "ci-three-numbers": (_edit_first("ci", [0.1, 0.2, 0.3]), "has ci a JSON list of 3"),
    "ci-reversed": (_edit_first("ci", [0.9, 0.1]), "interval [low, high]"),
    "value-true": (_edit_first("value", True), "has value true"),
    "value-abc": (_edit_first("value", "abc"), 'has value "abc"'),
    "value-nan": (_edit_first("value", float("nan")), "has value nan"),
    "value-infinity": (_edit_first("value", float("inf")), "has value inf"),
    "value-beyond-float": (_edit_first("value", 10**400), "not a finite number or null"),
    "fraction-above-one": (_edit_first("value", 1.5), "value 1.5, a fraction outside [0, 1]"),
    "fraction-outside-interval": (
        lambda records: [dict(records[0], value=0.5, ci=[0.6, 0.7], ci_method="Wilson")],
        "value 0.5 outside its own interval [0.6, 0.7]",
    ),
    "n-negative": (_edit_first("n", -5), "has n -5"),
    "n-float": (_edit_first("n", 1.5), "has n 1.5"),
    "direction-string": (_edit_first("higher_is_better", "no"), 'higher_is_better "no"'),
    "context-list": (_edit_first("context", ["a"]), "has context a JSON list"),
    "flags-string": (_edit_first("flags", "small_n"), 'has flags "small_n"'),
    "metric-number": (_edit_first("metric", 7), "has metric 7"),
    "list-of-strings": (lambda records: ["a", "b"], 'record 0 is "a"'),
    "an-object": (lambda records: {"top1_acc": 0.7}, "expected a JSON list"),
    "unknown-field": (lambda records: [dict(records[0], bogus=1)], "unknown field 'bogus'"),
    "duplicate-record": (
        lambda records: [*records, dict(records[0])],
        "both give 'top1_acc'",
    ),
    "no-value-field": (
        lambda records: [{k: v for k, v in records[0].items() if k != "value"}],
        "no 'value' field",
    ),
}


@pytest.mark.parametrize("case", sorted(METRICS_SHAPES))
def test_metrics_of_the_wrong_shape_are_refused(results: Path, case: str) -> None:
    edit, words = METRICS_SHAPES[case]
    job = _job(results)
    path = job / "metrics.json"
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    _reseal(job)
    with pytest.raises(ResultsError) as caught:
        read_job(job)
    message = str(caught.value)
    assert str(path) in message and words in message and "\n" not in message, message


def test_intact_metrics_still_read(results: Path) -> None:
    job = _job(results)
    _reseal(job)
    assert read_job(job).metrics[0].metric == "top1_acc"


def test_wrong_shape_metrics_give_one_line_from_every_reader(results: Path) -> None:
    job = _job(results)
    path = job / "metrics.json"
    records = json.loads(path.read_text())
    records[0]["ci"] = [0.1, 0.2, 0.3]
    path.write_text(json.dumps(records))
    _reseal(job)
    before = _folder_digest(results)
    policy = REPO / "results" / "baselines" / "quickstart-policy.yaml"
    run = next(results.glob("runs/*"))
    for args in (
        ("leaderboard", results),
        ("variants", results),
        ("groups", results),
        ("check", "--baseline", BASELINE / "runs" / run.name, "--current", run, "--policy", policy),
    ):
        code, _, err = cli(*args)
        lines = error_lines(err)
        assert code == 2 and len(lines) == 1 and "metrics.json" in lines[0], (args[0], err)
        assert "Traceback" not in err
    assert _folder_digest(results) == before


@pytest.mark.parametrize("damage", ["random-bytes", "truncated", "empty"])
def test_unreadable_sample_table_with_a_valid_checksum_is_one_line(
    results: Path, damage: str
) -> None:
    job = _job(results)
    table = job / "samples.parquet"
    raw = table.read_bytes()
    table.write_bytes(
        {"random-bytes": os.urandom(len(raw)), "truncated": raw[: len(raw) // 2], "empty": b""}[
            damage
        ]
    )
    _reseal(job)
    before = _folder_digest(results)
    for args in (("leaderboard", results), ("groups", results)):
        code, _, err = cli(*args)
        lines = error_lines(err)
        assert code == 2 and len(lines) == 1, (args[0], err)
        assert str(table) in lines[0] and "rerun the job" in lines[0]
        assert "Traceback" not in err and "\n" not in lines[0]
    assert _folder_digest(results) == before


RETYPED = {  # a required column rewritten with the wrong type, and the type the refusal names
    "correct": (lambda v: "True" if v else "False", "correct"),
    "label": (float, "label"),
    "confidence": (str, "confidence"),
}


@pytest.mark.parametrize("column", sorted(RETYPED))
def test_a_sample_table_with_a_column_of_the_wrong_type_is_one_line(
    results: Path, column: str
) -> None:
    """A table rewritten by another tool with `correct` as the strings "True"/"False" (or labels
    as floats, confidences as text) and resealed: accuracies averaged over strings, and the
    report crashed. Every reader refuses it, naming the file and the column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    job = _job(results)
    table = job / "samples.parquet"
    arrow = pq.read_table(table)
    convert, named = RETYPED[column]
    values = pa.array([convert(v) for v in arrow.column(column).to_pylist()])
    pq.write_table(arrow.set_column(arrow.schema.get_field_index(column), column, values), table)
    _reseal(job)
    before = _folder_digest(results)
    for args in (
        ("leaderboard", results),
        ("groups", results, "--by", "label"),
        ("report", results, "--out", results.parent / "site"),
        ("check", "--baseline", results, "--current", results),
    ):
        code, _, err = cli(*args)
        lines = error_lines(err)
        assert code == 2 and len(lines) == 1, (args[0], err)
        assert str(table) in lines[0] and f"column {named!r}" in lines[0], lines[0]
        assert "Traceback" not in err
    assert _folder_digest(results) == before


@pytest.mark.slow  # runs and damages a variant folder (make test-slow; CI runs it)
def test_variants_refuse_incomplete_results_as_the_leaderboard_does(results: Path) -> None:
    """A job folder gone (or a run's jobs/ replaced by a file) would drop a variant or its parent
    from `harness variants` silently: refused with one line, as by the leaderboard; with
    --allow-partial every comparison on the task says PARTIAL and which job is missing."""
    run = next(results.glob("runs/*"))
    shutil.rmtree(next((run / "jobs").glob("digits-cnn--digits--shift--*")))
    before = _folder_digest(results)
    for command in ("leaderboard", "variants"):
        code, _, err = cli(command, results)
        lines = error_lines(err)
        assert code == 2 and len(lines) == 1 and "digits-cnn × digits × shift" in lines[0], err
    code, out, err = cli("variants", results, "--format", "json", "--allow-partial")
    assert code == 0, err
    notes = {c["variant_model"]: c["notes"] for c in json.loads(out) if c["task"] == "digits"}
    assert notes and all("PARTIAL" in n[0] and "digits-cnn × digits × shift" in n[0]
                         for n in notes.values()), notes  # fmt: skip
    assert _folder_digest(results) == before

    shutil.rmtree(run / "jobs")
    (run / "jobs").write_text("not a folder")
    code, _, err = cli("variants", results)
    assert code == 2 and len(error_lines(err)) == 1 and "Traceback" not in err, err
