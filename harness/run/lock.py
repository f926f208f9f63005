"""An exclusive lock per run folder, so two harness processes never write one run at once.

`fcntl.flock` on `runs/<run_id>/.lock`: the kernel drops the lock when its holder exits, even
on SIGKILL, so a crashed run never leaves a stale lock behind (the file stays; the lock does
not). The holder writes its pid, host and start time into the file so a refused second run can
say who holds it. A second run into the same run folder is refused at once (exit 2) unless it
asked to wait (`harness run --wait-lock`). Different runs in one results root write different run
folders and need no lock between them. The lock file is opened with `O_NOFOLLOW`: a results
folder whose `.lock` is a symbolic link is refused (the holder truncates the file), never
written through.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from harness.core.errors import ResultsError
from harness.store.links import open_no_follow

log = logging.getLogger(__name__)
LOCK_NAME = ".lock"


class RunLockedError(ResultsError):
    """Another live process holds the run folder's lock."""


class RunLock:
    """Context manager holding `run_dir/.lock` exclusively; `wait` blocks until it is free."""

    def __init__(
        self,
        run_dir: Path,
        *,
        wait: bool = False,
        poll_s: float = 0.2,
        on_failure: Callable[[], object] | None = None,
    ) -> None:
        self.path = run_dir / LOCK_NAME
        self.wait = wait
        self.poll_s = poll_s
        # run when the lock file cannot be created or written, before the lock (if taken) is
        # released: a run removing the folder it just created must do it before another run
        # waiting for the lock (--wait-lock) takes it and starts writing there
        self.on_failure = on_failure
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        try:
            # never through a symbolic link: the holder truncates the file to write its pid
            fd = open_no_follow(self.path, os.O_RDWR | os.O_CREAT, 0o666)  # less the umask
        except OSError as err:
            if self.on_failure is not None:
                self.on_failure()
            raise ResultsError(
                f"cannot create lock file {self.path}: {err.strerror or err}"
            ) from None
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = describe_holder(self.path)
                if not self.wait:
                    os.close(fd)
                    raise RunLockedError(
                        f"run folder {self.path.parent} is in use by {holder}; wait for that run "
                        "to finish, pass --wait-lock to queue behind it, or use another --out"
                    ) from None
                if not announced:
                    log.warning("waiting for the lock on %s held by %s", self.path.parent, holder)
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
                f"cannot write the lock file of run folder {self.path.parent}: "
                f"{err.strerror or err}; free space or make the folder writable (or choose "
                "another --out) and rerun — earlier results are untouched"
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


def describe_holder(path: Path) -> str:
    """'pid N on HOST since T' from the lock file, or a generic phrase if it cannot be read."""
    try:
        fd = open_no_follow(path, os.O_RDONLY)
        try:
            text = os.read(fd, 4096)  # a pid, a host and a time: never a whole large file
        finally:
            os.close(fd)
        info = json.loads(text or b"{}")
    except (OSError, ValueError, ResultsError):
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return "another harness process"
    return f"pid {info['pid']} on {info.get('host', '?')} since {info.get('started', '?')}"
