"""Hypothesis fuzzing (bounded): the spec loader and the results reader never crash with anything
but their own errors, and the reader never returns data from a damaged folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
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


# -- nested and oversized YAML (specs and gate policies) ---------------------------------------
def _nest(depth: int, style: str) -> str:
    if style == "flow-list":
        return "[" * depth + "1" + "]" * depth
    if style == "flow-map":
        return "{a: " * depth + "1" + "}" * depth
    if style == "block-map":
        return "\n" + "".join(" " * i + "k:\n" for i in range(1, depth)) + " " * depth + "k: 1"
    if style == "block-list":
        return "\n" + "- " * depth + "x"
    return (
        "[" * (depth // 2)
        + "{a: " * (depth - depth // 2)
        + "1"
        + "}" * (depth - depth // 2)
        + "]" * (depth // 2)
    )


NESTING = st.tuples(
    st.integers(1, 400),
    st.sampled_from(["flow-list", "flow-map", "block-map", "block-list", "mixed"]),
)
"""Depths up to 400: every style is refused at level 65 (MAX_DEPTH 64), so a drawn depth past
about 130 (the mixed style's list half alone past 64) reaches the same refusal at the same column
as any deeper one. Deeper flow lists only cost PyYAML's scanner more before the refusal (its
simple-key look-up is quadratic in the open brackets, up to about 1,024 of them: 0.36 s for one
file 1,000 deep against 0.04 s at 300), which drawing up to 3,000 paid on most examples (2.3-4.5
s of CPU per test against 1.7-2.0 s). `DEEPEST` keeps one file far past Python's recursion limit
in each costly style, and one block mapping over the 1 MiB size limit (the "larger than"
refusal)."""

DEEPEST = [(3000, "flow-list"), (3000, "mixed"), (3000, "block-map")]


NESTED = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))


@NESTED
@given(NESTING, st.sampled_from(["tasks", "suites", "extra", "models"]))
@example(DEEPEST[0], "extra")
@example(DEEPEST[1], "suites")
@example(DEEPEST[2], "models")
def test_spec_loader_on_nested_yaml(nesting: tuple[int, str], key: str) -> None:
    depth, style = nesting
    base = {"tasks": "[digits]", "models": "[digits-mlp]", "suites": "{accuracy: {}}"}
    base[key] = _nest(depth, style)
    text = "".join(f"{k}: {v}\n" for k, v in base.items())
    try:
        parse_spec_text(text, source="deep.yaml")
    except HarnessError as err:
        assert "\n" not in str(err).strip()
        if depth > 70:
            assert "nested more than 64 levels" in str(err) or "larger than" in str(err)


@NESTED
@given(nesting=NESTING)
@example(nesting=DEEPEST[0])
@example(nesting=DEEPEST[1])
@example(nesting=DEEPEST[2])
def test_policy_loader_on_nested_yaml(
    nesting: tuple[int, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    from harness.analysis.check_policy import Policy, load_policy

    path = tmp_path_factory.mktemp("policy") / "policy.yaml"
    path.write_text("metrics: " + _nest(*nesting) + "\n")
    try:
        assert isinstance(load_policy(path), Policy)
    except HarnessError as err:
        assert "\n" not in str(err).strip() and "policy file" in str(err)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(offset=st.integers(-64, 64), filler=st.sampled_from(["comment", "nul"]))
def test_spec_loader_at_the_size_limit(
    offset: int, filler: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from harness.config.spec import MAX_SPEC_BYTES, load_spec

    head = "tasks: [digits]\nmodels: [digits-mlp]\nsuites: {accuracy: {}}\n"
    room = MAX_SPEC_BYTES + offset - len(head)
    filled = "#" + "x" * (room - 2) if filler == "comment" else "# " + "\0" * (room - 3)
    text = head + filled + "\n"
    path = tmp_path_factory.mktemp("big") / "spec.yaml"
    path.write_text(text)
    try:
        load_spec(path)
    except HarnessError as err:
        assert "\n" not in str(err).strip()
        if len(text.encode()) > MAX_SPEC_BYTES:
            assert "larger than" in str(err)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(size=st.integers(1 << 20, 1 << 40))
def test_oversized_spec_is_refused_before_reading(
    size: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A sparse file of any size up to 1 TiB: refused from its size, in well under a second."""
    import time

    from harness.config.spec import load_spec

    path = tmp_path_factory.mktemp("sparse") / "spec.yaml"
    with path.open("wb") as f:
        f.truncate(size + 1)
    started = time.perf_counter()
    with pytest.raises(HarnessError, match="larger than"):
        load_spec(path)
    assert time.perf_counter() - started < 1.0


# -- damaged weight files ----------------------------------------------------------------------
def _good_safetensors() -> bytes:
    from safetensors.torch import save

    from tests.fixture_models import linear_digits

    return save({k: v.contiguous() for k, v in linear_digits().state_dict().items()})


GOOD_WEIGHTS = _good_safetensors()
HEADER_LEN = int.from_bytes(GOOD_WEIGHTS[:8], "little")
entries = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from(["F32", "F16", "I32", "BOOL", "F64", "X9", ""]),
        "shape": st.lists(st.integers(0, 2**40), max_size=4),
        "data_offsets": st.lists(st.integers(-5, 2**45), min_size=0, max_size=3),
    }
)


def _load_damaged(raw: bytes, folder: Path) -> None:
    """Load `raw` as weights of linear_digits: tensors that fit, or a ModelLoadError."""
    from harness.core.errors import ModelLoadError
    from harness.core.weights import fit_state_dict, load_state_dict
    from tests.fixture_models import linear_digits

    path = folder / "w.safetensors"
    path.write_bytes(raw)
    try:
        state, _ = load_state_dict(path, expected_sha256=None, allow_pickle=False)
        net = linear_digits()
        fit_state_dict(net, state, path=path, model="m")
    except ModelLoadError as err:
        assert str(err) and "\n" not in str(err).strip() and str(path) in str(err)


@FUZZ
@given(data=st.data())
def test_weights_loader_on_damaged_files(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    raw = GOOD_WEIGHTS
    how = data.draw(st.sampled_from(["flip", "truncate", "append", "replace", "header", "length"]))
    if how == "flip":
        i = data.draw(st.integers(0, len(raw) - 1))
        raw = raw[:i] + bytes([raw[i] ^ (1 << data.draw(st.integers(0, 7)))]) + raw[i + 1 :]
    elif how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif how == "append":
        raw = raw + data.draw(st.binary(min_size=1, max_size=64))
    elif how == "replace":
        raw = data.draw(st.binary(max_size=300))
    elif how == "length":  # the 8-byte length prefix claims anything
        raw = data.draw(st.integers(0, 2**64 - 1)).to_bytes(8, "little") + raw[8:]
    else:  # a header written by someone else: any dtypes, shapes and byte ranges
        header = data.draw(
            st.dictionaries(st.sampled_from(["1.weight", "1.bias", "x"]), entries, max_size=3)
        )
        text = json.dumps(header).encode()
        raw = len(text).to_bytes(8, "little") + text + raw[8 + HEADER_LEN :]
    _load_damaged(raw, tmp_path_factory.mktemp("weights"))


def test_intact_weights_load_unchanged(tmp_path: Path) -> None:
    from harness.core.weights import load_state_dict
    from tests.fixture_models import linear_digits

    path = tmp_path / "w.safetensors"
    path.write_bytes(GOOD_WEIGHTS)
    state, _ = load_state_dict(path, expected_sha256=None, allow_pickle=False)
    for key, value in linear_digits().state_dict().items():
        assert state[key].equal(value)


@FUZZ
@given(data=st.data())
def test_pickled_weights_loader_on_damaged_files(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """allow_pickle: true and a damaged torch.save file: a state dict or one ModelLoadError."""
    import io

    import torch

    from harness.core.errors import ModelLoadError
    from harness.core.weights import load_state_dict
    from tests.fixture_models import linear_digits

    buf = io.BytesIO()
    torch.save(linear_digits().state_dict(), buf)
    raw = buf.getvalue()
    cut = data.draw(st.integers(0, len(raw)))
    junk = data.draw(st.binary(max_size=32))
    path = tmp_path_factory.mktemp("pickled") / "w.pt"
    path.write_bytes(raw[:cut] + junk + raw[cut + len(junk) :])
    try:
        state, _ = load_state_dict(path, expected_sha256=None, allow_pickle=True)
        assert all(isinstance(v, torch.Tensor) for v in state.values())
    except ModelLoadError as err:
        assert "\n" not in str(err).strip()


def _good_npy() -> bytes:
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.arange(5 * 8 * 8, dtype=np.uint8).reshape(5, 8, 8))
    return buffer.getvalue()


GOOD_NPY = _good_npy()


@FUZZ
@given(data=st.data())
def test_npy_header_reader_on_damaged_files(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A CIFAR-10-C `.npy` bit-flipped, truncated, extended, replaced or given any header: the
    header reader returns a header the file can hold, or raises one DatasetError line naming the
    file — never numpy's own error, and never allocates what a header claims."""
    from harness.core.errors import DatasetError
    from harness.data.npy_header import read_npy_header

    raw = GOOD_NPY
    how = data.draw(st.sampled_from(["flip", "truncate", "append", "replace", "header"]))
    if how == "flip":
        i = data.draw(st.integers(0, 127))  # inside the magic string and header
        raw = raw[:i] + bytes([raw[i] ^ (1 << data.draw(st.integers(0, 7)))]) + raw[i + 1 :]
    elif how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif how == "append":
        raw = raw + data.draw(st.binary(min_size=1, max_size=64))
    elif how == "replace":
        raw = data.draw(st.binary(max_size=300))
    else:  # a header written by someone else: any dtype text, shape and order
        descr = data.draw(st.sampled_from(["|u1", "<f4", "|O", "<c16", "|S3", "x", "<i8"]))
        shape = data.draw(st.lists(st.integers(0, 2**40), max_size=4))
        text = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {tuple(shape)!r}, }}"
        text = text.ljust(117) + "\n"
        raw = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode() + raw[128:]
    path = tmp_path_factory.mktemp("npy") / "fog.npy"
    path.write_bytes(raw)
    try:
        header = read_npy_header(path, "task 't'")
    except DatasetError as err:
        assert "\n" not in str(err) and str(path) in str(err)
        return
    need = header.dtype.itemsize
    for n in header.shape:
        need *= n
    assert not header.dtype.hasobject and need <= len(raw)
