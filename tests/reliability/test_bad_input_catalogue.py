"""Every case of bad_inputs.yaml through the CLI in-process: one clear line and the right exit code.

Exit 2 (a user error): exactly one `error: ...` line containing the expected text. Exit 1 (a
failed job): exactly one `error: job <label> failed: ...` line containing it. The catalogue is
data so it can grow; see docs/reliability.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.reliability.conftest import cli, error_lines

CATALOGUE = Path(__file__).with_name("bad_inputs.yaml")
FEATURES = [f"f{i}" for i in range(10)]
PLACEHOLDERS = {
    "TABMODEL": "{name: tm, factory: 'tests.fixture_models:linear_tabular', input_shape: [10]}",
    "MODEL": "{name: m, factory: 'tests.fixture_models:linear_digits', input_shape: [1, 8, 8]}",
    "TASK": (
        "{name: t, source: d.csv, feature_columns: [" + ", ".join(FEATURES) + "], "
        "label_column: y, num_classes: 2, modality: tabular, bounds: [0, 1]}"
    ),
}


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


def _cases() -> list[dict[str, Any]]:
    return yaml.safe_load(CATALOGUE.read_text())["cases"]


def test_catalogue_is_large_and_unique() -> None:
    ids = [c["id"] for c in _cases()]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["id"])
def test_bad_input(case: dict[str, Any], tmp_path: Path) -> None:
    text = case["spec"]
    if text == "BIG":
        text = "name: big\n# " + "x" * (1 << 20) + "\n"
    for key, value in PLACEHOLDERS.items():
        text = text.replace(key, value)
    for name, content in case.get("files", {}).items():
        (tmp_path / name).write_text(DATA[content]() if content in DATA else content)
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    command = case.get("command", "validate")
    args = (
        ["run", spec, "--out", tmp_path / "out", "--limit", "20"]
        if command == "run"
        else [
            "validate",
            spec,
        ]
    )
    code, _, err = cli(*args)
    lines = error_lines(err)
    if case["code"] == 1:
        lines = [ln for ln in lines if ln.startswith("error: job ")]
    assert code == case["code"], err
    assert len(lines) == 1, err
    assert case["expect"] in lines[0], lines[0]
    assert "\n" not in lines[0] and len(lines[0]) < 1000
