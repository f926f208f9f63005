"""A harness run from a checkout it is not installed from (`python -m harness` in the checkout's
root): the processes a run starts must import that harness too. The working folder is the
CLI's user folder, so `libraries_first` took it off the path of every child, and the time-limit
workers' fork server was started without it (PYTHONSAFEPATH): `--job-timeout` ended in "the
job worker process did not start" when the harness was not installed, and a child imported
another installed harness when one was (an editable install of another checkout)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.core import user_code as user_code_module
from harness.core.user_code import harness_root, libraries_first
from harness.run.executors import isolated


def test_the_harnesss_own_folder_stays_on_a_childs_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = harness_root()
    assert (root / "harness" / "__init__.py").is_file()
    scope = user_code_module._Scope()
    scope.folders = [root, tmp_path.resolve()]  # the CLI's scope: the working folder, a spec's
    monkeypatch.setattr(user_code_module, "_scopes", [scope])
    monkeypatch.setattr(sys, "path", [str(tmp_path.resolve()), str(root), *sys.path])
    with libraries_first():
        assert str(root) in sys.path  # the child imports this harness
        assert sys.path[-1] == str(tmp_path.resolve())  # a user folder: behind the libraries
    assert sys.path[:2] == [str(tmp_path.resolve()), str(root)]


def test_the_fork_server_keeps_the_working_folder_when_the_harness_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHONSAFEPATH", raising=False)
    monkeypatch.chdir(harness_root())
    with isolated._server_off_the_working_folder():
        assert "PYTHONSAFEPATH" not in os.environ  # the server imports the harness from here
    monkeypatch.chdir(tmp_path)  # a user's project: its files stay off the server's path
    with isolated._server_off_the_working_folder():
        assert os.environ["PYTHONSAFEPATH"] == "1"
    assert "PYTHONSAFEPATH" not in os.environ


def test_a_worker_takes_its_path_in_the_drivers_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker forked from the fork server starts in the folder the server was started in (the
    first run's, for `harness.run_spec` called again after `os.chdir` in a notebook). A "" entry
    of the driver's path is its working folder: `take_path` must read that folder's files (a
    `foolbox.py` there is imported from the libraries first), so it runs after the chdir."""
    seen: list[str] = []

    def take_path(path: list[str]) -> None:
        seen.append(os.getcwd())
        raise EOFError  # the driver gone: the worker stops here

    driver_folder = tmp_path / "second-project"
    driver_folder.mkdir()
    monkeypatch.chdir(tmp_path)  # the server's folder
    monkeypatch.setattr(isolated, "take_path", take_path)
    setup = SimpleNamespace(sys_path=["", *sys.path], cwd=str(driver_folder))
    with pytest.raises(EOFError):
        isolated._serve_driver(None, setup)  # type: ignore[arg-type]
    assert seen == [str(driver_folder)]
