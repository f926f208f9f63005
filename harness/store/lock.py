"""An exclusive lock on a folder, so two harness processes never write one folder at once.

`fcntl.flock` on a lock file in the folder: the kernel drops the lock when its holder exits,
even on SIGKILL, so a crashed process never leaves a stale lock behind (the file stays; the lock
does not). The holder writes its pid, host and start time into the file so a process refused
(or kept waiting) can say who holds it. The lock file is opened with `O_NOFOLLOW`: a folder whose
lock file is a symbolic link is refused (the holder truncates the file), never written through,
and so is one that has other names (a hard link) or is not a plain file.

Two folders use it: a run folder (`runs/<run_id>/.lock`, harness/run/lock.py: a second run into
it is refused unless it asked to wait) and a report's site folder (`.report-lock`,
harness/present/site.py: a second report into it waits for the first to be published).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import socket
import stat
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from harness.core.errors import ResultsError
from harness.store.links import open_no_follow
from harness.store.liveness import alive
from harness.store.write_advice import write_advice

log = logging.getLogger(__name__)


class FolderLockedError(ResultsError):
    """Another live process holds the folder's lock."""


class FolderLock:
    """Context manager holding `folder/name` exclusively; `wait` blocks until it is free.
    `what` names the folder in messages ("run folder"); `advice` is what a refused process is
    told to do."""

    def __init__(
        self,
        folder: Path,
        *,
        name: str,
        what: str,
        advice: str,
        wait: bool = False,
        poll_s: float = 0.2,
        on_failure: Callable[[], object] | None = None,
    ) -> None:
        self.path = folder / name
        self.what = what
        self.advice = advice
        self.wait = wait
        self.poll_s = poll_s
        # run when the lock file cannot be created or written, before the lock (if taken) is
        # released: a run removing the folder it just created must do it before another run
        # waiting for the lock (--wait-lock) takes it and starts writing there
        self.on_failure = on_failure
        # whether taking the lock had to wait for another holder: what the waiter read before
        # may have changed meanwhile (a report re-reads its results then)
        self.waited = False
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        try:
            # never through a symbolic link: the holder truncates the file to write its pid
            fd = open_no_follow(self.path, os.O_RDWR | os.O_CREAT, 0o666)  # less the umask
        except OSError as err:
            if self.on_failure is not None:
                self.on_failure()
            raise ResultsError(
                f"cannot create lock file {self.path}: {err.strerror or err}"
            ) from None
        shared = _shared_file(fd, self.path)
        if shared is not None:  # refused before the lock is taken or anything written
            os.close(fd)
            if self.on_failure is not None:
                self.on_failure()
            raise ResultsError(shared)
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = describe_holder(self.path)
                if not self.wait:
                    os.close(fd)
                    raise FolderLockedError(
                        f"{self.what} {self.path.parent} is in use by {holder}; {self.advice}"
                    ) from None
                self.waited = True
                if not announced:
                    log.warning(
                        "waiting for the lock on %s %s held by %s",
                        self.what,
                        self.path.parent,
                        holder,
                    )
                    announced = True
                time.sleep(self.poll_s)
        self._fd = fd
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        except OSError as err:  # a full disk, a read-only remount: one line naming the folder
            if self.on_failure is not None:
                self.on_failure()
            self.__exit__(None, None, None)
            raise ResultsError(
                f"cannot write the lock file of {self.what} {self.path.parent}: "
                f"{err.strerror or err}; {write_advice(err)} (or choose another --out) and "
                "rerun — earlier results are untouched"
            ) from None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):  # a full disk must not hide the run's own error
                os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _shared_file(fd: int, path: Path) -> str | None:
    """Why the open lock file at `path` must not be written, or None: the holder truncates it
    and writes its pid there, so a file that is not a plain file, or that has other names (a
    hard link to a file outside the folder, which `O_NOFOLLOW` does not see), would be written
    through."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        return f"lock file {path} is not a plain file; remove it (a new one is made) and rerun"
    if st.st_nlink > 1:
        return (
            f"lock file {path} has {st.st_nlink - 1} other name(s) (hard links): the lock's "
            "holder writes into it, which would change the file under every name; remove it "
            "(a new one is made) and rerun"
        )
    return None


RUN_LOCK_NAME = ".lock"
"""The lock file of a run folder (`runs/<run_id>/.lock`; harness/run/lock.py holds it)."""


def _holder(path: Path) -> dict[str, object]:
    """The pid, host and start time the lock file's last holder wrote ({} if unreadable)."""
    try:
        fd = open_no_follow(path, os.O_RDONLY)
        try:
            text = os.read(fd, 4096)  # a pid, a host and a time: never a whole large file
        finally:
            os.close(fd)
        info = json.loads(text or b"{}")
    except (OSError, ValueError, ResultsError):
        return {}
    return info if isinstance(info, dict) and "pid" in info else {}


def describe_holder(path: Path) -> str:
    """'pid N on HOST since T' from the lock file, or a generic phrase if it cannot be read."""
    info = _holder(path)
    if not info:
        return "another harness process"
    return f"pid {info['pid']} on {info.get('host', '?')} since {info.get('started', '?')}"


def holder_gone(path: Path) -> str | None:
    """'pid N on HOST' when the lock file's last holder was a process of this host that no
    longer exists (a run killed with SIGKILL, or whose machine went down, leaves its manifest
    saying `running`); None when it may still run (another host, a live pid) or is unknown.
    Reads the file only: taking the lock, even for a moment, could refuse a run starting."""
    info = _holder(path)
    pid = info.get("pid")
    if (
        not isinstance(pid, int)
        or isinstance(pid, bool)
        or info.get("host") != socket.gethostname()
    ):
        return None
    return None if alive(pid) else f"pid {pid} on {info['host']}"
