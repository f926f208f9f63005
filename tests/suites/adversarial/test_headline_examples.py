"""The stored adversarial examples (the report's gallery) follow the task's headline threat
model when the run attacks it, else the largest budget of the first norm."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from harness.store.run_store import read_job

SPEC = """name: adv
seed: 0
device: cpu
limit: 60
bootstrap_resamples: 0
tasks: [digits]
models:
  - {name: control, factory: 'tests.suites.adversarial.models:control_digits', input_shape: [1, 8, 8]}
suites:
  adversarial: {preset: fast, epsilons: {linf: [0.05, 0.1, 0.3]}, examples: 3}
"""


@pytest.mark.parametrize(
    ("headline", "eps"),
    [("headline: {digits: {linf: 0.05}}\n", 0.05), ("headline: {digits: {l2: 0.5}}\n", 0.3)],
)
def test_examples_are_drawn_at_the_headline(tmp_path: Path, headline: str, eps: float) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC + headline)
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    (path,) = (tmp_path / "out" / "runs").glob("*/jobs/*adversarial*")
    meta = read_job(path).artifacts()["adversarial_examples"]
    assert meta["norm"] == "linf" and meta["eps"] == eps
