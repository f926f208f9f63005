"""Imported last by the time-limit workers' fork server (`isolated.worker_context`'s preload).

The server is started with SIGINT blocked (`harness.core.signals.ctrl_c_held_from_children`), so
that a Ctrl-C reaching the terminal's process group while it imports torch cannot kill it with
a traceback. Every process forked from the server inherits its signal mask, and multiprocessing
has one fork server per process: the children that other code in the same process (a user's,
a library's, the tests') starts through it would never see a Ctrl-C. Once the imports are done,
this module discards a Ctrl-C that arrived meanwhile and unblocks SIGINT with Python's default
handler. It acts only in a server the harness started (`FORK_SERVER_HELD_ENV` set in its environment),
and nothing imports it but that server's preload: imported anywhere else it changes nothing."""

from __future__ import annotations

import os
import signal

from harness.core.signals import FORK_SERVER_HELD_ENV, FORK_SERVER_SAFE_PATH_ENV


def release() -> None:
    """Discard a pending SIGINT and unblock it, with the default handler (KeyboardInterrupt)."""
    if not hasattr(signal, "pthread_sigmask"):
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a pending SIGINT is discarded
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.default_int_handler)


if os.environ.pop(FORK_SERVER_HELD_ENV, None) == "1":
    release()

if os.environ.pop(FORK_SERVER_SAFE_PATH_ENV, None) == "1":
    # set only to start the server (isolated._server_off_the_working_folder): the interpreters
    # a user's model code starts from a worker get the usual path
    os.environ.pop("PYTHONSAFEPATH", None)
