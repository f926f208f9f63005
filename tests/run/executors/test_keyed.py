"""`Keyed.check`: a Ray unit's rebuilt model that is not the one the driver keyed names the
description keys that make its identity differ, not those `identity()` leaves out."""

from __future__ import annotations

from typing import Any

import pytest

from harness.core.errors import HarnessError
from harness.data.builtin import digits
from harness.run.executors.work import Keyed


class _Rebuilt:
    """An adapter as a worker on another node rebuilt it: other weights, and a description that
    differs also where `identity()` does not look (its device, its files' location)."""

    name = "m"

    def identity(self) -> str:
        return "new"

    def identity_ignores(self) -> tuple[str, ...]:
        return ("path",)

    def describe(self) -> dict[str, Any]:
        return {"weights_sha256": "b", "path": "/mnt/node7/w.safetensors", "device": "cuda:0"}


def test_the_keys_named_are_those_of_the_identity() -> None:
    keyed = Keyed(
        identity="old",
        description={"weights_sha256": "a", "path": "/data/w.safetensors", "device": "cpu"},
        task_fingerprint="t",
        input_fingerprints={},
    )
    with pytest.raises(HarnessError, match=r"\(weights_sha256 differ\)") as err:
        keyed.check(_Rebuilt(), digits(), object(), "node7")  # type: ignore[arg-type]
    assert "device" not in str(err.value) and "path" not in str(err.value), err.value
