"""Local table files read through Arrow: layouts, encodings, missing values and bad input.

Each bad file is refused in one line that names the file, the column and the row (or the count),
never with a library's traceback and never as a silently wrong matrix.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from harness.core.errors import DatasetError
from harness.core.validation import format_validation_error
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec


def load(folder: Path, **kw: object) -> object:
    fields = {"name": "t", "modality": "tabular", **kw}
    return load_task(TaskSpec.model_validate(fields), base_dir=folder)


def refused(folder: Path, match: str, **kw: object) -> str:
    with pytest.raises(DatasetError, match=match) as err:
        load(folder, **kw)
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


CSV = "a,b,colour,label\n1,10,red,0\n2,20,blue,1\n3,30,red,0\n4,40,green,1\n"


def test_csv_tsv_whitespace_and_headerless_files_give_one_matrix(tmp_path: Path) -> None:
    write(tmp_path, "c.csv", CSV)
    write(tmp_path, "t.tsv", CSV.replace(",", "\t"))
    write(tmp_path, "w.txt", CSV.replace(",", "   ").replace("\n", "  \n"))
    write(tmp_path, "h.data", "".join(CSV.splitlines(keepends=True)[1:]).replace(",", ", "))
    common = {"one_hot": {"colour": ["red", "green", "blue"]}}
    tasks = [
        load(tmp_path, source="c.csv", **common),
        load(tmp_path, source="t.tsv", **common),
        load(tmp_path, source="w.txt", **common),
        load(tmp_path, source="h.data", column_names=["a", "b", "colour", "label"], **common),
    ]
    first = tasks[0]
    assert first.feature_names == ("a", "b", "colour=red", "colour=green", "colour=blue")
    expected = [[1, 10, 1, 0, 0], [2, 20, 0, 0, 1], [3, 30, 1, 0, 0], [4, 40, 0, 1, 0]]
    for task in tasks:
        assert task.all_inputs().numpy().tolist() == expected
        assert task.labels.tolist() == [0, 1, 0, 1]
        assert task.fingerprint == first.fingerprint
    # one-hot features are boxed in [0, 1] whatever the data holds
    assert first.feature_bounds[2:] == ((0.0, 1.0),) * 3


def test_parquet_and_json_lines_read_the_same_rows(tmp_path: Path) -> None:
    frame = pd.read_csv(pd.io.common.StringIO(CSV))
    frame.to_parquet(tmp_path / "p.parquet")
    frame.to_json(tmp_path / "j.jsonl", orient="records", lines=True)
    frame.to_json(tmp_path / "a.json", orient="records")
    prints = {
        load(tmp_path, source=name, feature_columns=["a", "b"]).fingerprint
        for name in ("p.parquet", "j.jsonl", "a.json")
    }
    assert len(prints) == 1


def test_missing_markers_are_counted_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, "m.csv", "a,colour,label\n1,red,0\n?,blue,1\n3, ?,0\n4,,1\n5,red,0\n")
    message = refused(
        tmp_path,
        r"feature column 'a' has 1 missing cell\(s\) \(empty, .*NaN\) in split 'test', first at row 2 "
        r"of .*m.csv",
        source="m.csv",
        one_hot={"colour": None},
    )
    assert "missing_rows: drop" in message
    caplog.set_level(logging.WARNING)
    task = load(tmp_path, source="m.csv", one_hot={"colour": None}, missing_rows="drop")
    assert task.labels.tolist() == [0, 0, 1, 0]  # row 2 dropped; ' ?' and '' are missing colours
    x = task.all_inputs().numpy()
    assert task.feature_names == ("a", "colour=blue", "colour=red")
    assert x[:, 1:].tolist() == [[0, 1], [0, 0], [0, 0], [0, 1]]
    report = " ".join(r.getMessage() for r in caplog.records)
    assert "3 missing cell(s)" in report and "colour 2" in report and "a 1" in report
    assert "dropped 1 of 5 rows" in report
    # markers are configurable: '-' means missing, '?' is then a value
    write(tmp_path, "d.csv", "a,label\n1,0\n-,1\n3,0\n")
    refused(tmp_path, r"'a' has 1 missing cell", source="d.csv", missing_values=["-"])


def test_ordinal_and_text_labels_named_by_class_names(tmp_path: Path) -> None:
    write(tmp_path, "o.csv", "size,y\nS,no\nL,yes\nM,no\nL,yes\n")
    task = load(
        tmp_path,
        source="o.csv",
        label_column="y",
        class_names=["no", "yes"],
        ordinal={"size": ["S", "M", "L"]},
    )
    assert task.all_inputs().numpy()[:, 0].tolist() == [0, 2, 1, 2]
    assert task.labels.tolist() == [0, 1, 0, 1] and task.feature_bounds == ((0.0, 2.0),)
    refused(
        tmp_path,
        r"label column 'y' holds text \(e.g. 'no'\); list the classes in class_names",
        source="o.csv",
        label_column="y",
        ordinal={"size": ["S", "M", "L"]},
    )
    refused(
        tmp_path,
        r"column 'size', row 2 of .*o.csv reads 'L', which ordinal.size does not list \(2 such",
        source="o.csv",
        label_column="y",
        class_names=["no", "yes"],
        ordinal={"size": ["S", "M"]},
    )
    # a label class_names lacks: the key is class_names (one list, not per column) and its
    # entries are the model's outputs, not its inputs
    refused(
        tmp_path,
        r"column 'y', row 2 of .*o.csv reads 'yes', which class_names does not list \(2 such "
        r".*add it to the list \(entry i is the model's output i\)$",
        source="o.csv",
        label_column="y",
        class_names=["no", "maybe"],
        ordinal={"size": ["S", "M", "L"]},
    )


def test_numbers_listed_unquoted_match_the_cells_they_name(tmp_path: Path) -> None:
    """YAML reads `ordinal: {grade: [1, 2, 3]}` as numbers; they were refused with one
    "should be a valid string" per entry. A listed number is the text its cell reads."""
    write(tmp_path, "g.csv", "grade,score,y\n1,0.5,0\n3,1.5,1\n2,2.5,0\n3,0.5,1\n")
    task = load(
        tmp_path,
        source="g.csv",
        label_column="y",
        ordinal={"grade": [1, 2, 3.0]},
        one_hot={"score": [0.5, 1.5, 2.5]},
    )
    assert task.all_inputs().numpy().tolist() == [
        [0, 1, 0, 0],
        [2, 0, 1, 0],
        [1, 0, 0, 1],
        [2, 1, 0, 0],
    ]
    quoted = load(tmp_path, source="g.csv", label_column="y", ordinal={"grade": ["1", "2", "3"]})
    assert quoted.all_inputs().numpy()[:, 0].tolist() == [0, 2, 1, 2]


def test_listed_floats_read_as_their_cells_write_them(tmp_path: Path) -> None:
    """A listed float is the text its cell reads: `0.00001` was taken as '1e-05' and
    `123456789012.5` as '123456789012.5' where the cells read '0.00001' and
    '1.234567890125e+11', so the column was refused as holding values its list names."""
    write(tmp_path, "f.csv", "a,b,y\n0.00001,123456789012.5,0\n0.5,2.5,1\n")
    task = load(
        tmp_path,
        source="f.csv",
        label_column="y",
        ordinal={"a": [0.5, 0.00001]},
        one_hot={"b": [2.5, 123456789012.5]},
    )
    assert task.all_inputs().numpy().tolist() == [[1, 0, 1], [0, 1, 0]]


def test_whole_numbers_beyond_int64_are_read_as_numbers_not_a_traceback(tmp_path: Path) -> None:
    """A category column of whole numbers beyond int64 (1e20) or infinite was cast to int64:
    Arrow's "Float value ... was truncated" traceback instead of the cells' text."""
    write(tmp_path, "w.csv", "a,b,y\n1e20,inf,0\n2,3,1\n")
    task = load(
        tmp_path, source="w.csv", label_column="y", ordinal={"a": [2, 1.0e20]}, one_hot={"b": None}
    )
    assert task.feature_names == ("a", "b=3", "b=inf")
    assert task.all_inputs().numpy().tolist() == [[1, 0, 1], [0, 1, 0]]


def test_listed_number_too_large_for_a_float_is_refused_in_one_line() -> None:
    """A whole number beyond a float's range in a list raised OverflowError from the spec
    check (a traceback from `harness validate`)."""
    with pytest.raises(ValidationError) as err:
        TaskSpec.model_validate(
            {"name": "t", "modality": "tabular", "source": "x.csv", "ordinal": {"a": [10**400]}}
        )
    message = format_validation_error(err.value, prefix="tasks.0")
    assert message.startswith("tasks.0.ordinal.a.0: ")
    assert "\n" not in message


def test_bom_is_skipped_and_wide_encodings_need_encoding(tmp_path: Path) -> None:
    write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + CSV.encode())
    assert load(tmp_path, source="bom.csv", feature_columns=["a"]).labels.tolist() == [0, 1, 0, 1]
    write(tmp_path, "u16.csv", CSV.encode("utf-16"))
    refused(tmp_path, r"u16.csv is UTF-16 or UTF-32 text .*set encoding", source="u16.csv")
    task = load(tmp_path, source="u16.csv", feature_columns=["a"], encoding="utf-16")
    assert task.labels.tolist() == [0, 1, 0, 1]


def test_quoted_newlines_and_delimiters_stay_in_their_cell(tmp_path: Path) -> None:
    write(tmp_path, "q.csv", 'a,note,label\n1,"one, two",0\n2,"line\nbreak",1\n3,plain,0\n')
    task = load(tmp_path, source="q.csv", feature_columns=["a"], group_columns=["note"])
    assert task.labels.tolist() == [0, 1, 0]
    assert task.groups()["note"].tolist() == ["one, two", "line\nbreak", "plain"]


def test_semicolons_ragged_rows_and_headers_are_refused_by_line(tmp_path: Path) -> None:
    write(tmp_path, "s.csv", "a;b;label\n1;2,5;0\n3;4;1\n")
    refused(
        tmp_path, r"s.csv: its first line .*holds ';' and no ','.*delimiter: ';'", source="s.csv"
    )
    # declared, the decimal comma is refused as not a number, not read as a wrong value
    refused(
        tmp_path,
        r"column 'b' in split 'test' is not numeric \(1 of its 2 cells.*row 1 of .*s.csv: '2,5'",
        source="s.csv",
        delimiter=";",
    )
    write(tmp_path, "r.csv", "a,b,label\n1,2,0\n3,4,1,9\n5,6,0\n")
    refused(
        tmp_path,
        r"r.csv: line 3 has 4 field\(s\) where the header has 3: '3,4,1,9'",
        source="r.csv",
    )
    write(tmp_path, "n.csv", "1,2,0\n3,4,1\n")
    refused(tmp_path, r"n.csv: its first line holds numbers only .*column_names", source="n.csv")
    write(tmp_path, "i.csv", ",a,label\n0,1,0\n1,2,1\n")
    refused(tmp_path, r"i.csv: column 1 of the header has no name", source="i.csv")
    write(tmp_path, "d.csv", "a,a,label\n0,1,0\n1,2,1\n")
    refused(tmp_path, r"d.csv: the header names column 'a' twice", source="d.csv")


def test_bytes_that_are_not_utf8_are_named_by_column_and_row(tmp_path: Path) -> None:
    write(tmp_path, "x.csv", b"a,city,label\n1,Paris,0\n2,Z\xfcrich,1\n")
    refused(
        tmp_path,
        r"x.csv: column 'city', row 2 is not UTF-8 text \(byte 0xfc .*set encoding",
        source="x.csv",
        feature_columns=["a"],
    )
    task = load(
        tmp_path, source="x.csv", feature_columns=["a"], group_columns=["city"], encoding="latin-1"
    )
    assert task.groups()["city"].tolist() == ["Paris", "Zürich"]


def test_unparsable_cells_over_one_percent_refuse_the_column(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    values = [str(v) for v in range(300)]
    values[7] = "n.a."
    write(
        tmp_path, "few.csv", "a,label\n" + "".join(f"{v},{i % 2}\n" for i, v in enumerate(values))
    )
    caplog.set_level(logging.WARNING)
    # 0.3%: missing; the error line itself says the cell is not a number (the user sees it
    # last, after the warnings: at 1,000,000 rows "(empty, a missing_values marker or NaN)"
    # alone sent them looking for an empty cell)
    refused(
        tmp_path,
        r"'a' has 1 missing cell\(s\) \(empty, a missing_values marker or NaN; 1 of them not a "
        r"number, e.g. 'n.a.'\).*row 8 of",
        source="few.csv",
    )
    assert any("are not numbers (first row 8 of" in r.getMessage() for r in caplog.records)
    values[9] = values[11] = values[13] = "n.a."
    write(
        tmp_path, "many.csv", "a,label\n" + "".join(f"{v},{i % 2}\n" for i, v in enumerate(values))
    )
    refused(
        tmp_path,
        r"column 'a' in split 'test' is not numeric \(4 of its 300 cells, 1.3%, are not numbers; "
        r"first at row 8 of .*many.csv: 'n.a.'",
        source="many.csv",
    )


def test_a_constant_column_is_reported_and_one_class_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, "k.csv", "a,b,label\n1,5,0\n2,5,1\n3,5,0\n")
    caplog.set_level(logging.WARNING)
    task = load(tmp_path, source="k.csv")
    assert task.feature_bounds[1] == (5.0, 5.0)
    assert any("'b' (5) hold one value in every row" in r.getMessage() for r in caplog.records)
    caplog.clear()  # an unlabelled table is an OOD set: scored, never trained on or attacked
    load(tmp_path, source="k.csv", label_column=None)
    assert not any("hold one value" in r.getMessage() for r in caplog.records)
    write(tmp_path, "one.csv", "a,label\n1,0\n2,0\n3,0\n")
    refused(
        tmp_path, r"label column 'label' holds a single class \(0\) in all 3 rows", source="one.csv"
    )
    # declared, a single-class split is allowed (with a warning)
    assert load(tmp_path, source="one.csv", num_classes=2).num_classes == 2


def test_ids_refuse_empty_cells_and_keep_leading_zeros(tmp_path: Path) -> None:
    write(tmp_path, "ids.csv", "id,a,label\n007,1,0\n008,2,1\n")
    assert load(tmp_path, source="ids.csv", id_column="id").sample_ids == ["007", "008"]
    write(tmp_path, "e.csv", "id,a,label\n007,1,0\n,2,1\n009,3,0\n")
    refused(
        tmp_path,
        r"id column 'id' has 1 empty cell\(s\) in split 'test' \(first: row 2 of .*e.csv\)",
        source="e.csv",
        id_column="id",
    )
    write(tmp_path, "dup.csv", "id,a,label\nx,1,0\ny,2,1\nx,3,0\n")
    refused(
        tmp_path,
        r"duplicate ids .*'x' at row 1 of .*dup.csv and row 3 of",
        source="dup.csv",
        id_column="id",
    )


def test_rows_of_a_split_of_several_files_are_named_in_their_file(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    write(folder, "a.csv", "a,label\n1,0\n2,1\n")
    write(folder, "b.csv", "a,label\n3,0\n?,1\n")
    refused(tmp_path, r"'a' has 1 missing cell.* first at row 2 of .*b.csv", source="parts")


def test_an_empty_group_cell_fails_only_the_group_readers(tmp_path: Path) -> None:
    write(tmp_path, "g.csv", "a,sex,label\n1,m,0\n2,,1\n3,f,0\n4,f,1\n")
    task = load(tmp_path, source="g.csv", feature_columns=["a"], group_columns=["sex"])
    assert len(task) == 4 and "sex" not in task.groups().columns
    with pytest.raises(DatasetError, match=r"group column 'sex' has 1 empty .*row 2 of .*g.csv"):
        task.check_groups(["sex"])


def test_group_values_written_in_two_unicode_forms_are_one_group(tmp_path: Path) -> None:
    """'café' written composed (U+00E9) and decomposed (e + U+0301) printed alike but were two
    groups of the fairness suite (two rows named café in every table): group values are read
    in Unicode's composed form (NFC), as they are trimmed."""
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    rows = f"a,city,label\n1,{composed},0\n2,{decomposed},1\n3,x,0\n4, {decomposed},1\n"
    write(tmp_path, "u.csv", rows)
    task = load(tmp_path, source="u.csv", feature_columns=["a"], group_columns=["city"])
    assert list(task.groups()["city"]) == [composed, composed, "x", composed]


def test_a_nested_group_column_fails_only_the_group_readers_naming_it(tmp_path: Path) -> None:
    """A Parquet group column of lists failed the task's every job (accuracy included) with
    a traceback and pyarrow's "Unsupported cast from list<element: int64> to utf8", naming no
    column. It is now a problem of that column alone, as an empty cell is."""
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "tags": [[1], [1, 2], [3], [1]]})
    frame.assign(label=[0, 1, 0, 1]).to_parquet(tmp_path / "n.parquet")
    task = load(tmp_path, source="n.parquet", feature_columns=["a"], group_columns=["tags"])
    assert len(task) == 4
    with pytest.raises(
        DatasetError,
        match=r"^task 't': group column 'tags' holds list<.*> values in split 'test'; a group "
        r"column holds one value per row",
    ):
        task.check_groups(["tags"])
    frame.assign(label=[0, 1, 0, 1], tags=[b"a", b"\xff\xfe", b"a", b"b"]).to_parquet(
        tmp_path / "b.parquet"
    )
    task = load(tmp_path, source="b.parquet", feature_columns=["a"], group_columns=["tags"])
    with pytest.raises(DatasetError, match=r"group column 'tags' \(binary\) in split 'test' does"):
        task.check_groups(["tags"])


def test_numbers_beyond_float32_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "big.csv", "a,label\n1,0\n1e39,1\n")
    refused(tmp_path, r"'a' in split 'test' holds an infinite value .*row 2 of", source="big.csv")


def test_a_value_past_the_first_block_that_breaks_its_type_is_still_found(
    tmp_path: Path,
) -> None:
    """Files are read block by block (1 MiB); a column typed as numbers by the first block with
    a cell that is not a number in a later one is read again whole, not refused as broken."""
    rows = [f"{100000 + i},{i % 2}" for i in range(160_000)]
    rows[150_000] = "n.a.,0"
    write(tmp_path, "long.csv", "a,label\n" + "\n".join(rows) + "\n")
    assert (tmp_path / "long.csv").stat().st_size > 1 << 20
    refused(tmp_path, r"'a' has 1 missing cell\(s\) .*row 150001 of .*long.csv", source="long.csv")
    task = load(tmp_path, source="long.csv", missing_rows="drop")
    assert len(task) == 159_999


def test_validate_reads_the_first_line_of_delimited_files(tmp_path: Path) -> None:
    from harness.data.sources import check_task_source

    def check(**kw: object) -> None:
        fields = {"name": "t", "modality": "tabular", **kw}
        check_task_source(TaskSpec.model_validate(fields), tmp_path)

    write(tmp_path, "s.csv", "a;b;label\n1;2;0\n")
    with pytest.raises(DatasetError, match=r"s.csv: its first line .*delimiter: ';'"):
        check(source="s.csv")
    write(tmp_path, "h.csv", "1,2,0\n3,4,1\n")
    with pytest.raises(DatasetError, match=r"h.csv: its first line holds numbers only"):
        check(source="h.csv")
    with pytest.raises(DatasetError, match=r"first line has 3 field\(s\) but column_names names 2"):
        check(source="h.csv", column_names=["a", "label"])
    check(source="h.csv", column_names=["a", "b", "label"])


def test_validate_finds_a_named_column_the_header_lacks(tmp_path: Path) -> None:
    """A typo'd label, id, group or feature column is found by `harness validate` from the first
    line, naming the key, instead of failing every job of the run at load."""
    from harness.data.sources import check_task_source

    def check(**kw: object) -> None:
        fields = {"name": "t", "modality": "tabular", "source": "c.csv", **kw}
        check_task_source(TaskSpec.model_validate(fields), tmp_path)

    write(tmp_path, "c.csv", CSV)
    write(tmp_path, "train.csv", CSV)
    check(feature_columns=["a", "b"], group_columns=["colour"])
    cases: dict[str, tuple[dict[str, object], str]] = {
        "label_column": (dict(label_column="y"), "y"),
        "group_columns": (dict(group_columns=["sex"]), "sex"),
        "feature_columns": (dict(feature_columns=["a", "c"]), "c"),
        "id_column": (dict(id_column="id"), "id"),
        # `harness validate` called these valid; each job then failed at load
        "one_hot.size": (dict(one_hot={"size": None}), "size"),
        "ordinal.grade": (dict(ordinal={"grade": ["lo", "hi"]}), "grade"),
    }
    for key, (kw, missing) in cases.items():
        with pytest.raises(DatasetError) as err:
            check(**kw)
        assert str(err.value) == (
            f"task 't': source file {tmp_path / 'c.csv'} has no column {missing!r} ({key}); its "
            "columns: a, b, colour, label"
        )
    # a training file may lack the group columns (sensitive attributes kept for the evaluation
    # data alone); it needs the label like any split
    write(tmp_path, "c.csv", "a,b,colour,label,sex\n1,10,red,0,f\n")
    check(train_source="train.csv", group_columns=["sex"], feature_columns=["a", "b"])
    with pytest.raises(DatasetError, match=r"train_source file .*train.csv has no column 'y'"):
        write(tmp_path, "c.csv", "a,b,colour,y,sex\n1,10,red,0,f\n")
        check(
            train_source="train.csv",
            label_column="y",
            group_columns=["sex"],
            feature_columns=["a", "b"],
        )


def test_validate_finds_a_named_column_a_parquet_file_lacks(tmp_path: Path) -> None:
    """Parquet declares its columns in its footer: `harness validate` reads the schema (no row)
    and names the key whose column is not there."""
    import pandas as pd

    from harness.data.sources import check_task_source

    pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "label": [0, 1]}).to_parquet(
        tmp_path / "t.parquet"
    )

    def check(**kw: object) -> None:
        fields = {"name": "t", "modality": "tabular", "source": "t.parquet", **kw}
        check_task_source(TaskSpec.model_validate(fields), tmp_path)

    check(feature_columns=["a", "b"])
    with pytest.raises(DatasetError) as err:
        check(label_column="y")
    assert str(err.value) == (
        f"task 't': source file {tmp_path / 't.parquet'} has no column 'y' (label_column); its "
        "columns: a, b, label"
    )


def test_streamed_blocks_keep_quoted_newlines_and_find_ragged_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large files are streamed in blocks (here every file, in 256-byte blocks): a quoted
    newline across a block boundary is still one cell, a ragged row is still found."""
    from harness.data import table_reader

    monkeypatch.setattr(table_reader, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(table_reader, "STREAM_BLOCK", 256)
    rows = [f'{i},"note {i}\nsecond line, with a comma",{i % 2}' for i in range(40)]
    write(tmp_path, "q.csv", "a,note,label\n" + "\n".join(rows) + "\n")
    task = load(tmp_path, source="q.csv", feature_columns=["a"], group_columns=["note"])
    assert task.labels.tolist() == [i % 2 for i in range(40)]
    assert task.groups()["note"].iloc[7] == "note 7\nsecond line, with a comma"
    plain = [f"{i},{i % 2}" for i in range(60)]
    plain[45] = "45,1,9"
    write(tmp_path, "r.csv", "a,label\n" + "\n".join(plain) + "\n")
    refused(
        tmp_path,
        r"r.csv: line 47 has 3 field\(s\) where the header has 2: '45,1,9'",
        source="r.csv",
    )


def test_named_features_read_only_their_columns_and_give_the_same_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With feature_columns named, an ASCII file's other columns are not converted (Arrow's
    include_columns); the task is the one every column gives, and the messages too."""
    from harness.data import table_reader

    extra = "".join(
        f"{line},{'x' * (i % 3)},{i}.5\n" if i else f"{line},note,other\n"
        for i, line in enumerate(CSV.splitlines())
    )
    write(tmp_path, "c.csv", extra)
    keys = {"source": "c.csv", "feature_columns": ["a", "colour"], "one_hot": {"colour": None}}
    asked: list[list[str] | None] = []
    real = table_reader._parsed

    def spy(*args: object, **kw: object) -> object:
        asked.append(args[4])  # type: ignore[arg-type]
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(table_reader, "_parsed", spy)
    narrow = load(tmp_path, group_columns=["b"], **keys)
    assert asked == [["a", "colour", "label", "b"]]
    monkeypatch.setattr(table_reader, "_included", lambda *a: None)  # every column converted
    whole = load(tmp_path, group_columns=["b"], **keys)
    assert asked[-1] is None
    assert narrow.fingerprint == whole.fingerprint  # type: ignore[attr-defined]
    assert narrow.groups().equals(whole.groups())  # type: ignore[attr-defined]
    monkeypatch.undo()
    # a named column the header lacks: every column is read, and the message lists them all
    refused(
        tmp_path,
        r"has no column 'size' \(feature_columns\); its columns: a, b, colour, label, note, other",
        source="c.csv",
        feature_columns=["a", "size"],
    )


def test_a_header_the_first_line_misreads_falls_back_to_every_column(tmp_path: Path) -> None:
    """A quoted header name holding a newline: the first line alone names a column `q` that
    Arrow's header does not have, so the file is read again whole and the usual line names the
    missing column (not Arrow's include_columns error)."""
    write(tmp_path, "q.csv", 'x,b,"q\nlabel"\n1,2,0\n3,4,1\n')
    with pytest.raises(DatasetError, match=r"column 'q' not found in split 'test'; available"):
        load(tmp_path, source="q.csv", feature_columns=["b"], label_column="q")
    task = load(tmp_path, source="q.csv", feature_columns=["b"], label_column="q\nlabel")
    assert task.all_inputs().numpy().tolist() == [[2.0], [4.0]]  # type: ignore[attr-defined]


def test_ascii_check_reads_every_piece(tmp_path: Path) -> None:
    """A byte past the first 1 MiB piece that is not ASCII keeps every column read (so the
    whole read can refuse it); an exact multiple of the piece size ends cleanly."""
    from harness.data.table_reader import STREAM_BLOCK, TableOptions, _ascii

    body = b"a,b,label\n" + b"1,2,0\n" * (STREAM_BLOCK // 6 + 10)
    clean = write(tmp_path, "clean.csv", body)
    late = write(tmp_path, "late.csv", body + b"3,Z\xfcrich,1\n")
    exact = write(tmp_path, "exact.csv", b"x" * (2 * STREAM_BLOCK))
    options = TableOptions()
    assert _ascii(clean, options) and _ascii(exact, options)
    assert not _ascii(late, options)
    assert not _ascii(clean, TableOptions(encoding="utf-16"))  # only UTF-8 is checked so


def test_a_fractional_label_is_named_as_written(tmp_path: Path) -> None:
    """The refusal quotes the cell as the file holds it (`1.5`), not numpy's repr of it
    (`np.float64(1.5)`)."""
    write(tmp_path, "f.csv", "a,label\n1,0\n2,1.0\n3,1.5\n")
    message = refused(tmp_path, r"must hold integer class ids; row 3 of ", source="f.csv")
    assert message.endswith("f.csv reads 1.5"), message


@pytest.mark.parametrize("cell", ["4294967296", "1e300", "1000000"])
def test_a_label_beyond_any_class_count_is_refused_naming_its_row(
    tmp_path: Path, cell: str
) -> None:
    """A label column holding an id such as 4294967296 (a wrong column named as the label) sized
    the label space from it: 4,294,967,297 class names built in memory, a MemoryError traceback
    (or the process killed). `1e300` was cast to int64 as -9223372036854775808 and named so in
    the refusal. Both are refused with the value, its row and the limit on classes."""
    write(tmp_path, "b.csv", f"a,label\n1,0\n2,1\n3,{cell}\n")
    message = refused(
        tmp_path, r"^task 't': label column 'label' holds class id .* at row 3 of ", source="b.csv"
    )
    assert "9223372036854775808" not in message and "1,000,000" in message, message


@pytest.mark.parametrize("cell", ["-1e300", "-9223372036854775809"])
def test_a_negative_label_past_int64_is_refused_as_written(
    tmp_path: Path, cell: str, recwarn: pytest.WarningsRecorder
) -> None:
    """`-1e300` was cast to int64 as -9223372036854775808 (with numpy's 'invalid value
    encountered in cast' warning) and refused as that value, without its row: the fix for
    `1e300` left the negative side out. Refused with the value as read and its row."""
    write(tmp_path, "b.csv", f"a,label\n1,0\n2,1\n3,{cell}\n")
    message = refused(
        tmp_path, r"^task 't': label column 'label' holds class id -.* at row 3 of ", source="b.csv"
    )
    assert "9223372036854775808" not in message and "class ids run from 0" in message, message
    assert not [w for w in recwarn if "cast" in str(w.message)]


def test_a_label_column_without_class_0_is_refused_unless_declared(tmp_path: Path) -> None:
    """Classes are counted from 0, so a 1-based label column (UCI's wine: 1, 2, 3; Statlog's
    german.data: 1, 2) made an extra, empty class 0: a 3-output model was refused as having
    'outputs 3 classes but task has 4', and a 4-output one scored a phantom class in macro-F1.
    Refused naming the labels' range; a declared label space keeps a split that merely lacks
    class 0."""
    write(tmp_path, "w.csv", "a,label\n1,1\n2,2\n3,3\n4,1\n")
    refused(
        tmp_path,
        r"^task 't': label column 'label' holds no class 0 \(its labels run 1\.\.3\); class "
        r"ids start at 0 .*subtract 1 .*num_classes",
        source="w.csv",
    )
    task = load(tmp_path, source="w.csv", num_classes=4)
    assert task.num_classes == 4


def test_validate_finds_train_and_test_headers_in_other_orders(tmp_path: Path) -> None:
    """The load refuses default features that the training file orders differently from the
    evaluation file; `harness validate` finds it from the two headers (CSV and Parquet)."""
    from harness.data.sources import check_task_source

    def check(**kw: object) -> None:
        fields = {"name": "t", "modality": "tabular", "source": "e.csv", **kw}
        check_task_source(TaskSpec.model_validate(fields), tmp_path)

    write(tmp_path, "e.csv", "b,a,label,sex\n1,2,0,f\n2,1,1,m\n")
    write(tmp_path, "train.csv", "a,b,label,sex\n1,2,0,f\n2,1,1,m\n")
    pd.DataFrame({"a": [1.0], "label": [0], "b": [2.0], "sex": ["f"]}).to_parquet(
        tmp_path / "train.parquet"
    )
    for train in ("train.csv", "train.parquet"):
        with pytest.raises(
            DatasetError,
            match=r"^task 't': train_source train\.(csv|parquet) holds the feature columns in "
            r"another order \('a', 'b'\) than source e\.csv \('b', 'a'\)",
        ):
            check(train_source=train, group_columns=["sex"])
        check(train_source=train, group_columns=["sex"], feature_columns=["a", "b"])
    check(train_source="e.csv", group_columns=["sex"])


def test_a_column_named_with_spaces_in_the_header_is_pointed_out(tmp_path: Path) -> None:
    """`a, b, label` (a space after each comma, as UCI's files have) names ' label', which the
    refusal listed as `its columns: a,  b,  label`: the name asked for seemed to be there. The
    line now says which header name it is, quoted."""
    from harness.data.sources import check_task_source

    write(tmp_path, "s.csv", "a, b, label\n1,2,0\n2,1,1\n")
    spec = TaskSpec.model_validate({"name": "t", "modality": "tabular", "source": "s.csv"})
    hint = r"; the header names it ' label' \(with spaces\): name the column as written"
    with pytest.raises(DatasetError, match=r"has no column 'label' \(label_column\).*" + hint):
        check_task_source(spec, tmp_path)
    refused(tmp_path, r"has no column 'label' .*" + hint, source="s.csv")


def test_a_misspelt_column_gets_its_close_match(tmp_path: Path) -> None:
    """`group_columns: [Sex]` on a file whose header says `sex` listed every column without
    the suggestion `suites.fairness.group_by` gives; on a wide file the name was lost in the
    list. `harness validate` and the loader now add the close match."""
    from harness.data.sources import check_task_source

    write(tmp_path, "g.csv", "a,sex,race,label\n1,f,x,0\n2,m,y,1\n")
    fields = {"name": "t", "modality": "tabular", "source": "g.csv", "feature_columns": ["a"]}
    spec = TaskSpec.model_validate({**fields, "group_columns": ["Sex"]})
    hint = r"has no column 'Sex' \(group_columns\); its columns: a, sex, race, label; did you mean 'sex'\?$"
    with pytest.raises(DatasetError, match=hint):
        check_task_source(spec, tmp_path)
    write(tmp_path, "g.parquet", b"")
    pd.read_csv(tmp_path / "g.csv").to_parquet(tmp_path / "g.parquet")
    with pytest.raises(DatasetError, match=r"did you mean 'race'\?$"):
        load(tmp_path, **{**fields, "source": "g.parquet", "group_columns": ["rase"]})
    spec = TaskSpec.model_validate({**fields, "group_columns": ["zzz"]})
    with pytest.raises(DatasetError, match=r"its columns: a, sex, race, label$"):
        check_task_source(spec, tmp_path)


def test_a_split_holding_two_copies_of_one_file_is_refused(tmp_path: Path) -> None:
    """A folder's split is every file whose name starts with it, so `test_backup.csv` (a copy of
    `test.csv`) joined the test split: every row was evaluated twice (iris: n=100 for 50 rows,
    intervals as if the sample were twice as large). Files of one split with the same bytes
    are refused, naming both; different files of a split are read as before."""
    from harness.data.sources import check_task_source

    folder = tmp_path / "data"
    folder.mkdir()
    write(folder, "train.csv", "a,label\n1,0\n2,1\n")
    write(folder, "test.csv", "a,label\n3,0\n4,1\n")
    write(folder, "test_backup.csv", "a,label\n3,0\n4,1\n")
    match = (
        r"^task 't': source .*data: its files test\.csv and test_backup\.csv of split 'test' "
        r"hold the same bytes, so every row would be read twice; remove the copy"
    )
    spec = TaskSpec.model_validate({"name": "t", "modality": "tabular", "source": "data"})
    with pytest.raises(DatasetError, match=match):
        check_task_source(spec, tmp_path)
    refused(tmp_path, match, source="data")
    write(folder, "test_backup.csv", "a,label\n5,0\n6,1\n")  # a second part: both read
    assert len(load(tmp_path, source="data")) == 4


def test_split_files_in_two_formats_are_refused(tmp_path: Path) -> None:
    """A folder is read in one format, Parquet first: a stale `test.parquet` beside fresh
    `train.csv` and `test.csv` hid the CSV files without a word (here: "has no split 'train'",
    with train.csv in the folder; with a train.parquet too, the stale rows were evaluated)."""
    folder = tmp_path / "data"
    folder.mkdir()
    write(folder, "train.csv", "a,label\n1,0\n2,1\n")
    write(folder, "test.csv", "a,label\n3,0\n4,1\n")
    pd.DataFrame({"a": [9.0, 8.0], "label": [0, 1]}).to_parquet(folder / "test.parquet")
    refused(
        tmp_path,
        r"^task 't': source .*data holds split files in two formats \(.parquet: test.parquet; "
        r"\.csv: test\.csv, train\.csv\); a folder is read in one format \(Parquet first\), so "
        r"the others would be left out: keep one format",
        source="data",
    )


def test_a_text_training_file_without_the_group_columns_is_read(tmp_path: Path) -> None:
    """As for tabular tasks (tests/data/test_tabular_tasks.py): the evaluation file carries the
    sensitive attribute, the training file does not."""
    write(tmp_path, "test.csv", "text,label,lang\ngood film,1,en\nbad film,0,fr\nfine,1,en\n")
    write(tmp_path, "train.csv", "text,label\nawful,0\ngreat,1\n")
    task = load_task(
        TaskSpec.model_validate(
            {
                "name": "t",
                "modality": "text",
                "source": "test.csv",
                "train_source": "train.csv",
                "input_column": "text",
                "group_columns": ["lang"],
            }
        ),
        base_dir=tmp_path,
    )
    assert task.train is not None and "lang" not in task.train.column_names
    assert list(task.groups()["lang"]) == ["en", "fr", "en"]


def test_a_text_column_of_numbers_keeps_its_cells_as_written(tmp_path: Path) -> None:
    """A CSV text column whose cells all look like numbers (codes, ids, scores as text) was
    read as numbers and cast back: "1.50" reached the model as "1.5", "007" as "7", "1e3" as
    "1000". The texts are now the cells as written."""
    write(tmp_path, "test.csv", "text,label\n1.50,1\n007,0\n1e3,0\n 12 ,1\n")
    task = load(tmp_path, modality="text", source="test.csv", input_column="text")
    assert list(task.data["input"]) == ["1.50", "007", "1e3", " 12 "]  # type: ignore[attr-defined]


LONG = "A" * 10_000


@pytest.mark.parametrize(
    ("text", "kw", "says"),
    [
        (f"a,y\n1,{LONG}\n2,no\n", {"label_column": "y"}, "label column 'y' holds text (e.g. "),
        (
            f"a,y\n1,1\n2,0\n3,1\n{LONG},0\n",
            {"label_column": "y", "feature_columns": ["a"]},
            "column 'a' in ",
        ),
        (
            f"id,a,y\n{LONG},1,0\n{LONG},2,1\n",
            {"label_column": "y", "id_column": "id"},
            "id column 'id' has duplicate ids",
        ),
        (
            f"a,y\n1,yes\n2,{LONG}\n",
            {"label_column": "y", "class_names": ["no", "yes"]},
            "which class_names does not list",
        ),
    ],
    ids=["label text", "feature text", "duplicate id", "unlisted label"],
)
def test_a_long_cell_is_quoted_cut_with_its_length(
    tmp_path: Path, text: str, kw: dict[str, object], says: str
) -> None:
    """A 10,000-character cell was quoted whole in the one-line error that names it (10,181
    characters, unreadable); it is cut and says its length."""
    write(tmp_path, "d.csv", text)
    message = refused(tmp_path, re.escape(says), source="d.csv", **kw)
    assert "(10,000 characters)" in message and len(message) < 600, message


def test_files_of_one_split_with_another_column_type_name_the_file(tmp_path: Path) -> None:
    """Three Parquet shards of a split, the last with `b` as text: the error said "its 3 files
    do not hold the same columns (... f3 ... float vs string)" without saying which file; on a
    folder of 30 shards the user had to open each one."""
    data = tmp_path / "data"
    data.mkdir()
    frame = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4], "b": [1.5, 2.5, 3.5, 4.5]})
    frame.assign(label=[0, 1, 0, 1]).to_parquet(data / "test-00000-of-00003.parquet")
    frame.assign(label=[1, 0, 1, 0]).to_parquet(data / "test-00001-of-00003.parquet")
    frame.assign(b=["x", "y", "z", "w"], label=[0, 1, 0, 1]).to_parquet(
        data / "test-00002-of-00003.parquet"
    )
    message = refused(
        tmp_path, r"its 3 files do not hold the same columns", source="data", feature_columns=["a"]
    )
    assert "test-00002-of-00003.parquet" in message and "'b'" in message, message
    assert "test-00001-of-00003.parquet" not in message, message


def test_rows_dropped_for_a_missing_feature_are_said_in_every_jobs_notes(tmp_path: Path) -> None:
    """`missing_rows: drop` on a 50,000-row CSV dropped 4,703 rows (9.4%) with a log line only:
    the boards showed n=45,297 with no word that the rows with a missing value, which may
    differ from the others, are not in any number. The task carries it as a load note, which
    every job's notes repeat (as an image folder's files left out)."""
    write(tmp_path, "m.csv", "a,b,label\n1,2,0\n,2,1\n3,4,0\n4,5,1\n")
    task = load(tmp_path, source="m.csv", missing_rows="drop")
    assert task.load_notes == (
        "caveat: task 't': 1 of 4 rows of split 'test' (25.0%) have a missing feature and were dropped "
        "(missing_rows: drop): no number counts them, and they may differ from the 3 rows kept",
    )
    assert task.labels.tolist() == [0, 0, 1]
    # under --limit (or a suite's max_samples) the numbers are on fewer rows than those kept:
    # the note said "every number is on the 3 rows left" of a job on 2
    (note,) = task.subset(2, seed=0).load_notes
    assert "every number is on" not in note and "rows kept" in note, note


def test_a_broken_json_line_is_named_by_its_line_in_the_file(tmp_path: Path) -> None:
    """Arrow's JSON reader counts rows from 0 within its block: a broken third line was 'row 2',
    and line 1,200,001 of a big file 'row 17747'. The refusal names the line as an editor counts
    it (blank lines included), for a bad line and for a value whose type changes."""
    good = '{"a":1,"label":0}\n\n{"a":2,"label":1}\n'
    write(tmp_path, "s.jsonl", good + '{"a":3,"label":1\n{"a":4,"label":0}\n')
    message = refused(tmp_path, r"not a readable JSON table", source="s.jsonl")
    assert "line 4 of" in message and "row 2" not in message, message
    write(tmp_path, "k.jsonl", good + '{"a":"3","label":1}\n')
    message = refused(tmp_path, r"not a readable JSON table", source="k.jsonl")
    assert "line 4 of" in message and "row 1" not in message, message
    rows = "".join(f'{{"a":{i},"label":{i % 2}}}\n' for i in range(300_000))
    write(tmp_path, "b.jsonl", rows + '{"a":3,"label":1\n')
    message = refused(tmp_path, r"not a readable JSON table", source="b.jsonl")
    assert "line 300,001 of" in message, message


@pytest.mark.parametrize(
    ("rows", "line"),
    [
        pytest.param('{"a":1,"label":0}\n[1, 2]\n', 2, id="a line not an object"),
        pytest.param('{"a":1,"label":0}\n{"a":3,"a":4,"label":1}\n', 2, id="a key twice"),
        pytest.param('{"a":{"b":1},"label":0}\n{"a":{"b":"x"},"label":1}\n', None, id="nested"),
    ],
)
def test_a_json_line_arrow_refuses_is_not_named_by_a_later_broken_one(
    tmp_path: Path, rows: str, line: int | None
) -> None:
    """Arrow refuses a line that is JSON but not a row it can read (an array, a key given twice,
    a nested value whose type changes); the search for the line looked for the first line
    `json.loads` refuses, so a later truncated line was named ('first at line 4' for Arrow's
    error on line 2). The line Arrow refused is named, or none when it cannot be told."""
    write(tmp_path, "s.jsonl", rows + '{"a":1,"label":0}\n{"a":3,"label":1\n')
    message = refused(tmp_path, r"not a readable JSON table", source="s.jsonl")
    assert "line 4 of" not in message, message
    assert (f"first at line {line} of" in message) if line else "at line" not in message, message


def _parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1.0, 2.0], "label": [0, 1]}).to_parquet(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x1f\x8b\x08\x00" + bytes(range(40)), "gzip"),
        (b"PK\x03\x04" + bytes(range(40)), "zip"),
        (_parquet_bytes(), "Parquet"),
    ],
    ids=["gzip", "zip", "Parquet"],
)
def test_a_compressed_or_binary_file_named_csv_says_what_it_is(
    tmp_path: Path, data: bytes, kind: str
) -> None:
    """A gzip-compressed CSV saved as `data.csv` was read as text: refused as having no column
    'label', listing the compressed bytes as its columns ('its columns: \\x1f...'). Its marker
    says what it is."""
    write(tmp_path, "d.csv", data)
    message = refused(tmp_path, rf"d\.csv is {kind} data, not delimited text", source="d.csv")
    assert "\x1f" not in message and "\x00" not in message, message
    # Parquet is read as it is: renaming the file is enough (converting it to CSV loses types)
    hint = "rename it to d.parquet" if kind == "Parquet" else "decompress or convert it to CSV"
    assert hint in message, message


def _xlsx_bytes() -> bytes:
    """The start of a workbook as Excel writes one: a zip whose entries are under `xl/`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("_rels/.rels", "<Relationships/>")
        book.writestr("xl/workbook.xml", "<workbook/>")
        book.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [_xlsx_bytes(), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)],
    ids=["xlsx", "xls"],
)
def test_a_workbook_named_csv_is_told_to_be_saved_as_csv(tmp_path: Path, data: bytes) -> None:
    """A workbook renamed `.csv` (a common slip) was 'zip data ... decompress or convert it',
    and decompressing an .xlsx gives XML files; an .xls (not zip) read as a garbled header.
    Both are named as a workbook, with the way out: save the sheet as CSV."""
    write(tmp_path, "d.csv", data)
    message = refused(tmp_path, r"d\.csv is an Excel workbook, not delimited text", source="d.csv")
    assert "save the sheet as CSV" in message and "decompress" not in message, message


def test_a_header_starting_like_a_marker_is_still_text(tmp_path: Path) -> None:
    write(tmp_path, "p.csv", "PAR1,label\n1,0\n2,1\n")
    assert load(tmp_path, source="p.csv").feature_names == ("PAR1",)


def test_a_text_file_that_starts_and_ends_with_par1_is_still_text(tmp_path: Path) -> None:
    """A header starting `PAR1,` and a last cell `PAR1` without a final newline (a code column)
    starts and ends as Parquet does: it was refused as 'Parquet data, not delimited text'.
    Parquet's footer length, the 4 bytes before its last `PAR1`, fits inside the file; text's
    4 bytes read as a length of hundreds of MB."""
    write(tmp_path, "p.csv", "PAR1,label,code\n1,0,x\n2,1,PAR1")
    task = load(tmp_path, source="p.csv", group_columns=["code"])
    assert task.feature_names == ("PAR1",)


@pytest.mark.parametrize("orient", ["columns", "index", "split"])
def test_a_json_file_of_one_object_is_refused_as_not_rows(tmp_path: Path, orient: str) -> None:
    """`DataFrame.to_json(path)` writes one object of columns (orient 'columns', its default),
    which Arrow reads as one row of struct columns: the refusal said column 'a' "is not numeric
    (it holds struct<0: double, 1: double, ...>)", one field per row of the frame (a line of
    3,000 characters for 100 rows). It says the file is one object, not rows, and how to write
    rows."""
    frame = pd.DataFrame({"a": [0.1 * i for i in range(100)], "label": [i % 2 for i in range(100)]})
    frame.to_json(tmp_path / "t.json", orient=orient)
    message = refused(tmp_path, r"one JSON object", source="t.json")
    assert "orient='records', lines=True" in message and len(message) < 400, message


def test_a_header_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    """A latin-1 byte in the header (`caf\\xe9`) passed validate and failed the job with
    Arrow's "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe9" and a traceback in the
    log (probe99); a data cell's was already named. The header is refused by the first-line
    check (validate and run), and reads with encoding: latin-1."""
    write(tmp_path, "t.csv", b"a,caf\xe9,label\n0.6,1,1\n0.2,2,0\n")
    message = refused(tmp_path, r"header .* is not UTF-8 text", source="t.csv")
    assert "encoding:" in message, message
    from harness.data.sources import check_task_source

    with pytest.raises(DatasetError, match=r"header .* is not UTF-8 text"):
        check_task_source(
            TaskSpec.model_validate({"name": "t", "modality": "tabular", "source": "t.csv"}),
            tmp_path,
        )
    task = load(tmp_path, source="t.csv", encoding="latin-1")
    assert task.feature_names == ("a", "caf\u00e9")  # type: ignore[attr-defined]


def test_a_tab_separated_csv_is_told_its_delimiter(tmp_path: Path) -> None:
    """A .csv whose first line holds tabs and no comma was read as one column named
    'a\\tb\\tlabel' ("has no column 'label' ... did you mean 'a\\tb\\tlabel'?"); a semicolon
    was already told to set delimiter: ';'."""
    write(tmp_path, "t.csv", "a\tb\tlabel\n0.6\t1\t1\n0.2\t2\t0\n")
    message = refused(tmp_path, r"holds tabs and no ','", source="t.csv")
    assert 'delimiter: "\\t"' in message, message
    assert load(tmp_path, source="t.csv", delimiter="\t")


def test_a_utf8_header_holding_the_replacement_character_loads(tmp_path: Path) -> None:
    """The non-UTF-8 header check looked for U+FFFD in the header decoded with errors=replace,
    so a UTF-8 header holding that character itself (a name mangled by an earlier conversion,
    `temp (\\ufffdC)`), which Arrow reads, was refused as not UTF-8 text."""
    write(tmp_path, "t.csv", "a,temp (\ufffdC),label\n0.6,1,1\n0.2,2,0\n".encode())
    task = load(tmp_path, source="t.csv")
    assert task.feature_names == ("a", "temp (\ufffdC)")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text", ["[[0.1, 0], [0.2, 1], [0.3, 0]]", "[0.1, 0.2]", "[{}, 1]", '[{"a": 1}, null]']
)
def test_a_json_array_of_other_than_objects_is_refused_in_one_line(
    tmp_path: Path, text: str
) -> None:
    """`DataFrame.to_json(path, orient='values')` writes an array of arrays (no column names);
    reading it raised AttributeError "'list' object has no attribute 'keys'" as a traceback."""
    write(tmp_path, "t.json", text)
    message = refused(tmp_path, r"not a readable JSON table", source="t.json")
    assert "one array of objects" in message and len(message) < 400, message
