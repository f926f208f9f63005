"""A task's headline threat model: declared by the catalogue, set by a spec's `headline:`,
carried by the loaded task into its summary and the job key (harness.core.threat_model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.plan import job_key
from harness.config.planner import build_plan
from harness.config.spec import parse_spec_text
from harness.core.errors import SpecError
from harness.core.threat_model import ThreatModel, eps_text, headline_budget, headline_text
from harness.data.catalogue import BUILTIN_TASKS
from harness.data.headlines import HEADLINES
from harness.run.plugins import installed_plugins
from tests.config.test_job_key_inputs import COMMON, OLD_KEY

BASE = "models: [digits-mlp]\nsuites: {accuracy: {}}\n"


def _plan(text: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    return build_plan(
        parse_spec_text(text + BASE, source="s.yaml"),
        base_dir=tmp_path,
        plugins=installed_plugins(),
    )


def test_every_catalogue_task_declares_one() -> None:
    assert set(HEADLINES) == set(BUILTIN_TASKS)
    assert headline_text(HEADLINES["mnist"]) == "L-inf 0.3"
    assert headline_text(HEADLINES["cifar10"]) == "L-inf 8/255, L2 0.5"
    assert headline_text(HEADLINES["imagenet-val"]) == "L-inf 4/255"
    assert HEADLINES["sst2"] == ()


def test_the_catalogue_headline_reaches_the_task_and_its_summary(tmp_path: Path) -> None:
    plan = _plan("tasks: [digits]\n", tmp_path)
    assert plan.tasks["digits"].headline == (ThreatModel(norm="linf", eps=0.1),)
    task = plan.tasks["digits"].load()
    assert task.headline == HEADLINES["digits"]
    assert task.summary().headline == HEADLINES["digits"]


def test_a_spec_sets_its_own(tmp_path: Path) -> None:
    plan = _plan("tasks: [digits]\nheadline: {digits: {linf: 8/255, l2: 0.5}}\n", tmp_path)
    headline = plan.tasks["digits"].load().headline
    assert [t.label for t in headline] == ["L-inf 8/255", "L2 0.5"]
    assert headline[0].eps == pytest.approx(8 / 255)
    none = _plan("tasks: [digits]\nheadline: {digits: {}}\n", tmp_path)
    assert none.tasks["digits"].load().headline == ()


@pytest.mark.parametrize(
    ("headline", "message"),
    [
        ("{digits: {l3: 0.1}}", "headline.digits.l3"),
        ("{digits: {linf: -1}}", "headline.digits.linf: a budget must be a positive"),
        ("{digits: {linf: x/255}}", "cannot read budget 'x/255'"),
        ("{mnist: {linf: 0.3}}", "headline: names task 'mnist', which this spec does not list"),
    ],
)
def test_bad_headlines_are_one_line(headline: str, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(")):
        parse_spec_text(f"tasks: [digits]\nheadline: {headline}\n" + BASE, source="s.yaml")


def test_the_spec_hash_and_job_key_move_only_with_a_headline() -> None:
    plain = parse_spec_text("tasks: [digits]\n" + BASE, source="s.yaml")
    empty = parse_spec_text("tasks: [digits]\nheadline: {}\n" + BASE, source="s.yaml")
    text = "tasks: [digits]\nheadline: {digits: {linf: 0.1}}\n" + BASE
    set_ = parse_spec_text(text, source="s.yaml")
    assert plain.spec_hash() == empty.spec_hash() != set_.spec_hash()
    assert job_key(**COMMON, headline=()) == OLD_KEY  # a task without one keeps its old key
    one = job_key(**COMMON, headline=(ThreatModel(norm="linf", eps=0.1),))
    other = job_key(**COMMON, headline=(ThreatModel(norm="linf", eps=0.05),))
    labels = job_key(**COMMON, group_labels={"sex": {"1": "one"}})
    notes = job_key(**COMMON, group_notes={"sex": "undocumented"})
    assert len({OLD_KEY, one, other, labels, notes}) == 5


def test_budgets_in_words_and_matching() -> None:
    assert [eps_text(e) for e in (0.3, 0.1, 8 / 255, 4 / 255, 0.5)] == [
        "0.3", "0.1", "8/255", "4/255", "0.5"
    ]  # fmt: skip
    threat = ThreatModel(norm="linf", eps=8 / 255)
    assert threat.matches("linf", 0.0313725)  # condition names keep 6 significant digits
    assert not threat.matches("l2", 8 / 255) and not threat.matches("linf", 0.031)
    assert threat.matches_context({"norm": "linf", "eps": "0.0313725"})
    assert not threat.matches_context({"norm": "linf", "eps": "n/a"})
    attacked = {"linf": [0.01, 0.0313725], "l2": [0.5]}
    assert headline_budget((ThreatModel(norm="l2", eps=1.0), threat), attacked) == (
        "linf",
        0.0313725,
    )
    assert headline_budget((ThreatModel(norm="l2", eps=1.0),), attacked) is None
