"""The report's paired forms kept between builds (harness/present/form_cache.py): a ranking from
kept forms is the ranking built from the tables, bit for bit, without parsing them; a form is
taken only for the same table (its checksum) and record; a file that is not whole, was written
by other code or is a link is not read, and a kept entry that does not read back is built again
from its table, never a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from harness.analysis.headline import headline_board, read_outcomes
from harness.analysis.leaderboard import build_boards
from harness.analysis.paired_forms import Form, PerSample, Resampled
from harness.present import form_cache
from harness.present.form_cache import NAME, FormCache
from harness.run.suite_boards import installed_suite_boards
from harness.store import checksums
from harness.store.run_store import TABLE_FILE, StoredJob
from tests.analysis.pinned_outputs import SCALE_BASE

BOARDS = installed_suite_boards()


def _rankings(results: Path, forms: FormCache | None) -> list[Any]:
    """The board's rank column and every headline ranking: ranks and each comparison at full
    precision."""
    outcomes = read_outcomes(results)
    out: list[Any] = []
    for board in build_boards(results, suite_boards=BOARDS, forms=forms):
        out.append([(r.model, r.rank) for r in board.rows])
        head = headline_board(board, outcomes, forms=forms)
        for column, ranking in zip(head.columns, head.rankings, strict=True):
            comparisons = [
                (a, b, r.test, repr(r.diff), repr(r.p_value), repr(r.se), repr(p))
                for a, b, r, p in ranking.comparisons
            ]
            out.append((column.label, ranking.ranks, comparisons))
    return out


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The job folders whose tables are parsed."""
    names: list[str] = []
    real = StoredJob._read_table

    def counting(self: StoredJob) -> Any:
        names.append(self.path.name)
        return real(self)

    monkeypatch.setattr(StoredJob, "_read_table", counting)
    return names


def _same_form(a: Form, b: Form) -> None:
    assert type(a) is type(b)
    if isinstance(a, Resampled):
        assert isinstance(b, Resampled) and a.source is not None and b.source is not None
        assert a.ids.equals(b.ids) and a.ids.dtype == b.ids.dtype
        assert np.array_equal(a.strata, b.strata) and a.strata.dtype == b.strata.dtype
        assert (a.fingerprint, a.tested_name, repr(a.value)) == (
            b.fingerprint,
            b.tested_name,
            repr(b.value),
        )
        for name in ("labels", "predictions", "confidence"):
            x, y = getattr(a.source, name), getattr(b.source, name)
            assert x.dtype == y.dtype and x.tobytes() == y.tobytes()
        idx = np.random.default_rng(0).integers(0, len(a.ids), (5, len(a.ids)))
        assert a.test_statistic(idx).tobytes() == b.test_statistic(idx).tobytes()
        return
    assert isinstance(a, PerSample) and isinstance(b, PerSample) and a.binary == b.binary
    pd.testing.assert_series_equal(a.values, b.values, check_exact=True)
    assert a.values.index.dtype == b.values.index.dtype
    assert a.values.to_numpy().tobytes() == b.values.to_numpy().tobytes()


def test_kept_forms_rank_as_built_ones(tmp_path: Path, parsed: list[str]) -> None:
    fresh = _rankings(SCALE_BASE, None)
    assert len(set(parsed)) == 12
    parsed.clear()
    first = FormCache.read(tmp_path)  # nothing there: every form built from its table
    assert _rankings(SCALE_BASE, first) == fresh and len(set(parsed)) == 12
    assert {type(f) for f in first._used.values()} == {PerSample, Resampled}
    first.write(tmp_path)
    parsed.clear()
    second = FormCache.read(tmp_path)
    # no table parsed for a form (an accuracy column's chance level reads one table)
    assert _rankings(SCALE_BASE, second) == fresh and len(parsed) <= 1
    assert second._used.keys() == first._used.keys()
    for key, form in first._used.items():
        _same_form(form, second._used[key])
    second.write(tmp_path / "again")
    assert (tmp_path / "again" / NAME).read_bytes() == (tmp_path / NAME).read_bytes()


def _rewrite_table(job: Path) -> None:
    """The job's table with its rows in reverse order (the same numbers, another file), and
    job.json's checksum of it updated and resealed."""
    table = pq.read_table(job / TABLE_FILE)
    pq.write_table(table.take(list(reversed(range(table.num_rows)))), job / TABLE_FILE)
    record = json.loads((job / "job.json").read_text())
    record["files"][TABLE_FILE] = hashlib.sha256((job / TABLE_FILE).read_bytes()).hexdigest()
    (job / "job.json").write_text(json.dumps(checksums.seal(record), sort_keys=True))


def test_a_changed_table_is_parsed_again(tmp_path: Path, parsed: list[str]) -> None:
    results = tmp_path / "results"
    shutil.copytree(SCALE_BASE, results)
    kept = FormCache.read(tmp_path / "site")
    _rankings(results, kept)
    kept.write(tmp_path / "site")
    (job,) = [p for p in results.glob("runs/*/jobs/m0003--*")]
    _rewrite_table(job)
    parsed.clear()
    fresh = _rankings(results, None)
    assert len(set(parsed)) == 12
    parsed.clear()
    again = FormCache.read(tmp_path / "site")
    assert _rankings(results, again) == fresh
    assert job.name in parsed and len(set(parsed)) <= 2  # the changed table (and a chance level)
    # its forms are the reversed table's, not the kept ones
    first_id = pq.read_table(job / TABLE_FILE)["sample_id"].to_pylist()[0]
    new = [form for key, form in again._used.items() if key not in kept._used]
    assert len(new) == 2  # the rank column's (the first headline column's) and ECE's
    for form in new:
        ids = form.ids if isinstance(form, Resampled) else form.values.index
        assert list(ids)[0] == first_id


def test_a_file_of_other_code_or_not_whole_is_not_read(
    tmp_path: Path, parsed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FormCache.read(tmp_path)
    fresh = _rankings(SCALE_BASE, store)
    store.write(tmp_path)
    whole = (tmp_path / NAME).read_bytes()
    assert FormCache.read(tmp_path)._found  # read back
    head, _, rest = whole.partition(b"\n")
    damaged = {
        "truncated": whole[:-8],
        "a value changed": head + b"\n" + rest[:-1] + bytes([rest[-1] ^ 1]),
        "no header": rest,
        "not JSON": b"\xff\xfe" + whole,
        "empty": b"",
    }
    for why, content in damaged.items():
        (tmp_path / NAME).write_bytes(content)
        found = FormCache.read(tmp_path)
        assert found._found == {}, why
        parsed.clear()
        assert _rankings(SCALE_BASE, found) == fresh and len(set(parsed)) == 12, why
    (tmp_path / NAME).write_bytes(whole)
    monkeypatch.setattr(form_cache, "forms_identity", lambda: "other code")
    assert FormCache.read(tmp_path)._found == {}
    monkeypatch.undo()
    (tmp_path / NAME).unlink()
    (tmp_path / "elsewhere").write_bytes(whole)
    os.symlink(tmp_path / "elsewhere", tmp_path / NAME)
    assert FormCache.read(tmp_path)._found == {}


def test_an_entry_that_does_not_read_back_is_built_again(tmp_path: Path, parsed: list[str]) -> None:
    """A whole file of this code whose descriptions are wrong (lengths, kinds, offsets): each
    such form is built from its table, the ranking the same."""
    store = FormCache.read(tmp_path)
    fresh = _rankings(SCALE_BASE, store)
    store.write(tmp_path)
    head, _, rest = (tmp_path / NAME).read_bytes().partition(b"\n")
    body, _, data = rest.partition(b"\n")
    listed = json.loads(body)
    wrong = 0
    for i, (_key, described) in enumerate(listed["entries"]):
        if described["kind"] == "per_sample":
            described["values"][0] = len(data) + 8 * i  # outside the data
        elif described["kind"] == "whole_table":
            described["ids"] = 99  # no such id list
        else:
            continue
        wrong += 1
    rest = json.dumps(listed).encode() + b"\n" + data
    header = json.loads(head)
    header["sha256"] = hashlib.sha256(rest).hexdigest()
    (tmp_path / NAME).write_bytes(json.dumps(header).encode() + b"\n" + rest)
    parsed.clear()
    found = FormCache.read(tmp_path)
    assert len(found._found) >= wrong > 0
    assert _rankings(SCALE_BASE, found) == fresh and len(set(parsed)) == 12


def test_a_report_over_a_damaged_file_is_the_same_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site whose kept forms were damaged (or are another version's) is built from the tables
    again: the same pages and figures, and a whole file of this build's forms."""
    from harness.present import site, site_workers

    monkeypatch.setattr(site_workers, "can_fork", lambda: False)
    out = tmp_path / "site"
    site.build_site(SCALE_BASE, out, suite_boards=BOARDS)
    kept = (out / NAME).read_bytes()
    pages = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix == ".html"}
    for damage in (kept[: len(kept) // 2], b"{}\n" + kept):
        (out / NAME).write_bytes(damage)
        site.build_site(SCALE_BASE, out, suite_boards=BOARDS)
        assert (out / NAME).read_bytes() == kept
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.suffix == ".html"} == pages
