"""metrics.json's strict model against `MetricRecord`: the same fields, a record read back as it
was written (an integer value stays an integer), every stored record of the quickstart accepted.
The refusals and their messages are in tests/reliability/test_damaged_results.py."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from harness.core.errors import ResultsError
from harness.core.metric_record import MetricRecord
from harness.store.metric_file import StoredMetric, metric_records

ROOT = Path(__file__).resolve().parents[2]
PATH = Path("jobs/m--t--s/metrics.json")


def test_the_stored_model_has_the_record_fields_and_their_defaults() -> None:
    fields = dataclasses.fields(MetricRecord)
    required = {f.name for f in fields if f.default is f.default_factory is dataclasses.MISSING}
    assert StoredMetric.__required_keys__ == required
    assert StoredMetric.__optional_keys__ == {f.name for f in fields} - required


def test_a_record_reads_back_as_written() -> None:
    full = MetricRecord(
        suite="shift",
        metric="corruption_acc",
        value=0.75,
        unit="fraction",
        higher_is_better=True,
        n=120,
        condition="corruption=fog/severity=3",
        ci=(0.66, 0.82),
        ci_method="Wilson score interval, 95%",
        context={"corruption": "fog", "severity": 3},
        headline=True,
        note="a note",
        flags=("small_n",),
    )
    count = MetricRecord(suite="t", metric="k", value=3, unit="count", higher_is_better=False, n=3)
    undefined = dataclasses.replace(count, metric="u", value=None, note="undefined: no samples")
    written = json.loads(json.dumps([r.to_dict() for r in (full, count, undefined)]))
    assert metric_records(written, PATH) == [full, count, undefined]
    assert type(metric_records(written, PATH)[1].value) is int
    # the fields a writer may leave out take MetricRecord's defaults; flags may be null
    bare = {k: v for k, v in count.to_dict().items() if k in StoredMetric.__required_keys__}
    assert metric_records([bare, dict(bare, metric="f", flags=None)], PATH) == [
        count,
        dataclasses.replace(count, metric="f"),
    ]


def test_every_stored_record_of_the_quickstart_is_accepted() -> None:
    files = sorted((ROOT / "results" / "baselines").glob("**/metrics.json"))
    assert files
    for path in files:
        raw = json.loads(path.read_text())
        assert [r.to_dict() for r in metric_records(raw, path)] == raw


def test_nothing_is_coerced() -> None:
    record = MetricRecord(suite="t", metric="k", value=0.5, unit="u", higher_is_better=True, n=4)
    for key, value in [("value", "0.5"), ("n", 4.0), ("higher_is_better", 1), ("flags", ("a",))]:
        with pytest.raises(ResultsError, match=f"has {key} "):
            metric_records([dict(record.to_dict(), **{key: value})], PATH)
