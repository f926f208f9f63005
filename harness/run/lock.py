"""An exclusive lock per run folder, so two harness processes never write one run at once.

`runs/<run_id>/.lock`, held by the generic folder lock (harness/store/lock.py): a crashed run
never leaves a stale lock behind, and a lock file that is a symbolic link is refused. A second
run into the same run folder is refused at once (exit 2) unless it asked to wait
(`harness run --wait-lock`). Different runs in one results root write different run folders and
need no lock between them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.store.lock import RUN_LOCK_NAME as LOCK_NAME
from harness.store.lock import FolderLock, FolderLockedError

RunLockedError = FolderLockedError  # another live process holds the run folder's lock


class RunLock(FolderLock):
    """Context manager holding `run_dir/.lock` exclusively; `wait` blocks until it is free."""

    def __init__(
        self,
        run_dir: Path,
        *,
        wait: bool = False,
        poll_s: float = 0.2,
        on_failure: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(
            run_dir,
            name=LOCK_NAME,
            what="run folder",
            advice="wait for that run to finish, pass --wait-lock to queue behind it, or use "
            "another --out",
            wait=wait,
            poll_s=poll_s,
            on_failure=on_failure,
        )
