"""The forked children of the fault tests are bounded: a child that hangs (on a lock or a thread
pool that another thread of the pytest worker held at the fork) prints its stack and is killed,
and its test fails, instead of blocking `os.waitpid` and with it the whole test run."""

from __future__ import annotations

import os
import time

import pytest

from tests.reliability import conftest as helpers


def _stuck_here() -> None:
    time.sleep(120)  # a deadlock, as far as the parent can tell


def test_a_hung_forked_child_prints_its_stack_is_killed_and_its_test_fails(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(helpers, "CHILD_LIMIT_S", 1.0)
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            helpers.bound_child()
            _stuck_here()
        finally:
            os._exit(0)
    with pytest.raises(pytest.fail.Exception, match=f"child {pid} still ran after 1 s"):
        helpers.wait_exit(pid)
    assert time.monotonic() - started < 30
    err = capfd.readouterr().err
    assert "in _stuck_here" in err, err  # where it was stuck
    with pytest.raises(ChildProcessError):  # killed and reaped: no zombie left
        os.waitpid(pid, os.WNOHANG)


def test_a_child_that_ends_gives_its_exit_code() -> None:
    for code in (0, 3):
        pid = os.fork()
        if pid == 0:
            helpers.bound_child()
            os._exit(code)
        assert helpers.wait_exit(pid) == code


def _exit_with(code: int) -> int:
    return code


def _sleep_long() -> int:
    time.sleep(60)
    return 0


def test_children_of_the_fork_server_give_their_exit_code_or_signal() -> None:
    assert [helpers.wait_exit(helpers.start_child(_exit_with, c)) for c in (0, 2)] == [0, 2]
    pid = helpers.start_child(_sleep_long)
    os.kill(pid, 9)
    assert helpers.wait_exit(pid) == -9
