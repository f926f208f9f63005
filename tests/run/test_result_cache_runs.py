"""`harness run` with the result cache shared by every results folder: the same jobs run into
another --out are copied, any change of weights, data, suite config, harness version, code,
library versions or machine misses, --no-cache (or the spec, or HARNESS_NO_CACHE) leaves the cache alone, a damaged entry is
rerun and rewritten, and a cache that cannot be written never fails a run."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
import torch

import harness
from harness.cli.main import main
from harness.run import runner
from harness.store.result_cache import ResultCache
from harness.store.run_store import load_jobs
from tests.conftest import TINY_SPEC


def _run(spec: Path, out: Path, *args: str) -> dict[str, dict]:
    """Run `spec` into `out`; the manifest's job lines by model."""
    assert main(["run", str(spec), "--out", str(out), "--width", "0", *args]) == 0
    (manifest,) = (out / "runs").glob("*/manifest.json")
    return {j["model"]: j for j in json.loads(manifest.read_text())["jobs"]}


def _statuses(jobs: dict[str, dict]) -> dict[str, str]:
    return {model: j["status"] for model, j in jobs.items()}


def _entries(folder: Path) -> int:
    return len(ResultCache(folder).contents().entries)


@pytest.fixture
def spec(weights_dir: Path) -> Path:
    path = weights_dir / "tiny.yaml"
    path.write_text(TINY_SPEC)
    return path


def test_the_same_jobs_in_another_results_folder_are_copied_from_the_cache(
    spec: Path, tmp_path: Path, result_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _run(spec, tmp_path / "a")
    assert _statuses(first) == {"lin-a": "completed", "lin-b": "completed"}
    assert _entries(result_cache) == 2
    capsys.readouterr()
    second = _run(spec, tmp_path / "b")
    assert _statuses(second) == {"lin-a": "cached", "lin-b": "cached"}
    run_id = next((tmp_path / "a" / "runs").iterdir()).name
    message = f"reused the results of run {run_id} from the result cache (same key)"
    assert second["lin-a"]["message"] == message
    assert f"lin-a × digits × accuracy ... cached: {message}" in capsys.readouterr().err
    old = {j.record.model: j for _, j in load_jobs(tmp_path / "a")}
    new = {j.record.model: j for _, j in load_jobs(tmp_path / "b")}
    for model, job in new.items():
        assert job.record.key == old[model].record.key
        assert job.record.reused_from == f"{run_id}/{old[model].path.name}"
        assert job.table().frame.equals(old[model].table().frame)
        assert job.metrics == old[model].metrics
    # the copy stands on its own: the cache and the first folder can go
    ResultCache(result_cache).prune(everything=True)
    assert main(["leaderboard", str(tmp_path / "b")]) == 0


@pytest.mark.parametrize(
    ("change", "misses"),
    [
        # weights: lin-b gets lin-a's file
        (("weights: linear1.safetensors", "weights: linear.safetensors"), {"lin-b"}),
        (("limit: 120", "limit: 100"), {"lin-a", "lin-b"}),  # data: another sample
        (("accuracy: {}", "accuracy: {ece_bins: 10}"), {"lin-a", "lin-b"}),  # suite config
        (("seed: 3", "seed: 4"), {"lin-a", "lin-b"}),
    ],
    ids=["weights", "data", "suite-config", "seed"],
)
def test_any_change_of_what_the_numbers_depend_on_misses(
    spec: Path, tmp_path: Path, result_cache: Path, change: tuple[str, str], misses: set[str]
) -> None:
    _run(spec, tmp_path / "a")
    edited = spec.with_name("edited.yaml")
    assert change[0] in TINY_SPEC
    edited.write_text(TINY_SPEC.replace(*change))
    got = _statuses(_run(edited, tmp_path / "b"))
    assert {m for m, s in got.items() if s == "completed"} == misses
    assert {m for m, s in got.items() if s == "cached"} == {"lin-a", "lin-b"} - misses


def test_another_harness_version_code_library_or_machine_misses(
    spec: Path, tmp_path: Path, result_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(spec, tmp_path / "a")
    with monkeypatch.context() as patch:
        patch.setattr(runner, "__version__", "0.1.0+other")
        assert set(_statuses(_run(spec, tmp_path / "b")).values()) == {"completed"}
    with monkeypatch.context() as patch:
        patch.setattr(runner, "code_digest", lambda: "edited checkout")
        assert set(_statuses(_run(spec, tmp_path / "c")).values()) == {"completed"}
    real_versions = runner.package_versions
    with monkeypatch.context() as patch:  # another torch: results of the old one are not served
        patch.setattr(runner, "package_versions", lambda: {**real_versions(), "torch": "9.9"})
        assert set(_statuses(_run(spec, tmp_path / "d")).values()) == {"completed"}
    real_device = runner.device_info
    with monkeypatch.context() as patch:  # another CPU model (a cache on a shared drive)
        patch.setattr(runner, "device_info", lambda d: {**real_device(d), "cpu": "Other CPU"})
        assert set(_statuses(_run(spec, tmp_path / "e")).values()) == {"completed"}
    with monkeypatch.context() as patch:  # one CPU name, other vector instructions (AVX512)
        patch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "OTHER_ISA")
        assert set(_statuses(_run(spec, tmp_path / "g")).values()) == {"completed"}
    assert set(_statuses(_run(spec, tmp_path / "f")).values()) == {"cached"}


LIBRARIES = ("scipy", "pillow", "transformers", "tokenizers", "onnxruntime")


def test_another_version_of_a_library_outside_the_manifest_misses(
    spec: Path, tmp_path: Path, result_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Libraries that move numbers but are not among the manifest's recorded versions: scipy
    (intervals, tests), Pillow (JPEG corruptions, image decoding), transformers and tokenizers
    (hub models' tokenization and preprocessing), ONNX Runtime. An upgrade of one used to be
    served the numbers of the old one from the shared cache. One stored run and one run per
    library (each another version of that library alone), then the first versions again: served
    from the cache (was a test per library, each with all three runs)."""
    from harness.run import environment

    _run(spec, tmp_path / "a")
    real = environment.library_versions
    for package in LIBRARIES:
        other = {**real(), package: "0.0.0-other"}
        monkeypatch.setattr(runner, "library_versions", lambda other=other: other)
        statuses = set(_statuses(_run(spec, tmp_path / f"b-{package}")).values())
        assert statuses == {"completed"}, (package, statuses)
    monkeypatch.setattr(runner, "library_versions", real)
    assert set(_statuses(_run(spec, tmp_path / "c")).values()) == {"cached"}


def test_jobs_computed_on_another_machine_are_not_stored_under_this_ones(
    spec: Path,
    tmp_path: Path,
    result_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The cache key holds the driver's machine (CPU or GPU model, CPU count), but on Ray a job's
    units run on other nodes: their results were stored under the driver's machine and served
    to a later local run here as if measured here (another node's timings). A unit that ran on
    another host (`UnitResult.host`; simulated here) keeps its job out of the cache."""
    from harness.run.executors import work

    with monkeypatch.context() as patch:
        patch.setattr(work, "this_host", lambda: "gpu-node-7", raising=False)
        with caplog.at_level(logging.INFO, logger="harness.run.runner"):
            assert set(_statuses(_run(spec, tmp_path / "a")).values()) == {"completed"}
    assert _entries(result_cache) == 0
    assert "not stored in the result cache: computed on gpu-node-7" in caplog.text
    assert set(_statuses(_run(spec, tmp_path / "b")).values()) == {"completed"}  # a miss
    assert _entries(result_cache) == 2  # computed here: stored


def test_no_cache_in_the_command_the_spec_or_the_environment(
    spec: Path, tmp_path: Path, result_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert set(_statuses(_run(spec, tmp_path / "a", "--no-cache")).values()) == {"completed"}
    assert _entries(result_cache) == 0  # not written
    _run(spec, tmp_path / "b")
    assert _entries(result_cache) == 2
    assert set(_statuses(_run(spec, tmp_path / "c", "--no-cache")).values()) == {"completed"}
    off = spec.with_name("off.yaml")
    off.write_text(TINY_SPEC + "execution: {cache: false}\n")
    assert set(_statuses(_run(off, tmp_path / "d")).values()) == {"completed"}
    monkeypatch.setenv("HARNESS_NO_CACHE", "1")
    assert set(_statuses(_run(spec, tmp_path / "e")).values()) == {"completed"}
    # results already in the --out folder are reused all the same (a resumed run)
    assert set(_statuses(_run(spec, tmp_path / "e", "--no-cache")).values()) == {"cached"}


def test_a_damaged_entry_is_rerun_with_a_log_line_and_rewritten(
    spec: Path, tmp_path: Path, result_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _run(spec, tmp_path / "a")
    cache = ResultCache(result_cache)
    (entry,) = [
        cache.entry_path(e.key)
        for e in cache.contents().entries
        if e.record is not None and e.record.model == "lin-a"
    ]
    table = entry / "samples.parquet"
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0xFF
    table.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        assert _statuses(_run(spec, tmp_path / "b")) == {"lin-a": "completed", "lin-b": "cached"}
    (line,) = [r.getMessage() for r in caplog.records if "result cache" in r.getMessage()]
    assert line.startswith(f"result cache: entry {entry} is damaged (results file {table} does")
    assert all(e.problem is None for e in cache.contents().entries) and _entries(result_cache) == 2
    assert _statuses(_run(spec, tmp_path / "c")) == {"lin-a": "cached", "lin-b": "cached"}


def test_a_cache_that_cannot_be_written_never_fails_a_run(
    spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("HARNESS_CACHE", str(blocked))
    monkeypatch.delenv("HARNESS_NO_CACHE")
    with caplog.at_level(logging.WARNING):
        assert set(_statuses(_run(spec, tmp_path / "a")).values()) == {"completed"}
    err = caplog.text
    assert err.count(f"result cache {blocked} cannot be written") == 1  # said once per run
    assert err.count(f"result cache {blocked} is unusable") == 1


_USER_NET = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))


def make():
    return Net()
"""


def test_an_edit_to_a_models_code_misses(
    tmp_path: Path, result_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A factory model whose `forward` changed and whose parameters did not kept its identity:
    the cache served the old code's numbers. The files defining the factory and the network's
    classes are in the identity (harness/core/model_code.py)."""
    module = f"user_net_{tmp_path.name.replace('-', '_')}"
    code = tmp_path / f"{module}.py"
    code.write_text(_USER_NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"models:\n  - {{name: net, adapter: torch, factory: '{module}:make'}}\n"
        "tasks: [digits]\nsuites: {accuracy: {}}\nlimit: 200\n"
    )

    def top1(out: Path) -> float:
        (job,) = [j for _, j in load_jobs(out)]
        return next(m.value for m in job.metrics if m.metric == "top1_acc")

    first = _run(spec, tmp_path / "a")
    assert _statuses(first) == {"net": "completed"}
    assert _statuses(_run(spec, tmp_path / "b")) == {"net": "cached"}
    code.write_text(_USER_NET.replace("return self.fc(", "return -self.fc("))
    # each run imports the spec folder's modules afresh, as a new process does (user_code)
    assert module not in sys.modules
    assert _statuses(_run(spec, tmp_path / "c")) == {"net": "completed"}
    assert top1(tmp_path / "c") != top1(tmp_path / "a")


def test_job_records_name_model_files_as_the_spec_does(tiny_spec: Path, tmp_path: Path) -> None:
    """A results folder is shared and published: its job records named each model file by the
    absolute path of the machine that wrote it (/home/<user>/...). They now name it relative to
    the spec's folder, a zoo file inside `<harness>/`; the sha256 beside it is its identity."""
    out = tmp_path / "res"
    assert main(["run", str(tiny_spec), "--out", str(out)]) == 0
    records = [json.loads(p.read_text()) for p in out.glob("runs/*/jobs/*/job.json")]
    assert {r["model_description"]["weights"] for r in records} == {
        "linear.safetensors",
        "linear1.safetensors",
    }
    assert all(str(tmp_path) not in p.read_text() for p in out.glob("runs/*/jobs/*/job.json"))
    zoo = harness.evaluate("digits-cnn", task="digits", suites=["accuracy"], limit=40, device="cpu")
    assert zoo.provenance is not None
    described = zoo.provenance.model_description
    assert described["weights"] == "<harness>/zoo/weights/digits-cnn.safetensors"
