"""`corruptions` given per task: each task gets its own list; a task the mapping leaves out
gets none; bad names and unknown task names are refused naming the key."""

from __future__ import annotations

import pytest

from harness.core.errors import ConfigError
from harness.core.suite import RunContext
from harness.data.builtin import digits
from harness.suites.shift import ShiftSuite
from tests.fixture_models import linear_digits


def _adapter():  # noqa: ANN202
    from harness.adapters.torch_module import TorchModuleAdapter

    return TorchModuleAdapter.from_module(linear_digits(0), name="lin", input_shape=(1, 8, 8))


def test_a_mapping_gives_each_task_its_corruptions() -> None:
    task = digits()
    config = {"corruptions": {"digits": ["fog"]}, "severities": [1], "max_samples": 30}
    conditions = set(
        ShiftSuite(config).run(_adapter(), task, RunContext(seed=0)).table.frame.condition
    )
    assert conditions == {"clean", "corruption=fog/severity=1"}
    other = ShiftSuite({**config, "corruptions": {"mnist": "all"}})
    assert other.skip_reason(_adapter(), task) is not None  # digits gets no corruption


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"digits": ["fogg"]}, "task 'digits': "),
        ({"digits": 3}, "task 'digits': takes a list of names or 'all'"),
        (3, "or a mapping from task name to either"),
    ],
)
def test_bad_per_task_corruptions_name_the_task(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match="suites.shift.corruptions") as err:
        ShiftSuite({"corruptions": value})
    assert message in str(err.value)


def test_an_unknown_task_name_is_refused() -> None:
    suite = ShiftSuite({"corruptions": {"digitz": "all"}})
    with pytest.raises(ConfigError, match=r"suites.shift.corruptions: 'digitz' is not a task"):
        suite.check_task_names(["digits"])


def test_image_corruptions_given_per_task_to_a_tabular_task_are_refused() -> None:
    """`corruptions: {diabetes: [fog]}` ties an image corruption to a tabular task, where it
    can never apply: the job ran the tabular families alone (or was skipped with "no shift
    conditions configured") and nothing said fog was dropped (/tmp/p94/t12.py). Refused, naming
    the key and where the task's families go."""
    import harness

    for extra in ({}, {"tabular": []}):
        suites = {"shift": {"corruptions": {"diabetes": ["fog"]}, "severities": [1], **extra}}
        with pytest.raises(ConfigError) as info:
            harness.evaluate("diabetes-logreg", task="diabetes", suites=suites, limit=30)
        said = str(info.value)
        assert said.startswith(
            "suites.shift.corruptions.diabetes: task 'diabetes' is a tabular task, and the image "
            "corruptions listed for it (fog) do not apply to it"
        ), said
        assert "suites.shift.tabular" in said and "\n" not in said
    # `all` for a tabular task, and a task the mapping leaves out, stay as they were
    suites = {"shift": {"corruptions": {"diabetes": "all"}, "severities": [1]}}
    result = harness.evaluate("diabetes-logreg", task="diabetes", suites=suites, limit=30)
    assert any(r.metric == "mean_tabular_shift_acc" for r in result.metrics)
