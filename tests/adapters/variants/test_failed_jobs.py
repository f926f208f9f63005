"""`harness variants` on a run where a parent or a variant job failed: the comparison says which
job failed and why (it had dropped a failed variant without a word, and blamed a failed parent on
not having been run: "run the parent and its variant together")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main

SPEC = """\
name: variants-failed
limit: 60
tasks: [digits]
models:
  - {name: p32, factory: "tests.adapters.variants.models:fails_in_fp32", input_shape: [1, 8, 8], variants: [fp16]}
  - {name: p16, factory: "tests.adapters.variants.models:fails_in_fp16", input_shape: [1, 8, 8], variants: [fp16]}
suites:
  accuracy: {}
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("variants-failed")
    spec = root / "spec.yaml"
    spec.write_text(SPEC)
    assert main(["run", str(spec), "--out", str(root / "out")]) == 1  # two jobs failed
    return root / "out"


def test_a_failed_parent_or_variant_is_named(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["variants", str(results), "--format", "json"]) == 0
    rows = {c["variant_model"]: c for c in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"p32@fp16", "p16@fp16"}
    parent = rows["p32@fp16"]
    assert parent["status"] == "parent failed"
    assert "p32 × digits × accuracy" in parent["reason"]
    assert "failed: model 'p32' raised RuntimeError" in parent["reason"]
    variant = rows["p16@fp16"]
    assert variant["status"] == "failed"
    assert "failed: model 'p16@fp16' raised RuntimeError" in variant["reason"]
    assert main(["variants", str(results)]) == 0
    out = capsys.readouterr().out
    assert "p16@fp16 vs p16 on digits" in out and "failed:" in out


def test_a_task_without_results_is_named(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--task digts` (a typo) read "no variant results (add `variants:` to a model...)", exit 0."""
    capsys.readouterr()
    assert main(["variants", str(results), "--task", "digts"]) == 2
    err = capsys.readouterr().err
    assert "no results for task 'digts'" in err and "tasks with results: digits" in err
