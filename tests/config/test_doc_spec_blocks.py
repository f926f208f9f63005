"""The spec examples of the documentation parse against the current spec models: every
```yaml block of these pages that is a spec, or a spec's `tasks:` / `models:` fragment (the
keys it leaves out filled with a catalogue task, a zoo model and the accuracy suite; a protocol's
tasks and suites are its own), is
accepted by `parse_spec_text` (no file is read, no model built)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from harness.config.spec import parse_spec_text

ROOT = Path(__file__).resolve().parents[2]
PAGES = (
    "README.md",
    "docs/tasks.md",
    "docs/variants.md",
    "docs/report.md",
    "docs/python-api.md",
    "docs/shift.md",
    "docs/adversarial.md",
    "docs/fairness.md",
    "docs/protocols.md",
    "docs/throughput.md",
    "docs/adapters.md",
    "docs/ray.md",
    "docs/reliability.md",
    "docs/text-attacks.md",
    "docs/text-tasks.md",
    "docs/corruptions.md",
)
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
    if isinstance(raw, list):  # a `tasks:` or `models:` list continued from the text before it
        entries = [e for e in raw if isinstance(e, dict)]
        model_keys = {"adapter", "factory", "callable"}
        raw = {"models" if any(model_keys & set(e) for e in entries) else "tasks": raw}
    assert isinstance(raw, dict), where
    if not {"models", "tasks", "suites", "execution", "protocol"} & set(raw):
        pytest.skip(f"{where}: not a spec ({', '.join(map(str, raw))})")
    fill = dict(FILL)
    if "protocol" in raw:  # a protocol fills in tasks and suites itself
        fill = {"models": FILL["models"]}
    parse_spec_text(yaml.safe_dump({**fill, **raw}), source=where)
