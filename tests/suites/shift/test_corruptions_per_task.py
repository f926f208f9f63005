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
