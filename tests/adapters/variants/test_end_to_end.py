"""Variants through `harness run`: lineage in job.json, skips with reasons, CLI, leaderboard, report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markupsafe import escape

from harness.cli.main import main

SPEC = """\
name: variants-e2e
bootstrap_resamples: 50
limit: 120
tasks: [digits]
models:
  - {name: digits-mlp, variants: [int8, fp16]}
  - name: convy
    factory: tests.adapters.variants.models:conv_only
    input_shape: [1, 8, 8]
    variants: [int8, prune50]
suites:
  accuracy: {}
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("variants")
    spec = root / "spec.yaml"
    spec.write_text(SPEC)
    assert main(["run", str(spec), "--out", str(root / "out")]) == 0
    return root / "out"


def _jobs(results: Path) -> dict[str, dict]:
    return {
        json.loads(p.read_text())["model"]: json.loads(p.read_text())
        for p in results.glob("runs/*/jobs/*/job.json")
    }


def test_variants_are_models_with_lineage_and_size(results: Path) -> None:
    jobs = _jobs(results)
    assert set(jobs) == {
        "digits-mlp",
        "digits-mlp@int8",
        "digits-mlp@fp16",
        "convy",
        "convy@int8",
        "convy@prune50",
    }
    d = jobs["digits-mlp@int8"]["model_description"]
    assert (d["parent"], d["variant"], d["gradients"]) == ("digits-mlp", "int8", False)
    assert d["size_bytes"] < d["parent_size_bytes"] and d["parameters"] == d["parent_parameters"]
    p = jobs["convy@prune50"]["model_description"]
    assert p["nonzero_parameters"] < p["parent_nonzero_parameters"]


def test_int8_without_linear_is_a_recorded_skip(results: Path) -> None:
    job = _jobs(results)["convy@int8"]
    assert job["status"] == "skipped"
    assert "nn.Linear" in job["reason"] and "'convy' has none" in job["reason"]
    # nothing was evaluated, one sample at a time or otherwise: no note says how
    assert job["model_description"]["variant_notes"] == []


def test_variants_command_and_leaderboard(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["variants", str(results), "--format", "json"]) == 0
    comps = {c["variant_model"]: c for c in json.loads(capsys.readouterr().out)}
    assert comps["convy@int8"]["status"] == "skipped"
    top1 = next(d for d in comps["digits-mlp@fp16"]["deltas"] if d["metric"] == "top1_acc")
    assert top1["test"] == "mcnemar_exact" and top1["n"] == 120
    assert main(["leaderboard", str(results), "--format", "json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["digits-mlp@int8"]["parent"] == "digits-mlp" and "parent" not in rows["digits-mlp"]
    assert main(["leaderboard", str(results)]) == 0
    assert "variant digits-mlp@int8 vs digits-mlp: top1_acc" in capsys.readouterr().out


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_report_has_variants_section(results: Path, tmp_path: Path) -> None:
    assert main(["report", str(results), "--out", str(tmp_path / "site")]) == 0
    page = next((tmp_path / "site").glob("task-*.html")).read_text()
    assert "Variants vs parent" in page and "digits-mlp@int8" in page
    # the legend is the one `harness variants` prints: it said "95%-interval overlap otherwise"
    # of ECE (paired resampling), timings (Mann-Whitney) and means over cells (Newcombe)
    from harness.present.variants_view import LEGEND

    assert "interval overlap" not in page
    assert str(escape(LEGEND)) in page


@pytest.mark.parametrize(
    ("models", "message"),
    [
        (
            "  - {name: digits-mlp, variants: [prune100]}\n",
            "models[0](digits-mlp).variants[0] ('prune100'): sparsity must be in [0, 1)",
        ),
        (
            "  - {name: digits-mlp, variants: [{prune: -0.1}]}\n",
            "models[0](digits-mlp).variants[0].prune: sparsity must be in [0, 1)",
        ),
        ("  - {name: digits-mlp, variants: [in8]}\n", "did you mean 'int8'?"),
        (
            "  - {name: digits-mlp, variants: [int8]}\n  - {name: digits-mlp@int8, factory: tests.adapters.variants.models:conv_only}\n",
            "collides with the model models[1]",
        ),
        (  # the variant listed by name too: was "collides ...; rename that model"
            "  - digits-mlp@int8\n  - {name: digits-mlp, variants: [int8]}\n",
            "models[0]: 'digits-mlp@int8' is the variant that models[1].variants[0] asks for; a "
            "variant is listed only by its parent's `variants:`, so remove models[0]",
        ),
        (  # the board's name of a variant written as a model: was "unknown model"
            "  - digits-mlp@fp16\n",
            "models[0]: 'digits-mlp@fp16' names a variant of zoo model 'digits-mlp'; ask for it "
            "in a spec's models: {name: digits-mlp, variants: [fp16]}",
        ),
        (
            "  - {name: hand-made, adapter: variant, parent: digits-mlp}\n",
            "models[0](hand-made).adapter: 'variant' models come from a model's `variants:` list",
        ),
    ],
)
def test_bad_variants_are_spec_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], models: str, message: str
) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(f"tasks: [digits]\nmodels:\n{models}suites:\n  accuracy: {{}}\n")
    assert main(["validate", str(spec)]) == 2
    assert message in capsys.readouterr().err
