"""`job_key` with the fingerprints of the other tasks a suite reads (`Suite.input_fingerprints`):
they move the key; none leave every other job's key as it was. And the model-isolation marker:
results computed before model code got its own copy of its inputs are never reused."""

from __future__ import annotations

from typing import Any, ClassVar

from harness.config.plan import MODEL_ISOLATION, job_key
from harness.core.suite import Suite


class _Fixed(Suite):
    name: ClassVar[str] = "fixed"
    version: ClassVar[str] = "3"


COMMON: dict[str, Any] = {
    "model_identity": "model-identity",
    "task_fingerprint": "task-print",
    "suite": _Fixed({}),
    "seed": 7,
    "device_type": "cpu",
    "bootstrap_resamples": 100,
    "harness_version": "9.9.9",
    "batch_size": 32,
}
PRE_ISOLATION_KEY = "dc99b7deb2db0347abe3d4e9c92d1dfd83b831e18a93120089749244d606ec9c"
"""sha256 of the payload above as job_key wrote it before input fingerprints existed (model,
task, suite, suite_version, suite_config: sha256 of '{}', seed, device, bootstrap_resamples,
harness, batch_size), and before model isolation: a shift job's number under it may have been
computed from batches another model edited in place, so it must never be found again."""
OLD_KEY = "f4d6b7d8567e76133011400d55319190194fbdeac5722b686cfc800bee557934"
"""The same payload with `isolation: 1` (harness.config.plan.MODEL_ISOLATION): jobs with no input
fingerprints keep this key as long as the isolation marker stays."""


def test_keys_from_before_model_isolation_are_never_reused() -> None:
    assert MODEL_ISOLATION == 1
    assert job_key(**COMMON) != PRE_ISOLATION_KEY


def test_no_input_fingerprints_keep_the_key_as_before() -> None:
    assert job_key(**COMMON) == OLD_KEY
    assert job_key(**COMMON, input_fingerprints=None) == OLD_KEY
    assert job_key(**COMMON, input_fingerprints={}) == OLD_KEY
    assert _Fixed({}).input_fingerprints(None) == {}  # type: ignore[arg-type]


def test_a_changed_input_fingerprint_changes_the_key() -> None:
    one = job_key(**COMMON, input_fingerprints={"shifted_tasks/moved": "aaa"})
    edited = job_key(**COMMON, input_fingerprints={"shifted_tasks/moved": "bbb"})
    other_name = job_key(**COMMON, input_fingerprints={"ood_sets/moved": "aaa"})
    more = job_key(**COMMON, input_fingerprints={"shifted_tasks/moved": "aaa", "ood_sets/x": "c"})
    assert len({OLD_KEY, PRE_ISOLATION_KEY, one, edited, other_name, more}) == 6
    # the order the suite names them in does not matter
    assert more == job_key(
        **COMMON, input_fingerprints={"ood_sets/x": "c", "shifted_tasks/moved": "aaa"}
    )


def test_class_names_move_the_key_and_none_keep_it() -> None:
    """A job stores its task's class names (per-class records, the task summary): other names
    are another key; a task without names keeps the key it had before names entered it."""
    assert job_key(**COMMON, class_names=()) == OLD_KEY
    named = job_key(**COMMON, class_names=("neg", "pos"))
    swapped = job_key(**COMMON, class_names=("pos", "neg"))
    assert len({OLD_KEY, named, swapped}) == 3
