"""The CI examples in docs/ci-gate.md parse and gate the quickstart the way the repository's own
test does: against the committed baseline *with* its policy (without it, throughput and latency
measured on another machine fail the gate)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from harness.cli.main import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "ci-gate.md"


def ci_commands() -> list[str]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    workflows = [yaml.safe_load(b) for b in blocks if "harness check" in b]
    assert len(workflows) == 2  # GitHub Actions and GitLab CI
    github, gitlab = workflows
    steps = github["jobs"]["gate"]["steps"]
    commands = [s["run"] for s in steps if "run" in s]
    commands += list(gitlab["harness-gate"]["script"])
    return [" ".join(c.split()) for c in commands if c.strip().startswith("harness ")]


def test_ci_examples_gate_with_the_quickstart_policy() -> None:
    checks = [c for c in ci_commands() if c.startswith("harness check")]
    runs = [c for c in ci_commands() if c.startswith("harness run")]
    assert len(checks) == 2 and len(runs) == 2
    parser = build_parser()
    for command in checks:
        args = parser.parse_args(shlex.split(command)[1:])
        assert args.policy is not None and str(args.policy).endswith("quickstart-policy.yaml")
        assert (DOC.parent.parent / args.policy).is_file()
    for command in runs:  # the committed baseline was run with --device cpu
        assert parser.parse_args(shlex.split(command)[1:]).device == "cpu"


def _power_prefix(line: str) -> str:
    """A power line as the page abbreviates it: up to the range of changes it catches."""
    return " ".join(line.split()).split(" or more is caught")[0]


@pytest.mark.slow  # ~10 s: the committed quickstart baseline gated against itself, twice
def test_quickstart_self_gate_reads_as_the_page_says() -> None:
    """The verdicts and `power:` lines the page quotes are those the committed baseline gives."""
    import harness
    from harness.present.check_view import verdict_text

    text = DOC.read_text()
    baseline = DOC.parent.parent / "results" / "baselines" / "quickstart"
    policy = baseline.parent / "quickstart-policy.yaml"
    bare = verdict_text(harness.check(baseline, baseline).report)
    assert f"itself without a policy: `{bare}`" in " ".join(text.split())
    gated = harness.check(baseline, baseline, policy=policy)
    assert f"says `{verdict_text(gated.report)}` and reports" in " ".join(text.split())
    quoted = re.search(r"and reports:\n\n```\n(.*?)```", text, flags=re.S)
    assert quoted is not None
    page = [_power_prefix(line) for line in quoted.group(1).splitlines()]
    assert page == [_power_prefix(f"power: {line}") for line in gated.power]
