"""SIGTERM and SIGINT while `harness report` writes a site over a previous build: one line, exit
143 / 130, and the site folder is the previous build byte for byte (the new one is built in a
staging folder and published whole: harness/present/site_publish.py); a build that fails is the
same, and what a killed build left is removed by the next one.

The signal is sent once the report is provably inside a page built in a worker process: the
child's task pages wait while a `hold` file exists (no timing: a busy machine cannot let the
report finish first). Other parts of the build (comparison and model pages, figures) were
written meanwhile by the other worker; before the staging folder they landed in the live site,
a mix of two builds. SIGINT goes to the child's whole process group, as Ctrl-C in a terminal
does: the workers ignore it (no stray `Process ForkPoolWorker-N:` traceback).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import pytest

from harness.cli import list as list_module
from harness.cli.main import main
from harness.present import site as site_module
from harness.present import site_publish
from harness.present.site_publish import PREFIX
from harness.run.interrupts import SignalLatch
from harness.run.suite_boards import installed_suite_boards
from harness.store import lock as lock_module
from tests.conftest import TINY_SPEC
from tests.reliability.conftest import cli, start_child, wait_exit, wait_for


def _results(weights_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Two results folders whose reports differ on every page (other samples: other numbers)."""
    folders = []
    for name, limit in (("first", 120), ("second", 100)):
        spec = weights_dir / f"{name}.yaml"
        spec.write_text(TINY_SPEC.replace("limit: 120", f"limit: {limit}"))
        out = tmp_path / name
        assert main(["run", str(spec), "--out", str(out)]) == 0
        folders.append(out)
    return folders[0], folders[1]


def _files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _report_child(results: Path, site: Path, hold: Path, log: Path) -> int:
    """`harness report` in a session of its own (its workers in its process group), with its
    stdout and stderr (and its workers') in `log`, its task pages waiting on `hold`."""
    os.setsid()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    task_page = site_module._task_page

    def held(ctx: object, name: str) -> object:
        Path(f"{hold}.reached").touch()
        while hold.exists():
            time.sleep(0.01)
        return task_page(ctx, name)  # type: ignore[arg-type]

    site_module._task_page = held  # type: ignore[assignment]
    try:
        return main(["report", str(results), "--out", str(site)])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


@pytest.mark.slow  # signals a report in a fresh process (make test-slow; CI runs it)
@pytest.mark.parametrize(("sig", "code", "group"), [("SIGTERM", 143, False), ("SIGINT", 130, True)])
def test_a_signal_leaves_the_previous_site_whole_and_says_one_line(
    weights_dir: Path, tmp_path: Path, sig: str, code: int, group: bool
) -> None:
    first, second = _results(weights_dir, tmp_path)
    site = tmp_path / "site"
    assert main(["report", str(first), "--out", str(site)]) == 0
    before = _files(site)
    hold, log = tmp_path / "hold", tmp_path / "report.log"
    hold.touch()
    pid = start_child(_report_child, second, site, hold, log)
    try:
        wait_for(lambda: Path(f"{hold}.reached").exists())
        (os.killpg if group else os.kill)(pid, getattr(signal, sig))
        try:
            exit_code = wait_exit(pid)
        except pytest.fail.Exception as err:  # the child's stack dump went to its log
            tail = log.read_text(errors="replace")[-8000:] if log.exists() else "(no log)"
            pytest.fail(f"{err}\n--- the report child's log (its stack):\n{tail}")
        assert exit_code == code
    finally:
        hold.unlink(missing_ok=True)  # a worker left behind stops waiting
    lines = [ln for ln in log.read_text().splitlines() if ln.strip()]
    assert len(lines) == 1, lines  # no `Process ForkPoolWorker-N:` traceback
    assert lines[0].startswith(f"error: report interrupted by {sig}; {site} keeps its previous")
    assert _files(site) == before  # not one page or figure of the new build
    assert not list(site.glob(f"{PREFIX}*"))
    # the same command again writes the new build whole
    assert main(["report", str(second), "--out", str(site)]) == 0
    fresh = tmp_path / "fresh"
    assert main(["report", str(second), "--out", str(fresh)]) == 0
    summary = "summary.md"  # it names its folder
    assert {k: v for k, v in _files(site).items() if k != summary} == {
        k: v for k, v in _files(fresh).items() if k != summary
    }


def test_a_failed_build_keeps_the_site_and_a_killed_builds_leftover_goes(
    weights_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _results(weights_dir, tmp_path)
    site = tmp_path / "site"
    boards = installed_suite_boards()
    site_module.build_site(first, site, suite_boards=boards)
    before = _files(site)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(site_module, "_models_page", broken)  # after every worker's page
    with pytest.raises(OSError):
        site_module.build_site(second, site, suite_boards=boards)
    assert _files(site) == before and not list(site.glob(f"{PREFIX}*"))
    monkeypatch.undo()
    # a build killed outright (SIGKILL) left its staging folder: the next build removes it
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    leftover = site / f"{PREFIX}{int(gone.stdout)}"
    (leftover / "figures").mkdir(parents=True)
    (leftover / "index.html").write_text("half a build")
    site_module.build_site(second, site, suite_boards=boards)
    assert not leftover.exists() and _files(site) != before


@pytest.mark.slow  # waits on another report's lock (make test-slow; CI runs it)
def test_a_second_report_into_the_folder_waits_until_the_first_is_published(
    weights_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _results(weights_dir, tmp_path)
    site, hold, log = tmp_path / "site", tmp_path / "hold", tmp_path / "report.log"
    hold.touch()
    pid = start_child(_report_child, second, site, hold, log)  # held inside its build
    waiting: list[BaseException] = []

    def other_report() -> None:
        try:
            site_module.build_site(first, site, suite_boards=installed_suite_boards())
        except BaseException as err:  # surfaced by the assertion below
            waiting.append(err)

    said: list[str] = []  # what the waiting report logs (whatever logging other tests set up)
    monkeypatch.setattr(
        lock_module.log, "warning", lambda msg, *args: said.append(msg % args), raising=False
    )
    thread = threading.Thread(target=other_report)
    try:
        wait_for(lambda: Path(f"{hold}.reached").exists())
        thread.start()
        wait_for(lambda: any("waiting for the lock on report folder" in s for s in said))
        # before the first build is published the second has not started its own: without the
        # lock both staged at once and the one published last overwrote pages of the other
        assert len(list(site.glob(f"{PREFIX}*"))) == 1
        hold.unlink()
        assert wait_exit(pid) == 0
        thread.join(timeout=300)
    finally:
        hold.unlink(missing_ok=True)
    assert not thread.is_alive() and not waiting
    assert f"pid {pid} on " in said[0]  # the wait names who holds the folder
    fresh = tmp_path / "fresh"
    assert main(["report", str(first), "--out", str(fresh)]) == 0
    summary = "summary.md"  # it names its folder
    assert {k: v for k, v in _files(site).items() if k != summary} == {
        k: v for k, v in _files(fresh).items() if k != summary
    }


def _lose_its_exception(latch: SignalLatch, signum: int, frame: FrameType | None) -> None:
    """The handler as it acts when its exception lands in a finalizer or a C callback, which
    swallows it (harness.core.signals): the latch holds the signal, nothing is raised."""
    if latch.signum is None:
        latch.signum = signum


def test_a_signal_whose_exception_was_lost_does_not_publish_the_build(
    weights_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM in the last step before the renames, its exception lost: the report published
    the new build and exited 0. It now stops before publishing, and the command says so."""
    first, second = _results(weights_dir, tmp_path)
    site = tmp_path / "site"
    assert main(["report", str(first), "--out", str(site)]) == 0
    before = _files(site)
    monkeypatch.setattr(SignalLatch, "handler", _lose_its_exception)
    hold_old = site_publish._hold_old

    def signalled(dst: Path, held: Path) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        hold_old(dst, held)

    monkeypatch.setattr(site_publish, "_hold_old", signalled)
    code, _out, err = cli("report", second, "--out", site)
    assert code == 143
    assert err.startswith(f"error: report interrupted by SIGTERM; {site} keeps its previous")
    assert _files(site) == before and not list(site.glob(f"{PREFIX}*"))


def test_any_command_ends_as_interrupted_when_the_signals_exception_was_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A command that finished after a SIGTERM whose exception was lost exits 143, not 0."""
    monkeypatch.setattr(SignalLatch, "handler", _lose_its_exception)
    listing = list_module.list_command

    def signalled(args: object) -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        return listing(args)  # type: ignore[arg-type]

    monkeypatch.setattr(list_module, "list_command", signalled)
    code, _out, err = cli("list", "suites")
    assert (code, err) == (143, "error: interrupted by SIGTERM\n")
