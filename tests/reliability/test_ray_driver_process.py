"""`harness run --executor ray` from the command line: Ray runs in a child driver process, starts
its own local cluster (never a leftover one), and the tables equal a local run's.

(Failures of that process — a killed runtime-env agent, a rejected token, bad addresses — are
catalogue cases; tests/run/executors/ covers the executor on a cluster set up in-process.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from tests.reliability.conftest import results_by_job
from tests.reliability.scenarios import SPEC, _harness_child


@pytest.mark.slow  # ~20 s; the Ray executor tests in tests/run cover the child driver too
def test_cli_ray_run_in_a_child_driver_equals_local(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(name="rayproc"))
    assert main(["run", str(spec), "--out", str(tmp_path / "local")]) == 0
    child = _harness_child(
        "run", spec, "--out", tmp_path / "ray", "--executor", "ray",
        env={"RAY_AUTH_MODE": "disabled", "RAY_ADDRESS": ""},
    )  # fmt: skip
    _, err = child.communicate(timeout=600)
    assert child.returncode == 0, err
    local, ray = results_by_job(tmp_path / "local"), results_by_job(tmp_path / "ray")
    assert local.keys() == ray.keys() and len(local) == 2
    for key, (frame, metrics, status) in local.items():
        assert frame is not None and frame.equals(ray[key][0])
        assert status == ray[key][2]
        assert [m["value"] for m in metrics] == [m["value"] for m in ray[key][1]]
