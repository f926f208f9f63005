"""Catalogue cases that are not one spec: full disks, deleted job folders, killed writers, run
folder collisions, hostile Markdown through every output, file permissions, bad Ray addresses.

Each scenario takes a `Scene` (a temp folder and pytest's monkeypatch), runs the harness CLI
in-process (or in a forked child where a kill is the point), checks what the scenario promises
beyond the one line (earlier results intact, nothing left over, nothing published whole that is
not) and returns the command's exit code and stderr for the catalogue's common checks.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.store import atomic
from harness.store.run_store import load_jobs, read_job
from tests.present.markdown_check import live_links
from tests.reliability.conftest import cli, error_lines, start_child, wait_exit

SPEC = """\
name: {name}
seed: 3
device: cpu
limit: 40
bootstrap_resamples: 20
tasks: [digits]
models:
  - {{name: a, factory: 'tests.fixture_models:linear_digits', input_shape: [1, 8, 8]}}
  - {{name: b, factory: 'tests.fixture_models:linear_digits', factory_args: {{seed: 1}}, input_shape: [1, 8, 8]}}
suites: {{accuracy: {{}}}}
"""


@dataclass
class Scene:
    root: Path
    monkeypatch: pytest.MonkeyPatch

    def spec(self, name: str = "scene", text: str | None = None) -> Path:
        path = self.root / f"{name}.yaml"
        path.write_text(text if text is not None else SPEC.format(name=name))
        return path


@dataclass(frozen=True)
class Outcome:
    code: int
    err: str


Scenario = Callable[[Scene], Outcome]


def _run(*args: str | Path) -> Outcome:
    code, _, err = cli(*args)
    return Outcome(code, err)


def _runs(out: Path) -> list[Path]:
    runs = out / "runs"
    return sorted(runs.iterdir()) if runs.is_dir() else []


def _report_parts_here(scene: Scene) -> None:
    """A report these scenarios build runs its parts in this process (tests/conftest.py's
    `report_parts_here`): they check what it writes, not its worker processes."""
    from harness.present import site_workers

    scene.monkeypatch.setattr(site_workers, "cores", lambda: 1)


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _leftovers(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob(".*") if p.name not in (".lock",))


# -- full disks ---------------------------------------------------------------------------------
@contextlib.contextmanager
def tiny_disk(scene: Scene, kb: int) -> Iterator[Path | None]:
    """A real `kb`-KB tmpfs when this process may mount one (root), else None."""
    mnt = scene.root / f"disk{kb}"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        yield None
        return
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={kb}k", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        yield None
        return
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(folder: Path) -> None:
    with contextlib.suppress(OSError), (folder / "filler").open("wb") as f:
        while True:
            f.write(b"\0" * 4096)
            f.flush()


def _simulate_full_disk(scene: Scene) -> None:
    """No tmpfs: every write that needs space fails as on a full disk (the lock, atomic files)."""

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    scene.monkeypatch.setattr("harness.run.lock.os.pwrite", full)
    scene.monkeypatch.setattr(atomic, "write_bytes", full)


def disk_full_at_start(scene: Scene) -> Outcome:
    """A full disk when a new run starts: one line naming the folder, no run folder left, and
    the results of an earlier run on the same disk intact."""
    with tiny_disk(scene, 256) as disk:
        out = (disk or scene.root) / "out"
        assert _run("run", scene.spec("earlier"), "--out", out).code == 0
        before = _snapshot(out)
        if disk is not None:
            _fill(disk)
        else:
            _simulate_full_disk(scene)
        got = _run("run", scene.spec("later"), "--out", out)
        assert [p.name for p in _runs(out)] == [p.name for p in _runs(out) if "earlier" in p.name]
        assert _snapshot(out) == before  # earlier results untouched, nothing new that looks whole
        assert len(load_jobs(out)) == 2
        return got


def disk_full_mid_run(scene: Scene) -> Outcome:
    """A disk that fills during a run, at many points: each failure is one line naming the file,
    no traceback, the manifest never says `completed` unless all jobs are stored, every job
    folder that exists reads back whole, and nothing is left over."""
    last = Outcome(0, "")
    spec = scene.spec("midrun")
    for kb in (8, 16, 24, 32, 48, 64):
        with tiny_disk(scene, kb) as disk:
            if disk is None:
                pytest.skip("needs a small tmpfs (root and mount); disk_full_at_start simulates")
            out = disk / "out"
            got = _run("run", spec, "--out", out)
            assert "Traceback" not in got.err, got.err
            lines = error_lines(got.err)
            assert all("No space left on device" in ln for ln in lines), lines
            assert (got.code == 0) == (not lines)
            for run in _runs(out):
                manifest = json.loads((run / "manifest.json").read_text())
                stored = [j for j in (run / "jobs").iterdir() if not j.name.startswith(".")]
                for job in stored:
                    read_job(job)
                assert manifest["status"] != "completed" or len(stored) == 2
            assert _leftovers(out) == [] if out.exists() else True
            if got.code != 0:
                last = got
    return last


# -- incomplete results ------------------------------------------------------------------------
def _finished_run(scene: Scene, name: str = "pub") -> tuple[Path, Path]:
    out = scene.root / "out"
    got = _run("run", scene.spec(name), "--out", out)
    assert got.code == 0, got.err
    return out, _runs(out)[0]


def deleted_job_folder(scene: Scene) -> Outcome:
    """A job folder deleted by hand: leaderboard, report, variants and groups refuse, naming
    the job; with --allow-partial they publish, marked PARTIAL."""
    _report_parts_here(scene)
    out, run = _finished_run(scene)
    shutil.rmtree(next((run / "jobs").glob("a--*")))
    lb = _run("leaderboard", out, "--format", "md")
    report = _run("report", out, "--out", scene.root / "site")
    assert report.code == 2 and "a × digits × accuracy" in report.err
    variants = _run("variants", out)
    assert variants.code == 2 and "a × digits × accuracy" in variants.err
    groups = _run("groups", out, "--by", "label")
    assert groups.code == 2 and "a × digits × accuracy" in groups.err, groups
    code, text, err = cli("groups", out, "--by", "label", "--allow-partial", "--width", "0")
    assert code == 0 and text.startswith("PARTIAL results") and "a × digits × accuracy" in text
    code, text, err = cli("groups", out, "--by", "label", "--format", "csv", "--allow-partial")
    assert code == 0 and text.startswith("model,") and "PARTIAL results" in err
    code, text, _ = cli("variants", out, "--format", "json", "--allow-partial")
    assert code == 0, text
    assert not (scene.root / "site" / "index.html").exists()
    code, text, _ = cli("leaderboard", out, "--format", "md", "--allow-partial")
    assert code == 0 and "PARTIAL" in text and "a × digits × accuracy" in text
    code, _, _ = cli("report", out, "--out", scene.root / "site", "--allow-partial")
    summary = (scene.root / "site" / "summary.md").read_text()
    assert code == 0 and "PARTIAL" in summary
    assert "PARTIAL" in (scene.root / "site" / "index.html").read_text()
    return lb


def running_manifest(scene: Scene) -> Outcome:
    """A run killed mid-way (its manifest still says `running`): refused, naming the jobs it
    never finished, until it is resumed."""
    out, run = _finished_run(scene)
    from harness.core.manifest import RunManifest, RunStatus
    from harness.store.record_file import read_record
    from harness.store.run_store import RunStore

    manifest = read_record(run / "manifest.json", RunManifest)
    RunStore(run).write_manifest(manifest.replace(status=RunStatus.RUNNING, jobs=manifest.jobs[:1]))
    shutil.rmtree(next((run / "jobs").glob("b--*")))  # killed before job b was written
    got = _run("leaderboard", out)
    assert f"run(s) not finished: {run.name} (status running)" in got.err
    assert _run("report", out, "--out", scene.root / "site").code == 2
    groups = _run("groups", out, "--by", "label")
    assert f"run(s) not finished: {run.name} (status running)" in groups.err
    assert _run("run", scene.spec("pub"), "--out", out).code == 0  # resume
    assert _run("leaderboard", out).code == 0
    return got


def killed_run(scene: Scene) -> Outcome:
    """A run whose process was killed (SIGKILL: its manifest still says `running`, its lock file
    names a pid of this host that no longer exists): the refusal says the process is gone, not
    that the run is running; resuming it finishes it."""
    import json
    import socket
    import subprocess
    import sys

    out, run = _finished_run(scene)
    from harness.core.manifest import RunManifest, RunStatus
    from harness.store.record_file import read_record
    from harness.store.run_store import RunStore

    manifest = read_record(run / "manifest.json", RunManifest)
    RunStore(run).write_manifest(manifest.replace(status=RunStatus.RUNNING, jobs=manifest.jobs[:1]))
    shutil.rmtree(next((run / "jobs").glob("b--*")))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid of this host that no process has now
    holder = {"pid": dead.pid, "host": socket.gethostname(), "started": "2026-01-01T00:00:00"}
    (run / ".lock").write_text(json.dumps(holder))
    got = _run("leaderboard", out)
    assert (
        f"run(s) not finished: {run.name} (status running, but its process pid {dead.pid} on "
        f"{socket.gethostname()} is gone (killed or crashed))" in got.err
    ), got.err
    assert "b × digits × accuracy (not run: the run's process is gone)" in got.err, got.err
    assert _run("run", scene.spec("pub"), "--out", out).code == 0  # resume
    assert _run("leaderboard", out).code == 0
    return got


def failed_job_run(scene: Scene) -> Outcome:
    """A finished run with a failed job is published with the failure said, never hidden: the
    leaderboard notes it under the board (no [PARTIAL]: the run recorded how the job ended), the
    report lists it with its one-line reason. A run stopped at the first failure is refused."""
    _report_parts_here(scene)
    text = SPEC.format(name="halffail").replace(
        "factory_args: {seed: 1}", "factory_args: {seed: 1, classes: 7}"
    )
    out = scene.root / "out"
    assert _run("run", scene.spec("halffail", text), "--out", out).code == 1
    code, board, err = cli("leaderboard", out)
    assert code == 0, err
    assert "1 job(s) failed and are not on this board: b × digits × accuracy" in board, board
    assert "PARTIAL" not in board
    assert cli("report", out, "--out", scene.root / "site")[0] == 0
    index = (scene.root / "site" / "index.html").read_text()
    assert "model &#39;b&#39; outputs 7 classes" in index
    first_fails = SPEC.format(name="stopped").replace(
        "{name: a, factory: 'tests.fixture_models:linear_digits', ",
        "{name: a, factory: 'tests.fixture_models:linear_digits', factory_args: {classes: 7}, ",
    )
    stopped = scene.root / "stopped"
    stopped_run = _run("run", scene.spec("stopped", first_fails), "--out", stopped, "--fail-fast")
    assert stopped_run.code == 1
    return _run("leaderboard", stopped)


# -- run folders -------------------------------------------------------------------------------
def long_name_collision(scene: Scene) -> Outcome:
    """Two valid 125-character names that differ only at the end: two run folders, each with
    its own manifest (the spec hash is never cut off)."""
    out = scene.root / "out"
    stem = "n" * 120
    for tail in ("aaaaa", "bbbbb"):
        assert _run("run", scene.spec(stem + tail), "--out", out).code == 0
    runs = _runs(out)
    assert len(runs) == 2
    ids = {json.loads((r / "manifest.json").read_text())["run_id"] for r in runs}
    assert len(ids) == 2 and all(len(load_jobs(r)) == 2 for r in runs)
    return Outcome(0, "")


def foreign_run_folder(scene: Scene) -> Outcome:
    """A run folder that holds another run's manifest (copied, renamed) is refused, untouched."""
    out, run = _finished_run(scene, "first")
    second = scene.spec("second")
    from harness.cli.plans import load_plan
    from harness.run.runner import run_id_for

    class _Args:
        pass

    target = out / "runs" / run_id_for(load_plan(_Args(), second))  # type: ignore[arg-type]
    shutil.copytree(run, target)
    before = _snapshot(target)
    got = _run("run", second, "--out", out)
    assert _snapshot(target) == before
    return got


# -- killed writers ----------------------------------------------------------------------------
def _fork_killed(spec: Path, out: Path, kill_when: Callable[[str, str], bool]) -> int:
    """`harness run` in a child (tests/reliability/conftest.py: `start_child`) that SIGKILLs
    itself on the os.replace `kill_when` picks; its exit code."""
    return wait_exit(start_child(_killed_run, spec, out, kill_when))


def _killed_run(spec: Path, out: Path, kill_when: Callable[[str, str], bool]) -> int:
    real = os.replace

    def replace(src: object, dst: object) -> None:
        if kill_when(str(src), str(dst)):
            os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)  # type: ignore[arg-type]

    os.replace = replace  # type: ignore[assignment]
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        main(["run", str(spec), "--out", str(out)])
    return 0


class _SecondManifestWrite:
    """True at the second rename onto the same manifest.json (state kept in the child)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, src: str, dst: str) -> bool:
        self.seen.append(dst)
        return dst.endswith("manifest.json") and self.seen.count(dst) == 2


def _second_rename(src: str, dst: str) -> bool:
    """True at the rename of a temp folder next to a `.stale-` one (the second of two)."""
    return Path(src).name.startswith(".tmp-") and any(
        p.name.startswith(".stale-") for p in Path(dst).parent.iterdir()
    )


def killed_during_manifest_write(scene: Scene) -> Outcome:
    """SIGKILL between writing manifest.json's temp file and renaming it: the next run removes
    the temp file and finishes the run."""
    spec, out = scene.spec("mkill"), scene.root / "out"
    assert _fork_killed(spec, out, _SecondManifestWrite()) == -signal.SIGKILL
    assert any(".manifest.json." in p for p in _leftovers(out))
    got = _run("run", spec, "--out", out)
    assert _leftovers(out) == []
    return got


def killed_between_renames(scene: Scene) -> Outcome:
    """SIGKILL between the two renames that replace a damaged job folder: the next run removes
    `.stale-<job>-<pid>/` and the temp folder, and redoes the job with the same results."""
    spec, out = scene.spec("rkill"), scene.root / "out"
    assert _run("run", spec, "--out", out).code == 0
    run = _runs(out)[0]
    clean = {j.record.model: j.table().frame for _, j in load_jobs(out)}
    damaged = next((run / "jobs").glob("a--*"))
    (damaged / "metrics.json").write_text("[]")  # checksum mismatch: the job reruns

    assert _fork_killed(spec, out, _second_rename) == -signal.SIGKILL
    assert any(".stale-" in p for p in _leftovers(out))
    got = _run("run", spec, "--out", out)
    assert _leftovers(out) == []
    again = {j.record.model: j.table().frame for _, j in load_jobs(out)}
    assert all(again[m].equals(clean[m]) for m in clean)
    return got


# -- published text ----------------------------------------------------------------------------
GROUP_COLUMN = "[click](https://evil.example/)"
GROUP_VALUES = ("![x](https://evil.example/t.png)", "<img src=x onerror=alert(1)>")


_OWN_PAGE = re.compile(r"^a:[A-Za-z0-9._-]+\.html(#[A-Za-z0-9._-]+)?$")  # summary.md -> report


def markdown_injection(scene: Scene) -> Outcome:
    """A group column named like a link and group values like an image: no live link or image
    in summary.md, `leaderboard --format md`, `groups --format md` or `check --format md`."""
    _report_parts_here(scene)
    features = [f"f{i}" for i in range(10)]
    rows = [",".join([*features, "y", f'"{GROUP_COLUMN}"'])]
    for i in range(80):
        cells = [f"{(i * 7 + j) % 10 / 10:.1f}" for j in range(10)]
        rows.append(",".join([*cells, str(i % 2), f'"{GROUP_VALUES[(i // 2) % 2]}"']))
    (scene.root / "d.csv").write_text("\n".join(rows) + "\n")
    spec = scene.spec(
        "md",
        "name: md\ndevice: cpu\nbootstrap_resamples: 20\n"
        "tasks: [{name: t, source: d.csv, feature_columns: [" + ", ".join(features) + "], "
        f"label_column: y, num_classes: 2, modality: tabular, bounds: [0, 1], "
        f"group_columns: ['{GROUP_COLUMN}']}}]\n"
        "models: [{name: tm, factory: 'tests.fixture_models:linear_tabular', input_shape: [10]}]\n"
        f"suites: {{accuracy: {{}}, fairness: {{group_by: ['{GROUP_COLUMN}'], min_group_size: 5}}}}\n",
    )
    out = scene.root / "out"
    assert _run("run", spec, "--out", out).code == 0
    run = _runs(out)[0]
    texts = {
        "leaderboard": cli("leaderboard", out, "--format", "md", "--all-metrics")[1],
        "groups": cli("groups", out, "--format", "md", "--resamples", "20")[1],
        "check": cli("check", "--baseline", run, "--current", run, "--format", "md")[1],
    }
    assert cli("report", out, "--out", scene.root / "site")[0] == 0
    texts["summary.md"] = (scene.root / "site" / "summary.md").read_text()
    for what, text in texts.items():
        assert "evil.example" in text, what  # the hostile text is there, shown as text...
        hostile = [link for link in live_links(text) if not _OWN_PAGE.match(link)]
        assert hostile == [], (what, hostile)  # ...never as a link or image
    return Outcome(0, "")


# -- permissions -------------------------------------------------------------------------------
def same_permissions(scene: Scene) -> Outcome:
    """manifest.json, spec.yaml and job files get the same mode (the umask's), whatever it is."""
    for umask in (0o022, 0o077, 0o002):
        old = os.umask(umask)
        try:
            out = scene.root / f"out{umask:o}"
            assert _run("run", scene.spec(f"perm{umask:o}"), "--out", out).code == 0
        finally:
            os.umask(old)
        run = _runs(out)[0]
        files = [run / "manifest.json", run / "spec.yaml", *(run / "jobs").rglob("*.*")]
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files if p.is_file()}
        assert set(modes.values()) == {0o666 & ~umask}, modes
    return Outcome(0, "")


# -- Ray ---------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ray_address_unreachable(scene: Scene) -> Outcome:
    """RAY_ADDRESS set, no --address: the harness uses it (as docs/ray.md says) and refuses an
    address nobody answers on in one line, leaving no run folder."""
    pytest.importorskip("ray")
    scene.monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_free_port()}")
    out = scene.root / "out"
    got = _run("run", scene.spec("ray1"), "--out", out, "--executor", "ray")
    assert "RAY_ADDRESS=" in got.err and _runs(out) == []
    return got


def ray_address_not_a_cluster(scene: Scene) -> Outcome:
    """An address where something accepts connections but never speaks Ray's protocol: one line
    within the check's timeout (Ray itself retries 20 times 40 s)."""
    pytest.importorskip("ray")
    from harness.run.executors import ray_cluster

    scene.monkeypatch.setattr(ray_cluster, "GCS_CHECK_TIMEOUT_S", 2.0)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:  # take connections and say nothing, until the server closes
        with contextlib.suppress(OSError):
            while True:
                accepted.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        port = server.getsockname()[1]
        got = _run(
            "run", scene.spec("ray2"), "--out", scene.root / "out", "--executor", "ray",
            "--address", f"127.0.0.1:{port}",
        )  # fmt: skip
    finally:
        server.close()
    assert _runs(scene.root / "out") == []
    return got


def job_lists_outside_file(scene: Scene) -> Outcome:
    """A results folder from elsewhere whose job.json (re-sealed: the checksum is not a secret)
    lists `../../manifest.json`: refused as damaged, nothing outside the job folder is read."""
    from harness.core.manifest import JobRecord
    from harness.store.record_file import read_record, record_text

    out, run = _finished_run(scene, "trav")
    job = next((run / "jobs").glob("a--*"))
    record = read_record(job / "job.json", JobRecord)
    files = {**record.files, "../../manifest.json": "0" * 64}
    (job / "job.json").write_text(record_text(record.replace(files=files)))
    return _run("leaderboard", out)


SCENARIOS: dict[str, Scenario] = {
    f.__name__.replace("_", "-"): f
    for f in (
        disk_full_at_start,
        disk_full_mid_run,
        deleted_job_folder,
        running_manifest,
        killed_run,
        failed_job_run,
        long_name_collision,
        foreign_run_folder,
        killed_during_manifest_write,
        killed_between_renames,
        markdown_injection,
        same_permissions,
        ray_address_unreachable,
        ray_address_not_a_cluster,
        job_lists_outside_file,
    )
}


# -- Ray clusters that fail under the run (slow: a real cluster each) ---------------------------
# -- task data damaged after planning, plugin tasks with bad cell columns -------------------------
def npy_damaged_after_planning(scene: Scene) -> Outcome:
    """A CIFAR-10-C file that passed the planning check (headers) and is cut before its job
    loads it: that job fails with one line naming the file; earlier results stay as they were."""
    from harness.run import runner
    from tests.reliability.damaged_data import cifar_c_good

    cifar_c_good(scene.root, "c10c")
    out = scene.root / "out"
    _, prior = _finished_run(scene, "before")
    before = _snapshot(prior)
    load = runner.load_task

    def cut_then_load(plan: object, name: str) -> object:
        with (scene.root / "c10c" / "fog.npy").open("r+b") as f:
            f.truncate(300)
        return load(plan, name)  # type: ignore[arg-type]

    scene.monkeypatch.setattr(runner, "load_task", cut_then_load)
    spec = scene.spec(
        "c10c",
        "name: c10c\ndevice: cpu\nbootstrap_resamples: 20\n"
        "tasks: [{name: c, source: c10c, modality: image, input_shape: [1, 8, 8], "
        f"class_names: {[str(i) for i in range(10)]}}}]\n"
        "models: [{name: m, factory: 'tests.fixture_models:linear_digits', "
        "input_shape: [1, 8, 8]}]\nsuites: {accuracy: {}}\n",
    )
    got = _run("run", spec, "--out", out)
    assert _snapshot(prior) == before
    assert _leftovers(out) == [], _leftovers(out)
    return got


def _plugin_task_run(scene: Scene, factory: str) -> Outcome:
    from harness.data import catalogue

    scene.monkeypatch.setitem(catalogue.BUILTIN_TASKS, "hostile-cells", factory)
    spec = scene.spec(
        "cells",
        "name: cells\ndevice: cpu\nbootstrap_resamples: 20\ntasks: [hostile-cells, digits]\n"
        "models: [{name: m, factory: 'tests.fixture_models:linear_digits', "
        "input_shape: [1, 8, 8]}]\nsuites: {accuracy: {}}\n",
    )
    out = scene.root / "out"
    got = _run("run", spec, "--out", out, "--limit", "20")
    (run,) = _runs(out)
    manifest = json.loads((run / "manifest.json").read_text())
    status = {j["task"]: j["status"] for j in manifest["jobs"]}
    assert manifest["status"] == "failed" and status == {
        "hostile-cells": "failed",
        "digits": "completed",
    }
    return got


def cell_column_not_in_data(scene: Scene) -> Outcome:
    """A plugin task whose cell column is not in its data: its jobs fail with one line naming
    the column; the other task's jobs complete."""
    return _plugin_task_run(scene, "tests.reliability.hostile_tasks:cell_column_not_in_data")


def cell_column_with_empty_rows(scene: Scene) -> Outcome:
    """A plugin task with rows in no cell, sampled with --limit: one line naming a sample."""
    return _plugin_task_run(scene, "tests.reliability.hostile_tasks:cell_column_with_empty_rows")


# -- hf: models, through an offline fake hub cache ----------------------------------------------
HUB_COMMIT = "0123456789abcdef0123456789abcdef01234567"
VIT_CONFIG = {"architectures": ["ViTForImageClassification"], "model_type": "vit"}


def _fake_hub(scene: Scene, config: str | None) -> None:
    """An offline hub cache holding `org/m` at HUB_COMMIT (main) with this config.json text."""
    import huggingface_hub.constants as constants

    cache = scene.root / "hub"
    folder = cache / "models--org--m"
    (folder / "snapshots" / HUB_COMMIT).mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(HUB_COMMIT)
    if config is not None:
        (folder / "snapshots" / HUB_COMMIT / "config.json").write_text(config)
    scene.monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    scene.monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    scene.monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    scene.monkeypatch.setenv("HF_HUB_CACHE", str(cache))


def _hub_run(scene: Scene, ref: str, config: str | None) -> Outcome:
    _fake_hub(scene, config)
    out = scene.root / "out"
    got = _run(
        "run", scene.spec("hub", MINIMAL_HUB), "--out", out, "--models", ref, "--limit", "20"
    )
    if got.code == 2:
        assert _runs(out) == [], "a model refused while planning leaves no run folder"
    return got


MINIMAL_HUB = (
    "name: hub\ndevice: cpu\nbootstrap_resamples: 20\ntasks: [digits]\nmodels: [digits-mlp]\n"
)
MINIMAL_HUB += "suites: {accuracy: {}}\n"


def hf_not_cached_offline(scene: Scene) -> Outcome:
    return _hub_run(scene, "hf:org/absent", json.dumps(VIT_CONFIG))


def hf_revision_not_cached(scene: Scene) -> Outcome:
    return _hub_run(scene, "hf:org/m@v2", json.dumps(VIT_CONFIG))


def hf_config_not_json(scene: Scene) -> Outcome:
    return _hub_run(scene, "hf:org/m", '{"architectures": ["ViTForImageClass')


def hf_config_a_list(scene: Scene) -> Outcome:
    return _hub_run(scene, "hf:org/m", "[1, 2, 3]")


def hf_config_not_a_classifier(scene: Scene) -> Outcome:
    return _hub_run(scene, "hf:org/m", json.dumps({"architectures": ["GPT2LMHeadModel"]}))


def hf_weights_missing(scene: Scene) -> Outcome:
    """config.json cached, no weights: the job fails with one line, the manifest finishes."""
    got = _hub_run(scene, "hf:org/m", json.dumps({**VIT_CONFIG, "num_labels": 10}))
    (run,) = _runs(scene.root / "out")
    assert json.loads((run / "manifest.json").read_text())["status"] == "failed"
    return got


def hf_cached_labels_mismatch(scene: Scene) -> Outcome:
    """A cached hub model with one label against digits' ten classes: refused while planning,
    from its cached config.json (every job would fail on it), leaving no run folder."""
    return _hub_run(scene, "hf:org/m", json.dumps({**VIT_CONFIG, "id2label": {"0": "a"}}))


def catalogue_download_not_set(scene: Scene) -> Outcome:
    """A catalogue task read from files the user downloads (`imagenet-c`), its variable pointing
    nowhere: `harness validate` refuses it with the run's line, as the job would fail."""
    scene.monkeypatch.setenv("HARNESS_IMAGENET_C", str(scene.root / "not-downloaded"))
    spec = scene.spec("download", MINIMAL_SHIFT.replace("TASK", "imagenet-c"))
    return _run("validate", spec)


MINIMAL_SHIFT = "tasks: [TASK]\nmodels: [digits-mlp]\nsuites: {shift: {}}\n"


SCENARIOS.update(
    {
        f.__name__.replace("_", "-"): f
        for f in (
            npy_damaged_after_planning,
            catalogue_download_not_set,
            cell_column_not_in_data,
            cell_column_with_empty_rows,
            hf_not_cached_offline,
            hf_revision_not_cached,
            hf_config_not_json,
            hf_config_a_list,
            hf_config_not_a_classifier,
            hf_weights_missing,
            hf_cached_labels_mismatch,
        )
    }
)


def _harness_child(*args: str | Path, env: dict[str, str]) -> subprocess.Popen[str]:
    from tests.reliability.conftest import REPO, harness_cmd

    full = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", **env)
    return subprocess.Popen(
        harness_cmd(*args), cwd=REPO, env=full, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat_file.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


@contextlib.contextmanager
def token_cluster(token: str) -> Iterator[str]:
    """A one-node Ray cluster with token authentication, in its own temp dir (so no other
    driver on this machine joins it); stopped by killing exactly its own processes."""
    import tempfile

    ray_bin = Path(sys.executable).parent / "ray"  # the venv's, next to this interpreter
    temp = tempfile.mkdtemp(prefix="rh", dir="/tmp")  # short: Ray's socket paths are long
    port = _free_port()
    env = dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token, OMP_NUM_THREADS="1")
    started = subprocess.run(
        [str(ray_bin), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
         "--num-cpus=1", "--include-dashboard=false", "--disable-usage-stats",
         f"--temp-dir={temp}"],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    try:
        if started.returncode != 0:
            pytest.skip(f"cannot start a Ray head here: {started.stderr[-300:]}")
        yield f"127.0.0.1:{port}"
    finally:
        own = [int(p.parent.name) for p in Path("/proc").glob("[0-9]*/cmdline")
               if temp in _cmdline(int(p.parent.name))]  # fmt: skip
        for pid in {*own, *(d for p in own for d in _descendants(p))}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def ray_auth_token_rejected(scene: Scene) -> Outcome:
    """A reachable cluster that rejects this machine's token: one line at once (Ray would retry
    for 20 s, printing a C++ warning a second, and end in a traceback)."""
    pytest.importorskip("ray")
    with token_cluster("a" * 64) as address:
        child = _harness_child(
            "run", scene.spec("auth"), "--out", scene.root / "out", "--executor", "ray",
            "--address", address, env={"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "b" * 64},
        )  # fmt: skip
        _, err = child.communicate(timeout=300)
    assert "gcs_client.cc" not in err, err  # Ray's retry warnings stay out of the terminal
    return Outcome(child.returncode, err)


SLOW_SPEC = """\
name: agentkill
device: cpu
limit: 60
batch_size: 10
bootstrap_resamples: 10
tasks: [digits]
models:
  - {name: slow, factory: 'tests.fixture_models:slow_linear_digits', factory_args: {delay: 1.0}, input_shape: [1, 8, 8]}
suites: {accuracy: {}}
"""


def ray_agent_killed(scene: Scene) -> Outcome:
    """SIGKILL of the run's Ray runtime-env agent mid-run: Ray's C++ core ends its driver, the
    harness (whose Ray driver is a child process) fails the unit in flight with one line and
    finishes the manifest."""
    pytest.importorskip("ray")
    out = scene.root / "out"
    child = _harness_child(
        "run", scene.spec("agentkill", SLOW_SPEC), "--out", out, "--executor", "ray",
        env={"RAY_AUTH_MODE": "disabled", "RAY_ADDRESS": ""},
    )  # fmt: skip
    import time

    deadline = time.monotonic() + 240
    agent = None
    while agent is None and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.5)
        agents = [p for p in _descendants(child.pid) if "RuntimeEnvAgent" in _cmdline(p)]
        workers = [p for p in _descendants(child.pid) if "slow" in _cmdline(p)]
        agent = agents[0] if agents and workers else None
    assert agent is not None, "the run's Ray cluster never ran the unit"
    os.kill(agent, signal.SIGKILL)
    _, err = child.communicate(timeout=300)
    manifest = json.loads(next(out.glob("runs/*/manifest.json")).read_text())
    assert manifest["status"] == "failed" and len(manifest["jobs"]) == 1
    return Outcome(child.returncode, err)


SCENARIOS["ray-auth-token-rejected"] = ray_auth_token_rejected
SCENARIOS["ray-agent-killed"] = ray_agent_killed
