"""The spec examples of the documentation parse against the current spec models: every
```yaml block of these pages that is a spec, or a spec's `tasks:` / `models:` fragment (the
keys it leaves out filled with a catalogue task, a zoo model and the accuracy suite), is
accepted by `parse_spec_text` (no file is read, no model built)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from harness.config.spec import parse_spec_text

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("README.md", "docs/tasks.md", "docs/variants.md", "docs/report.md", "docs/python-api.md")
FILL = {"models": ["digits-mlp"], "tasks": ["digits"], "suites": {"accuracy": {}}}


def spec_blocks() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = (ROOT / page).read_text()
        for match in re.finditer(r"```yaml\n(.*?)```", text, flags=re.S):
            line = text[: match.start()].count("\n") + 1
            found.append((f"{page}:{line}", match.group(1)))
    return found


@pytest.mark.parametrize(("where", "block"), spec_blocks(), ids=[w for w, _ in spec_blocks()])
def test_doc_spec_block_parses(where: str, block: str) -> None:
    raw = yaml.safe_load(block)
    if isinstance(raw, list):  # a `tasks:` list continued from the text before it
        raw = {"tasks": raw}
    assert isinstance(raw, dict), where
    if not {"models", "tasks", "suites"} & set(raw):
        pytest.skip(f"{where}: not a spec ({', '.join(map(str, raw))})")
    parse_spec_text(yaml.safe_dump({**FILL, **raw}), source=where)
