"""Shared, seeded fixtures: tiny models with safetensors weights and specs that use them."""

from __future__ import annotations

import faulthandler
import gc
import os
import random
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

# Idle OpenMP threads sleep instead of spinning, set before torch loads its OpenMP runtime (which
# reads it once) and inherited by every process the tests start. A test that runs torch on two
# threads (bit identity across thread counts) on a machine whose cores are busy otherwise spun
# through each parallel region's wait: tests/suites/shift/test_image_corruptions.py's 224 px case
# took 10-11 s of wall and ~9 s of CPU under two busy loops, 1.5-3.6 s with the threads sleeping.
# Only how idle threads wait changes, never how work is split: every number is the same.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# numpy's and scipy's OpenBLAS start one thread per core and spin them while they wait, and the
# tests call BLAS outside any job (a job sets its own limits: harness/run/threads.py): fitting
# scikit-learn's LogisticRegression on the 1,797 digits took 5-7 s of CPU with two OpenBLAS
# threads on a 2-core machine running two test workers, 0.14 s with one. One thread per worker
# (two workers use both cores); set before numpy loads OpenBLAS, inherited by the tests' children.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _fsync_without_waiting_for_the_disk(fd: int) -> None:
    """The tests' process (and the job processes it forks) skip the wait for the disk that
    `os.fsync` makes: what it guards, a write surviving a power cut, no test can observe, and
    the store fsyncs every file and folder it publishes (harness/store/atomic.py, nofollow.py).
    Measured on this project's 2-core machine: tests/run/test_result_cache_runs.py and
    tests/export/test_mlflow_export.py made 2,996 fsyncs, 23.8 s of waiting beside 36 s of CPU.
    A descriptor that is not open still fails as fsync would fail it (EBADF)."""
    os.fstat(fd)


os.fsync = _fsync_without_waiting_for_the_disk

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from harness.core.hashing import file_sha256  # noqa: E402
from tests.fixture_models import linear_digits, linear_tabular  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet_threads() -> None:
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seeded_global_rngs() -> None:
    """Every test starts from the same global random state, whatever ran before it on its
    worker: a test that draws unseeded data (`torch.rand`) gets the same data, the same
    numbers and the same run time in a full run as alone. (Unseeded, the adversarial suite on
    a linear model's 12 random inputs took 0.2 s or 20 s depending on the draw.)"""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _sys_path_restored() -> Iterator[None]:
    """Each test ends with the `sys.path` it started with. `harness run` puts its spec's folder
    first on `sys.path` (harness/cli/arguments.py), for good in a command's process, and most
    tests' specs are in a folder of their own: without this, a worker's `sys.path` grew by one
    folder per such test, to hundreds, and every later `importlib.metadata` look-up (the plugin
    registries, the library versions in a result-cache key) and every first import searched them
    all, as did the job processes that inherit the list (0.12 s per `package_versions()` at 300
    folders against 0.005 s at 8)."""
    saved = list(sys.path)
    yield
    sys.path[:] = saved


@pytest.fixture
def report_parts_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """A report built in the test runs its parts in this process, not in forked workers (one per
    core: harness/present/site_workers.py). For tests of what a report writes where and prints,
    not of how its parts run: forking a pool for a one-model synthetic run cost more CPU than the
    parts (tests/present/test_site_folder.py: 14.3 -> 9.1 s). That workers build the same site,
    byte for byte, is checked by tests/present/test_page_cache.py and test_site_workers.py, and
    the shared synthetic site (tests/present/conftest.py) is built with workers."""
    from harness.present import site_workers

    monkeypatch.setattr(site_workers, "cores", lambda: 1)


_CACHE_DIR = pytest.StashKey[str]()

_OFFLINE_SWITCHES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HARNESS_HUB_UNREACHABLE")


@pytest.fixture(autouse=True)
def _hub_never_probed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests run offline: the hub probe (harness/data/hub_access.py) answers "cannot be
    reached" without touching the network (a test that needs the hub reachable patches it), and
    the cache-only switch that answer turns on is undone after each test."""
    from harness.data import hub_access

    unreachable = hub_access.HubStatus(False, "the tests run offline")
    monkeypatch.setattr(hub_access, "_probe", lambda *endpoint: unreachable)
    saved = {name: os.environ.get(name) for name in _OFFLINE_SWITCHES}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    offline = (saved["HF_HUB_OFFLINE"] or "").upper() in ("1", "ON", "YES", "TRUE")
    for name in ("huggingface_hub.constants", "datasets.config"):
        module = sys.modules.get(name)
        if module is not None:
            module.HF_HUB_OFFLINE = offline  # type: ignore[attr-defined]
            if hasattr(module, "HF_DATASETS_OFFLINE"):
                module.HF_DATASETS_OFFLINE = offline  # type: ignore[attr-defined]


SHARED_FIXTURES = {
    "mini_demo_folder": "quickstart-mini",  # a small quickstart (the default run's README path)
    "demo_folder": "quickstart",  # the quickstart with a smaller adversarial suite (slow tests)
    "full_demo_folder": "quickstart-full",  # the whole quickstart run (slow tests)
    "baseline_site": "baseline-site",  # the committed baseline's report, torch blocked (30 s)
    "synthetic_site": "synthetic-site",
    "ray_cluster": "ray",  # one local Ray cluster at a time on the machine
    "mlflow_empty_store": "mlflow-store",  # an MLflow SQLite store's tables (8 s to create)
}
"""Session fixtures too costly to build once per worker. `make test` runs the tests on pytest-xdist
workers with `--dist loadgroup`; every test that uses one of these fixtures joins its group, and a
group runs on one worker, so each fixture is built once per test run, as in a serial run. The
tests of a module with a module-scoped fixture join that module's group the same way."""


RUN_EARLY = (
    "tests/zoo/test_zoo.py::test_mnist_adversarially_trained_cnn_is_more_robust_at_eps_0_3",
    "tests/suites/adversarial/test_escalation.py::test_honest_zoo_cnn_raises_no_gradient_mismatch",
    "tests/store/test_completeness_recency.py::test_the_reports_front_page_says_which_numbers",
    "tests/suites/adversarial/test_planted.py::test_a_masked_randomised_model_is_still_flagged",
    "tests/suites/adversarial/test_adversarial.py::test_cli_leaderboard_marks_flagged_model",
    "tests/suites/adversarial/test_raw_units.py::test_sklearn_models_on_raw_units_under_the_default",
    "tests/suites/adversarial/test_escalation.py::test_low_precision_forward_pass_is_not_a_gradient",
)
"""Tests of no group that take 4-12 s of CPU each and come late in the collection: they run
first. `--dist loadgroup` hands out the groups (largest first), then the other tests one by one
in collection order, so a long test near the end (tests/zoo's MNIST test, 12 s of CPU, was the
11th last of 4,439) ran alone while the other workers had nothing left. A name that no longer
matches only moves nothing."""


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(
        key=lambda item: not item.nodeid.startswith(RUN_EARLY)
    )  # stable: the rest keep their order
    for item in items:
        if item.get_closest_marker("slow") is not None:  # minutes to hours by design (-m slow)
            item.add_marker(pytest.mark.timeout(0))
        used = getattr(item, "fixturenames", ())
        groups = {SHARED_FIXTURES[f] for f in used if f in SHARED_FIXTURES}
        if item.path.name.startswith("test_ray"):  # tests that start Ray clusters of their own
            groups.add("ray")
        if len(groups) > 1:
            raise pytest.UsageError(f"{item.nodeid} joins two xdist groups: {sorted(groups)}")
        if not groups and _uses_a_module_fixture(item):
            groups.add(f"module:{item.path.relative_to(item.config.rootpath)}")
        for group in groups:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A slow test gets no `faulthandler_timeout` dump either (it has no time limit): the dump
    reads every thread's frames from a watchdog thread while they run, and after 14 minutes of
    the slow wrong-surrogate escalation test it killed its xdist worker with SIGSEGV (exit code
    11, read off the zombie's /proc stat) in the middle of printing; xdist then waited for the
    dead worker's tests until the CI run was stopped. pytest arms the dump around the whole
    test protocol, so this cancels it before the test's setup."""
    if item.get_closest_marker("slow") is not None:
        faulthandler.cancel_dump_traceback_later()


def _uses_a_module_fixture(item: pytest.Item) -> bool:
    """Whether the test reads a fixture built once per module (a run, a report, a trained
    model): xdist's `loadgroup` would otherwise send the module's tests to both workers and
    build it twice (tests/suites/shift/ood/test_ood_cli.py's run and report: 17-18 s each on
    a busy machine). Such a module's tests run on one worker, as in a serial run."""
    info = getattr(item, "_fixtureinfo", None)  # pytest's record of the test's fixtures
    if info is None:
        return False
    return any(
        defs and defs[-1].scope == "module"
        for name, defs in info.name2fixturedefs.items()
        if name in item.fixturenames
    )


def pytest_configure(config: pytest.Config) -> None:
    # The tests never touch the user's result cache (harness/store/result_cache.py): it lives in
    # a temporary folder, and is off unless a test asks for it (the `result_cache` fixture), so
    # a test that runs the same spec twice to compare the results computes both.
    # Set here (not in a fixture) so session fixtures and subprocesses see it too.
    folder = tempfile.mkdtemp(prefix="harness-test-cache-")
    config.stash[_CACHE_DIR] = folder
    os.environ["HARNESS_CACHE"] = folder
    os.environ["HARNESS_NO_CACHE"] = "1"
    if not config.pluginmanager.hasplugin("timeout"):
        # without it a hung test stalls the whole run until CI's own limit, with no name
        raise pytest.UsageError(
            "the tests need pytest-timeout (pyproject.toml: timeout): pip install -e '.[dev]'"
        )
    if config.getoption("dist", "no") == "loadgroup" and pytest.version_tuple[:2] >= (9, 2):
        # pytest 9.2 keeps a test's id where pytest-xdist 3.8 cannot append its group: every
        # group would be split and its fixture built on every worker, unnoticed
        raise pytest.UsageError(
            "--dist loadgroup needs pytest < 9.2 with pytest-xdist 3.8 (groups are not kept "
            "together otherwise): pip install 'pytest<9.2', as pyproject.toml's dev extra asks"
        )


def pytest_collection_finish(session: pytest.Session) -> None:
    """What the collection built (every imported library and test module, a few hundred
    thousand objects that live to the end) moves out of the garbage collector's sight: each full
    collection of a worker traversed all of it, and the throughput suite's `gc.collect()` before
    every measured condition (suites/throughput/measure.py) cost 0.5 s a call in a worker holding
    the suite's objects. Frozen objects are still freed when their last reference goes; only a
    reference cycle among them waits for the process's end. Measured with `-n 2` on
    tests/suites/throughput, tests/analysis/test_paired_tests.py and test_shared_draws.py (2 cores,
    loaded): the garbage collector's CPU 8.1 -> 3.3 s, the run's user CPU 36.8 -> 27.7 s."""
    gc.collect()
    gc.freeze()


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_CACHE_DIR, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def result_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared result cache, on, in a fresh folder of this test (returned)."""
    folder = tmp_path_factory.mktemp("result-cache")
    monkeypatch.setenv("HARNESS_CACHE", str(folder))
    monkeypatch.delenv("HARNESS_NO_CACHE", raising=False)
    return folder


def save_weights(module: torch.nn.Module, path: Path) -> str:
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(path))
    return file_sha256(path)


@pytest.fixture
def weights_dir(tmp_path: Path) -> Path:
    """linear.safetensors (digits, 10 classes), wide.safetensors (7 classes), tab.safetensors."""
    save_weights(linear_digits(), tmp_path / "linear.safetensors")
    save_weights(linear_digits(seed=1), tmp_path / "linear1.safetensors")
    save_weights(linear_digits(classes=7), tmp_path / "seven.safetensors")
    save_weights(linear_tabular(), tmp_path / "tab.safetensors")
    return tmp_path


@pytest.fixture
def write_spec(weights_dir: Path) -> Callable[[str], Path]:
    """Write a spec (YAML text, dedented) next to the fixture weights; returns its path."""

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = weights_dir / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


TINY_SPEC = """\
name: tiny
seed: 3
device: cpu
limit: 120
bootstrap_resamples: 200
tasks: [digits]
models:
  - name: lin-a
    factory: tests.fixture_models:linear_digits
    weights: linear.safetensors
    input_shape: [1, 8, 8]
  - name: lin-b
    factory: tests.fixture_models:linear_digits
    factory_args: {seed: 1}
    weights: linear1.safetensors
    input_shape: [1, 8, 8]
suites:
  accuracy: {}
"""


@pytest.fixture
def tiny_spec(write_spec: Callable[[str], Path]) -> Path:
    return write_spec(TINY_SPEC)


@pytest.fixture(scope="session")
def baseline_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed quickstart baseline's report, built once per session with torch blocked
    from import (tests/torch_blocked.py): the torch-free test and the browser test share it."""
    from tests.torch_blocked import REPO, run_without_torch

    site = tmp_path_factory.mktemp("baseline-site") / "site"
    baseline = REPO / "results" / "baselines" / "quickstart"
    done = run_without_torch("report", str(baseline), "--out", str(site))
    assert done.returncode == 0, done.stderr[-2000:]
    return site
