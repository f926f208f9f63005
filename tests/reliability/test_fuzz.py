"""Hypothesis fuzzing (bounded): the spec loader and the results reader never crash with anything
but their own errors, and the reader never returns data from a damaged folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.config.spec import RunSpec, parse_spec_text
from harness.core.errors import HarnessError, ResultsError
from harness.store.run_store import load_jobs, read_job

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

KEYS = [
    "name",
    "seed",
    "device",
    "batch_size",
    "limit",
    "bootstrap_resamples",
    "tasks",
    "models",
    "suites",
    "execution",
    "factory",
    "weights",
    "adapter",
    "source",
    "num_classes",
    "eps",
    "accuracy",
    "fairness",
    "adversarial",
    "shift",
    "group_by",
    "bins",
    "ece_bins",
    "shards",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["digits", "diabetes", "digits-mlp", "cpu", "../x", "<b>"]),
)
trees = st.recursive(
    scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), kids, max_size=5),
    ),
    max_leaves=25,
)


def _parse(text: str) -> None:
    try:
        got = parse_spec_text(text, source="fuzz.yaml")
    except HarnessError as err:
        assert str(err) and "\n" not in str(err).strip()
        return
    assert isinstance(got, RunSpec)


@FUZZ
@given(trees)
def test_spec_loader_on_generated_structures(tree: object) -> None:
    _parse(yaml.safe_dump(tree, allow_unicode=True))


@FUZZ
@given(
    st.text(
        alphabet=st.sampled_from(list("abcdefgnmst:-[]{},&*!|>'\"#%@\n\t 0123456789.\\")),
        max_size=200,
    )
)
def test_spec_loader_on_yamlish_text(text: str) -> None:
    _parse(text)


@FUZZ
@given(st.text(max_size=300))
def test_spec_loader_on_arbitrary_text(text: str) -> None:
    _parse(text)


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import TINY_SPEC, save_weights
    from tests.fixture_models import linear_digits
    from tests.reliability.conftest import cli

    d = tmp_path_factory.mktemp("fuzzrun")
    save_weights(linear_digits(), d / "linear.safetensors")
    save_weights(linear_digits(seed=1), d / "linear1.safetensors")
    (d / "spec.yaml").write_text(TINY_SPEC.replace("limit: 120", "limit: 30"))
    assert cli("run", d / "spec.yaml", "--out", d / "out")[0] == 0
    return next((d / "out" / "runs").iterdir())


@FUZZ
@given(data=st.data())
def test_results_reader_on_damaged_folders(
    stored_run: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    run = tmp_path_factory.mktemp("damaged") / "run"
    shutil.copytree(stored_run, run)
    # spec.yaml is a copy for people; readers use the manifest (which holds the spec)
    files = sorted(
        p
        for p in run.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.name != "spec.yaml"
    )
    target = data.draw(st.sampled_from(files))
    raw = target.read_bytes()
    how = data.draw(st.sampled_from(["flip", "truncate", "delete", "append", "replace"]))
    if how == "flip":
        i = data.draw(st.integers(0, len(raw) - 1))
        bit = data.draw(st.integers(0, 7))
        target.write_bytes(raw[:i] + bytes([raw[i] ^ (1 << bit)]) + raw[i + 1 :])
    elif how == "truncate":
        target.write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1))])
    elif how == "delete":
        target.unlink()
    elif how == "append":
        target.write_bytes(raw + data.draw(st.binary(min_size=1, max_size=20)))
    else:
        target.write_bytes(data.draw(st.binary(max_size=200)))
    damaged_job = target.parent if target.parent.parent.name == "jobs" else None
    try:
        if damaged_job is not None:
            read_job(damaged_job)
        got = load_jobs(run)  # the manifest, or any job, fails closed...
    except ResultsError:
        return
    # ...or the damage changed no content (a trailing newline cut, whitespace added): same data
    assert _snapshot(got) == _snapshot(load_jobs(stored_run)), (target.name, how)


def _snapshot(jobs: list) -> list:
    return [
        (
            m,
            j.record,
            [r.to_dict() for r in j.metrics],
            j.table().frame.to_dict("list"),
            j.artifacts(),
        )
        for m, j in jobs
    ]


def test_reader_returns_intact_data_unchanged(stored_run: Path) -> None:
    jobs = load_jobs(stored_run)
    assert len(jobs) == 2 and all(j.table().frame.shape[0] == 30 for _, j in jobs)
