"""The CI examples in docs/ci-gate.md parse and gate the quickstart the way the repository's own
test does: against the committed baseline *with* its policy (without it, throughput and latency
measured on another machine fail the gate)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

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
