"""One local Ray cluster shared by the Ray tests of a module (starting one takes 5-20 s on this
machine). Module-scoped, not session-scoped: a cluster left up until the session ends keeps its
GCS, raylet and idle workers busy on the worker that ran the Ray tests (3 s of CPU a minute
measured idle on a 2-core machine, 20-30 s over a test run), after its last test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.run.executors.ray_cluster import local_system_config


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[object]:
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level="ERROR",
        log_to_driver=False,
        _system_config=local_system_config(),  # as the harness starts its own local cluster
    )
    try:
        yield ray
    finally:
        ray.shutdown()
