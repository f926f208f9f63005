"""A task table file that is not what its suffix says gives one clear line, never a library error.

Random bytes saved as `.parquet`, a CSV that is not UTF-8 or has a ragged row, a JSON Lines file
with a broken line, an empty file of each kind: as the task's `source`, its `train_source`, or a
shift suite's `shifted_tasks` / `ood_sets` entry (loaded when the job is prepared). What can be
told without parsing (an empty file, a `.parquet` file without Parquet's `PAR1` marker) is refused
by `harness validate` and before `harness run` starts a job (exit 2); what only parsing finds fails
the job with one `error: job ... failed:` line naming the file (exit 1). Never a traceback, never
pyarrow's, pandas' or datasets' exception as the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.reliability.conftest import cli, error_lines

FEATURES = [f"f{i}" for i in range(10)]
TABMODEL = "{name: tm, factory: 'tests.fixture_models:linear_tabular', input_shape: [10]}"
LIBRARY_WORDS = ("ArrowInvalid", "StopIteration", "An error occurred while generating")


def _task(name: str, source: str, extra: str = "") -> str:
    return (
        f"{{name: {name}, source: {source}, feature_columns: [{', '.join(FEATURES)}], "
        f"label_column: y, num_classes: 2, modality: tabular, bounds: [0, 1]{extra}}}"
    )


def _good_csv(n: int = 30) -> str:
    rows = [",".join([*FEATURES, "y"])]
    rows += [
        ",".join([*(f"{(i + j) % 10 / 10:.1f}" for j in range(10)), str(i % 2)]) for i in range(n)
    ]
    return "\n".join(rows) + "\n"


def _good_parquet(path: Path) -> None:
    columns = {f: [(i + j) % 10 / 10 for i in range(30)] for j, f in enumerate(FEATURES)}
    pq.write_table(pa.table({**columns, "y": [i % 2 for i in range(30)]}), path)


def _parquet_cut_in_the_middle(path: Path) -> None:
    """A real Parquet file with its PAR1 markers intact and garbage in between."""
    _good_parquet(path)
    data = bytearray(path.read_bytes())
    data[4:-8] = os.urandom(len(data) - 12)
    path.write_bytes(bytes(data))


BAD_FILES = {  # name: (file name, writer, refused by validate, the line's words)
    "random-bytes-parquet": (
        "d.parquet",
        lambda p: p.write_bytes(os.urandom(300)),
        True,
        "d.parquet is not a Parquet file (no PAR1 marker",
    ),
    "csv-renamed-parquet": (
        "d.parquet",
        lambda p: p.write_text(_good_csv()),
        True,
        "give the file its real suffix",
    ),
    "parquet-markers-only": (
        "d.parquet",
        lambda p: p.write_bytes(b"PAR1PAR1"),
        True,
        "d.parquet is not a Parquet file",
    ),
    "parquet-damaged-footer": (  # validate reads the schema in the footer
        "d.parquet",
        _parquet_cut_in_the_middle,
        True,
        "d.parquet is not a readable Parquet file",
    ),
    "empty-parquet": ("d.parquet", lambda p: p.write_bytes(b""), True, "empty file (0 bytes)"),
    "empty-csv": ("d.csv", lambda p: p.write_bytes(b""), True, "d.csv is an empty file (0 bytes)"),
    "empty-jsonl": ("d.jsonl", lambda p: p.write_bytes(b""), True, "empty file (0 bytes)"),
    # starts with UTF-16's byte-order mark: refused by validate, which reads the first line
    "binary-csv": (
        "d.csv",
        lambda p: p.write_bytes(b"\xff\xfe\x00\x81garbage\x00\x9c" * 20),
        True,
        "d.csv is UTF-16 or UTF-32 text (it starts with that byte-order mark)",
    ),
    "utf16-csv": (
        "d.csv",
        lambda p: p.write_bytes(_good_csv().encode("utf-16")),
        True,
        "d.csv is UTF-16 or UTF-32 text",
    ),
    "not-utf8-cell": (
        "d.csv",
        lambda p: p.write_bytes(
            _good_csv().encode() + b"0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,\xff,1\n"
        ),
        False,
        "d.csv: column 'f9', row 31 is not UTF-8 text (byte 0xff",
    ),
    "ragged-csv": (
        "d.csv",
        lambda p: p.write_text(_good_csv() + "1,2,3,4,5,6,7,8,9,0,1,2,3,4\n"),
        False,
        "d.csv: line 32 has 14 field(s) where the header has 11: '1,2,3,4,5,6,7,8,9,0,1,2,3,4'",
    ),
    "broken-jsonl-line": (
        "d.jsonl",
        lambda p: p.write_text('{"f0": 0.1, "y": 0}\n{"f0": 0.2, "y\n'),
        False,
        "d.jsonl is not a readable JSON table",
    ),
    "blank-jsonl": ("d.jsonl", lambda p: p.write_text("\n\n  \n"), False, "it holds no rows"),
    # `null` alone made datasets' JSON reader segfault (exit 139, the whole process): refused
    # before any reader sees it, like any file that is one JSON scalar
    "json-null": (
        "d.json",
        lambda p: p.write_text(" \n null"),
        True,
        "d.json does not start with a JSON object or array (it starts with 'n')",
    ),
    "jsonl-number": (
        "d.jsonl",
        lambda p: p.write_text("\ufeff42\n"),
        True,
        "does not start with a JSON object or array (it starts with '4')",
    ),
}


def _check(code: int, err: str, want_code: int, words: str) -> str:
    assert "Traceback" not in err, err
    lines = error_lines(err)
    if want_code == 1:
        lines = [ln for ln in lines if ln.startswith("error: job ")]
    assert code == want_code, err
    assert len(lines) == 1, err
    line = lines[0]
    assert words in line, line
    assert not any(w in line for w in LIBRARY_WORDS), line
    assert "\n" not in line and len(line) < 1000
    assert line.isprintable(), line  # a file's bytes in a library's words are not echoed raw
    return line


def _write(tmp_path: Path, case: str, tasks: str, suites: str = "{accuracy: {}}") -> Path:
    name, writer, _, _ = BAD_FILES[case]
    writer(tmp_path / name)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"bootstrap_resamples: 20\ntasks: [{tasks}]\nmodels: [{TABMODEL}]\nsuites: {suites}\n"
    )
    return spec


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_damaged_table_source(case: str, tmp_path: Path) -> None:
    file, _, at_validate, words = BAD_FILES[case]
    spec = _write(tmp_path, case, _task("t", file))
    code, _, err = cli("validate", spec)
    if at_validate:
        line = _check(code, err, 2, words)
        assert f"task 't': source file {tmp_path / file}" in line
    else:
        assert code == 0, err  # only parsing tells; validate parses no table
    code, _, err = cli("run", spec, "--out", tmp_path / "out", "--limit", "20")
    line = _check(code, err, 2 if at_validate else 1, words)
    assert f"task 't': source file {tmp_path / file}" in line


@pytest.mark.parametrize("case", ["random-bytes-parquet", "ragged-csv"])
def test_a_damaged_train_source_is_named_by_its_key(case: str, tmp_path: Path) -> None:
    file, _, at_validate, words = BAD_FILES[case]
    (tmp_path / "good.csv").write_text(_good_csv())
    spec = _write(tmp_path, case, _task("t", "good.csv", f", train_source: {file}"))
    code, _, err = cli("run", spec, "--out", tmp_path / "out", "--limit", "20")
    line = _check(code, err, 2 if at_validate else 1, words)
    assert f"task 't': train_source file {tmp_path / file}" in line


@pytest.mark.parametrize("setting", ["shifted_tasks", "ood_sets"])
@pytest.mark.parametrize("case", ["random-bytes-parquet", "empty-csv", "ragged-csv", "blank-jsonl"])
def test_a_damaged_shift_suite_entry(case: str, setting: str, tmp_path: Path) -> None:
    file, _, at_validate, words = BAD_FILES[case]
    (tmp_path / "good.csv").write_text(_good_csv())
    entry = _task("moved", file)
    suites = f"{{shift: {{severities: [1], max_samples: 20, {setting}: [{entry}]}}}}"
    spec = _write(tmp_path, case, _task("t", "good.csv"), suites)
    code, _, err = cli("validate", spec)
    if at_validate:
        _check(code, err, 2, words)
    else:
        assert code == 0, err
    code, _, err = cli("run", spec, "--out", tmp_path / "out", "--limit", "20")
    line = _check(code, err, 2 if at_validate else 1, words)
    assert f"task 'moved': source file {tmp_path / file}" in line


def test_one_bad_file_among_several_names_the_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text(_good_csv())
    (data / "b.csv").write_text(_good_csv() + "1,2,3,4,5,6,7,8,9,0,1,2,3\n")  # ragged
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"bootstrap_resamples: 20\ntasks: [{_task('t', 'data')}]\nmodels: [{TABMODEL}]\n"
        "suites: {accuracy: {}}\n"
    )
    code, _, err = cli("run", spec, "--out", tmp_path / "out", "--limit", "20")
    line = _check(code, err, 1, "b.csv: line 32 has 13 field(s) where the header has 11")
    assert f"task 't': source file {data / 'b.csv'}" in line  # the file at fault, by name


def test_a_good_parquet_file_still_loads(tmp_path: Path) -> None:
    _good_parquet(tmp_path / "d.parquet")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"bootstrap_resamples: 20\ntasks: [{_task('t', 'd.parquet')}]\nmodels: [{TABMODEL}]\n"
        "suites: {accuracy: {}}\n"
    )
    assert cli("validate", spec)[0] == 0
    code, _, err = cli("run", spec, "--out", tmp_path / "out", "--limit", "20")
    assert code == 0, err
