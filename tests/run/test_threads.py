"""Threads per job: the rules, the CPU budget (affinity, cgroup v1/v2 quotas), the record in the
manifest and job record, and the promise that the count never changes a number or a job key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from harness.cli.main import main
from harness.run.threads import (
    SMALL_MODEL_PARAMETERS,
    CpuBudget,
    cgroup_quota,
    choose_threads,
    using_threads,
)
from harness.store.run_store import load_jobs

BUDGET = CpuBudget(affinity=8, quota=4.0, cpus=4)


def test_rules() -> None:
    pick = choose_threads
    assert pick(requested=3, parameters=10**9, device_type="cpu", budget=BUDGET).threads == 3
    small = pick(requested=None, parameters=650, device_type="cpu", budget=BUDGET)
    assert small.threads == 1 and "small model (650 parameters)" in small.reason
    outside = pick(requested=None, parameters=None, device_type="cpu", budget=BUDGET)
    assert outside.threads == 1 and "outside torch" in outside.reason
    big = pick(requested=None, parameters=SMALL_MODEL_PARAMETERS, device_type="cpu", budget=BUDGET)
    assert big.threads == 4 and "cgroup quota 4 CPUs" in big.reason
    assert pick(requested=None, parameters=5, device_type="cuda", budget=BUDGET).threads == 4


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_is_the_tightest_on_the_path(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    _write(tmp_path / "self", "0::/a/b\n")
    _write(root / "cpu.max", "max 100000\n")
    _write(root / "a" / "cpu.max", "250000 100000\n")  # 2.5 CPUs
    _write(root / "a" / "b" / "cpu.max", "max 100000\n")
    assert cgroup_quota(root, tmp_path / "self") == 2.5
    _write(root / "a" / "b" / "cpu.max", "150000 100000\n")
    assert cgroup_quota(root, tmp_path / "self") == 1.5


def test_cgroup_v1_quota_and_no_quota(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    _write(tmp_path / "self", "4:memory:/x\n3:cpu,cpuacct:/job\n")
    _write(root / "cpu,cpuacct" / "job" / "cpu.cfs_quota_us", "300000\n")
    _write(root / "cpu,cpuacct" / "job" / "cpu.cfs_period_us", "100000\n")
    assert cgroup_quota(root, tmp_path / "self") == 3.0
    _write(root / "cpu,cpuacct" / "job" / "cpu.cfs_quota_us", "-1\n")
    assert cgroup_quota(root, tmp_path / "self") is None
    assert cgroup_quota(tmp_path / "missing", tmp_path / "nothing") is None


def test_using_threads_restores_the_setting() -> None:
    before = torch.get_num_threads()
    with using_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    torch.set_num_threads(2)
    try:
        with using_threads(None):  # None: leave the setting alone
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def _blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info

    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_the_tests_run_blas_on_one_thread_and_a_job_still_sets_its_count() -> None:
    """tests/conftest.py starts OpenBLAS on one thread per test worker (two spinning threads per
    worker on two cores cost 5-7 s of CPU for one LogisticRegression fit); a job's count still
    reaches BLAS, so the runs below compare tables across counts in BLAS too."""
    import numpy as np

    np.ones((64, 64)) @ np.ones((64, 64))  # OpenBLAS loaded and used
    assert _blas_threads() == {1}
    with using_threads(2):
        assert _blas_threads() == {2}
    assert _blas_threads() == {1}


SPEC = """
name: threads
device: cpu
limit: 60
batch_size: 20
bootstrap_resamples: 50
tasks: [digits]
models:
  - name: lin
    factory: tests.fixture_models:linear_digits
    weights: linear.safetensors
    input_shape: [1, 8, 8]
  - digits-cnn
suites:
  accuracy: {}
  adversarial: {attacks: [fgsm, linf_pgd], epsilons: {linf: [0.1]}, max_samples: 30, check_samples: 8}
"""


def test_threads_are_recorded_and_never_change_a_number(
    write_spec: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the gradient-obfuscation check's own Square attack (1,000 queries, one small batch each)
    # was two thirds of this test's time; 100 queries run the same code
    from harness.suites.adversarial import checks

    monkeypatch.setattr(checks, "CHECK_SQUARE_QUERIES", 100)
    spec = write_spec(SPEC)
    results = {}
    for threads in (1, 2):
        out = tmp_path / f"t{threads}"
        assert main(["run", str(spec), "--out", str(out), "--threads", str(threads)]) == 0
        (run_dir,) = (out / "runs").iterdir()
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["execution"]["threads"] == threads
        assert {j["threads"] for j in manifest["jobs"]} == {threads}
        results[threads] = {(j.record.model, j.record.suite): j for _, j in load_jobs(out)}
        assert {j.record.threads for j in results[threads].values()} == {threads}
    assert results[1].keys() == results[2].keys()
    for name, one in results[1].items():
        two = results[2][name]
        assert one.record.key == two.record.key  # threads are not part of the key
        a, b = one.table().frame, two.table().frame
        floats = [c for c in a.columns if pd.api.types.is_float_dtype(a[c])]
        exact = [c for c in a.columns if c not in floats]
        assert a[exact].equals(b[exact]), name  # every prediction, outcome and label
        # A CPU's matrix kernels may split a sum across threads (MKL on a small last batch; on
        # AVX-512 CPUs every batch through digits-cnn): the last float bits of a probability,
        # a loss or a norm can move (2e-6 in a logit), never a prediction; docs/throughput.md.
        for column in floats:
            assert np.allclose(a[column], b[column], rtol=1e-5, atol=1e-6, equal_nan=True), (
                name,
                column,
            )
        for ma, mb in zip(one.metrics, two.metrics, strict=True):
            assert ma.key == mb.key and ma.n == mb.n
            assert ma.value == pytest.approx(mb.value, abs=1e-6), (name, ma.key)


def test_auto_threads_give_small_models_one_thread(
    write_spec: Callable[[str], Path], tmp_path: Path
) -> None:
    spec = write_spec(SPEC)
    out = tmp_path / "auto"
    assert main(["run", str(spec), "--out", str(out), "--suites", "accuracy"]) == 0
    (run_dir,) = (out / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["execution"]["threads"] == "auto"
    assert manifest["execution"]["cpu_budget"] >= 1
    assert [j["threads"] for j in manifest["jobs"]] == [1, 1]  # both models are small


@pytest.mark.parametrize("bad", ["0", "two"])
def test_bad_thread_counts_are_refused(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--threads", bad]) == 2
    assert "--threads" in capsys.readouterr().err
