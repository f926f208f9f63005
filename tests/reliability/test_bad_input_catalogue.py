"""Every case of bad_inputs.yaml through the CLI in-process: one clear line and the right exit code.

Exit 2 (a user error): exactly one `error: ...` line containing the expected text. Exit 1 (a
failed job): exactly one `error: job <label> failed: ...` line containing it, no traceback, and
(`finished: true`) a manifest that finished with the other jobs completed. Exit 0: accepted,
with (`note:`) the note the job record must carry. `scenario:` cases run a function of
tests/reliability/scenarios.py that checks what the case promises beyond the line. The catalogue
is data so it can grow; see docs/reliability.md.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.reliability.conftest import cli, error_lines
from tests.reliability.damaged_data import DATA_FILES
from tests.reliability.damaged_files import FILES as MODEL_FILES
from tests.reliability.scenarios import SCENARIOS, Scene

CATALOGUE = Path(__file__).with_name("bad_inputs.yaml")
FILES = {**MODEL_FILES, **DATA_FILES}
DIGIT_NAMES = "[" + ", ".join(f"'{i}'" for i in range(10)) + "]"
FEATURES = [f"f{i}" for i in range(10)]
PLACEHOLDERS = {  # replaced in this order (no key may contain a later one)
    # an image task on the folder `data` (an image folder or a CIFAR-10-C folder)
    "IMAGEDATA": (
        f"{{name: imgs, source: data, modality: image, class_names: {DIGIT_NAMES}, "
        "input_shape: [1, 8, 8]}"
    ),
    "TABMODEL": "{name: tm, factory: 'tests.fixture_models:linear_tabular', input_shape: [10]}",
    "MODEL": "{name: m, factory: 'tests.fixture_models:linear_digits', input_shape: [1, 8, 8]}",
    "GOOD": "{name: good, factory: 'tests.fixture_models:linear_digits', input_shape: [1, 8, 8]}",
    "TASK": (
        "{name: t, source: d.csv, feature_columns: [" + ", ".join(FEATURES) + "], "
        "label_column: y, num_classes: 2, modality: tabular, bounds: [0, 1]}"
    ),
}
# BAD(how): a digits model whose forward misbehaves (tests/reliability/hostile_models.py)
BAD = re.compile(r"BAD\(([a-z-]+)\)")
BAD_MODEL = (
    "{{name: bad, factory: 'tests.reliability.hostile_models:misbehaving', "
    "factory_args: {{how: {how}}}, input_shape: [1, 8, 8]}}"
)


def _rows(override: dict[tuple[int, str], str] | None = None, n: int = 30) -> str:
    """A small valid CSV, with `override` {(row, column): text} applied."""
    header = [*FEATURES, "y"]
    lines = [",".join(header)]
    for i in range(n):
        cells = {c: f"{(i * 3 + j) % 10 / 10:.1f}" for j, c in enumerate(FEATURES)}
        cells["y"] = str(i % 2)
        for (row, col), text in (override or {}).items():
            if row == i:
                cells[col] = text
        lines.append(",".join(cells[c] for c in header if c in cells))
    return "\n".join(lines) + "\n"


def _rows_without(column: str) -> str:
    return (
        "\n".join(
            ",".join(c for k, c in enumerate(line.split(",")) if k != 9)
            for line in _rows().splitlines()
        )
        + "\n"
        if column == "f9"
        else _rows()
    )


DATA = {
    "ROWS_NAN": lambda: _rows({(4, "f1"): "nan"}),
    "ROWS_INF": lambda: _rows({(4, "f3"): "inf"}),
    "ROWS_LABEL5": lambda: _rows({(7, "y"): "5"}),
    "ROWS_LABELNEG": lambda: _rows({(7, "y"): "-1"}),
    "ROWS_NOF9": lambda: _rows_without("f9"),
    "ROWS_TEXT": lambda: _rows({(2, "f2"): "hello"}),
}
MINIMAL = "tasks: [digits]\nmodels: [digits-mlp]\nsuites: {accuracy: {}}\n"
# generated spec (or policy) texts, too large or too deep to write inline
TEXTS = {
    "BIG": lambda: "name: big\n# " + "x" * (1 << 20) + "\n",
    "NESTED_FLOW": lambda: MINIMAL + "extra: " + "[" * 5000 + "]" * 5000 + "\n",
    "NESTED_BLOCK": lambda: MINIMAL + "extra:\n" + "".join(" " * i + "a:\n" for i in range(1, 200)),
    "NESTED_MAPPING": lambda: MINIMAL + "extra: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
    "NESTED_LIST_DASHES": lambda: MINIMAL + "extra:\n" + "- " * 300 + "x\n",
    "POLICY_NESTED": lambda: "metrics: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
    "POLICY_BIG": lambda: "alpha: 0.05\n# " + "x" * (2 << 20) + "\n",
    "BOM": lambda: "\ufeff" + MINIMAL,
}
# files that are not plain text: a sparse 1 GiB spec, bytes that are not UTF-8, a directory
SPECIAL = {
    "SPARSE_GIB": lambda path: _sparse(path, 1 << 30),
    "NOT_UTF8": lambda path: path.write_bytes(b"name: \xff\xfe\xfa\n" + MINIMAL.encode()),
    "NUL_BYTES": lambda path: path.write_bytes(b"name: a\x00b\n" + MINIMAL.encode()),
    "DIRECTORY": lambda path: path.mkdir(),
}


def _sparse(path: Path, size: int) -> None:
    with path.open("wb") as f:
        f.truncate(size)


@functools.cache
def _cases() -> list[dict[str, Any]]:
    """The catalogue, read once per process (collection and test_catalogue_is_large_and_unique)
    with libyaml's safe loader where PyYAML has it: 0.02 s against the pure-Python loader's
    0.15 s a read."""
    return yaml.load(CATALOGUE.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))[
        "cases"
    ]


def test_catalogue_is_large_and_unique() -> None:
    ids = [c["id"] for c in _cases()]
    assert len(ids) >= 130 and len(set(ids)) == len(ids)
    assert {c["scenario"] for c in _cases() if "scenario" in c} == set(SCENARIOS)
    named = {g for c in _cases() for g in c.get("files", {}).values() if g.startswith("@")}
    assert named == {f"@{name}" for name in FILES}, "every damaged-file generator has a case"


def _spec_text(case: dict[str, Any]) -> str:
    text = case["spec"]
    if text in TEXTS:
        return TEXTS[text]()
    text = BAD.sub(lambda m: BAD_MODEL.format(how=m.group(1)), text)
    for key, value in PLACEHOLDERS.items():
        text = text.replace(key, value)
    return text


def _write_inputs(case: dict[str, Any], folder: Path) -> Path:
    for name, content in case.get("files", {}).items():
        if content.startswith("@"):
            FILES[content[1:]](folder, name)
        else:
            (folder / name).write_text(DATA[content]() if content in DATA else content)
    spec = folder / "spec.yaml"
    if case.get("spec") in SPECIAL:
        SPECIAL[case["spec"]](spec)
    elif "spec" in case:
        spec.write_text(_spec_text(case), encoding="utf-8")
    return spec


@pytest.fixture(scope="module")
def gate_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small finished run the `check` cases gate (each gets a copy): one run of the same
    spec for the module, not one per case. Only those cases ask for it, through
    `request.getfixturevalue`, so the module's tests stay spread over xdist workers (a fixture
    a test names puts its module in one group: tests/conftest.py)."""
    folder = tmp_path_factory.mktemp("gate-run")
    spec = folder / "spec.yaml"
    spec.write_text(f"name: gate\ndevice: cpu\nbootstrap_resamples: 20\n{MINIMAL}")
    assert cli("run", spec, "--out", folder / "out", "--limit", "20")[0] == 0
    return folder / "out"


def _command(
    case: dict[str, Any], folder: Path, spec: Path, request: pytest.FixtureRequest
) -> list[str | Path]:
    command = case.get("command", "validate")
    if command == "run":
        return ["run", spec, "--out", folder / "out", "--limit", "20"]
    if command == "check":  # a gate policy against a small finished run
        policy = folder / "policy.yaml"
        text = case["policy"]
        if text in SPECIAL:
            SPECIAL[text](policy)
        else:
            policy.write_text(TEXTS[text]() if text in TEXTS else text, encoding="utf-8")
        shutil.copytree(request.getfixturevalue("gate_run"), folder / "out")
        run = next((folder / "out" / "runs").iterdir())
        return ["check", "--baseline", run, "--current", run, "--policy", policy]
    return ["validate", spec]


def _params() -> list[Any]:
    """The cases; those that need a real Ray cluster or kill a run in a fresh process are marked
    slow (`-m slow`)."""
    return [
        pytest.param(c, id=c["id"], marks=[pytest.mark.slow] if c.get("slow") else [])
        for c in _cases()
    ]


@pytest.mark.parametrize("case", _params())
def test_bad_input(
    case: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    if "scenario" in case:
        outcome = SCENARIOS[case["scenario"]](Scene(tmp_path, monkeypatch))
        code, err = outcome.code, outcome.err
    else:
        spec = _write_inputs(case, tmp_path)
        before = _prior_run(tmp_path) if case.get("prior") else None
        code, _, err = cli(*_command(case, tmp_path, spec, request))
        if before is not None:
            _check_prior_intact(tmp_path / "out", before)
    lines = error_lines(err)
    if case["code"] == 1:
        lines = [ln for ln in lines if ln.startswith("error: job ")]
    assert code == case["code"], err
    assert "Traceback" not in err, err
    if case["code"] == 0:
        assert lines == [], lines
        _check_note(case, tmp_path)
        return
    assert len(lines) == 1, err
    # `expect` may list the lines a case can honestly end with (a race outside the harness)
    expected = case["expect"] if isinstance(case["expect"], list) else [case["expect"]]
    assert any(e in lines[0] for e in expected), lines[0]
    assert "\n" not in lines[0] and len(lines[0]) < 1000
    if case.get("finished"):
        _check_finished(tmp_path / "out")


def _prior_run(folder: Path) -> dict[str, bytes]:
    """A finished run in the case's results folder; its files, to compare after the case."""
    spec = folder / "prior.yaml"
    spec.write_text(f"name: prior\ndevice: cpu\nbootstrap_resamples: 20\n{MINIMAL}")
    assert cli("run", spec, "--out", folder / "out", "--limit", "20")[0] == 0
    (run,) = (folder / "out" / "runs").iterdir()
    return {str(p.relative_to(run.parent)): p.read_bytes() for p in run.rglob("*") if p.is_file()}


def _check_prior_intact(out: Path, before: dict[str, bytes]) -> None:
    """The earlier run is byte for byte as it was, nothing half-written is left, and a run the
    case started finished its manifest."""
    for name, data in before.items():
        assert (out / "runs" / name).read_bytes() == data, name
    leftovers = [p.name for p in out.rglob(".*") if p.name != ".lock"]
    assert leftovers == [], leftovers
    for manifest in out.glob("runs/*/manifest.json"):
        assert json.loads(manifest.read_text())["status"] != "running", manifest


def _check_finished(out: Path) -> None:
    """The run went on after the failed job and finished its manifest."""
    manifest = json.loads(next(out.glob("runs/*/manifest.json")).read_text())
    assert manifest["status"] == "failed"
    statuses = {j["model"]: j["status"] for j in manifest["jobs"]}
    assert statuses.pop("bad", "failed") == "failed" and set(statuses.values()) == {"completed"}
    assert len(manifest["jobs"]) == len(manifest["planned"])


def _check_note(case: dict[str, Any], folder: Path) -> None:
    if "note" not in case:
        return
    records = [json.loads(p.read_text()) for p in folder.glob("out/runs/*/jobs/*/job.json")]
    notes = [n for r in records for n in r["model_description"].get("weights_notes", [])]
    assert records and any(case["note"] in n for n in notes), notes
