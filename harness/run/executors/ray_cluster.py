"""Which Ray cluster a run uses, and refusing an unusable one in one line before Ray retries.

`--address` (or the spec's `execution.address`) names the cluster; without it Ray's own
`RAY_ADDRESS` variable is honoured; without either a new local cluster is started (never one that
a `ray start` on this machine left behind, which `ray.init()` would join silently). An address is
checked before `ray.init` is called: nothing listening, a port that does not speak Ray's GCS
protocol, or a cluster that rejects this machine's auth token is one `HarnessError` line within
seconds, where Ray would retry for 20 s to many minutes and end in a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

from harness.config.spec import ExecutionSpec, ray_address_problem
from harness.core.errors import HarnessError, MissingDependencyError


def import_ray() -> Any:
    """The `ray` module, or a MissingDependencyError with the install hint."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", "ray", "--executor ray (distributed runs)") from None
    return ray


RAY_ADDRESS = "RAY_ADDRESS"  # Ray's own variable: the cluster a driver on this machine joins


def cluster_address(execution: ExecutionSpec) -> tuple[str | None, str]:
    """(address to join, where it came from); (None, ...) starts a throwaway local cluster.

    `--address` (or the spec's `execution.address`) wins; else Ray's own `RAY_ADDRESS` variable
    is honoured (KubeRay sets it in head pods); else a new local cluster is started, even if a
    `ray start` on this machine left its address behind (Ray would join that one silently).
    """
    if execution.address is not None:
        return execution.address, f"--address {execution.address}"
    env = os.environ.get(RAY_ADDRESS, "").strip()
    if env:
        return env, f"{RAY_ADDRESS}={env}"
    return None, "a new local cluster"


def check_reachable(address: str, source: str | None = None, timeout_s: float = 5.0) -> None:
    """Refuse a `host:port` cluster address nobody answers on, before Ray retries for minutes.

    `auto` and `ray://` client addresses are left to Ray itself. `source` says where the
    address came from (default: `--address <address>`).
    """
    source = source or f"--address {address}"
    problem = ray_address_problem(address)  # RAY_ADDRESS too: Ray logs a traceback on `:6379`
    if problem:
        raise HarnessError(f"{source}: {problem}")
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or address.startswith("ray://"):
        return
    try:  # `[::1]:6379`: the socket takes the IPv6 host without its brackets
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as err:
        raise HarnessError(
            f"cannot reach a Ray cluster at {source} ({err.strerror or err}); start one with "
            "`ray start --head` there, or drop the address to start a local cluster"
        ) from None


GCS_CHECK_TIMEOUT_S = 15.0  # how long check_cluster waits for the cluster's GCS to answer


def check_cluster(ray: Any, address: str, source: str, timeout_s: float | None = None) -> None:
    """Refuse, in one line and within `timeout_s`, an address where no usable Ray cluster answers.

    Without this check `ray.init` retries for 20 s to many minutes (a port that is open but is
    not a Ray GCS: 20 attempts of 40 s), printing a C++ warning each time, and ends in a
    traceback; a cluster that rejects this machine's auth token fails the same way. One attempt
    with Ray's GCS client (an internal API; skipped when it is missing) runs in a thread, its C++
    log captured, and its answer decides: connected, token rejected, not a GCS, or no answer.
    """
    timeout_s = GCS_CHECK_TIMEOUT_S if timeout_s is None else timeout_s
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or address.startswith("ray://"):
        return
    try:
        from ray._raylet import GcsClient  # type: ignore[attr-defined]
    except ImportError:
        return
    outcome: dict[str, BaseException | None] = {}

    def attempt() -> None:
        try:
            GcsClient(address=address, cluster_id=None)
            outcome["error"] = None
        except Exception as err:  # whatever the client raises decides the message below
            outcome["error"] = err

    with stderr_captured():  # the C++ client logs each failed attempt to fd 2
        worker = threading.Thread(target=attempt, name="ray-gcs-check", daemon=True)
        worker.start()
        worker.join(timeout_s)
    if "error" not in outcome:
        raise HarnessError(
            f"no Ray cluster answered at {source} within {timeout_s:.0f} s: the "
            "port is open but nothing there speaks Ray's GCS protocol; check the address"
        )
    err = outcome["error"]
    if isinstance(err, ray.exceptions.AuthenticationError):
        raise HarnessError(
            f"the Ray cluster at {source} rejected this machine's "
            "authentication token; set RAY_AUTH_TOKEN (or ~/.ray/auth_token) to the cluster's "
            "token (https://docs.ray.io/en/latest/ray-security/token-auth.html)"
        )
    if err is not None:
        raise HarnessError(
            f"the address {address} (from {source}) is not a usable Ray cluster: {_first_line(err)}"
        )


@contextlib.contextmanager
def stderr_captured() -> Iterator[None]:
    """Send file descriptor 2 (where Ray's C++ code logs) to a temp file for a moment."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _first_line(err: BaseException) -> str:
    """The innermost cause's first line (Ray wraps its errors a few times, with tracebacks)."""
    inner: BaseException = err
    while inner.__cause__ is not None:
        inner = inner.__cause__
    text = str(inner).split("Traceback (most recent call last)")[0].strip()
    line = (text.splitlines() or [type(inner).__name__])[0].rstrip(" :")
    return f"{type(inner).__name__}: {line[:300]}"


def local_system_config() -> dict[str, Any]:
    """Ray settings for a local cluster the harness starts (a new dict: `ray.init` adds to it).

    Ray runs its workers at niceness 15 by default, so on a machine shared with other busy
    processes they get a few percent of a core: four tasks that import torch took 43 s instead of
    1.3 s next to two spinning processes (3.0 s at the driver's niceness). The run was asked for;
    its workers run at the priority of the command that started it."""
    return {"worker_niceness": 0}


class _DefaultTokenNotice(logging.Filter):
    """Drops Ray's notice that it enabled token authentication by default for a new local
    cluster (a WARNING above every run, about a default, not a problem); its other messages
    (authentication disabled, a token missing or invalid) pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Token authentication is enabled for this")


_TOKEN_SETUP_LOGGER = "ray._private.authentication.authentication_token_setup"


@contextlib.contextmanager
def _default_token_notice_dropped() -> Iterator[None]:
    notice = _DefaultTokenNotice()
    logger = logging.getLogger(_TOKEN_SETUP_LOGGER)
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)


def connect(ray: Any, execution: ExecutionSpec) -> str:
    """`ray.init` for this run's cluster (checked first); returns where it came from."""
    address, source = cluster_address(execution)
    if address is not None:
        check_reachable(address, source)
        check_cluster(ray, address, source)
    try:
        if address is None:  # "local": never the cluster a `ray start` left behind
            with _default_token_notice_dropped():
                ray.init(
                    address="local",
                    include_dashboard=False,
                    logging_level=logging.WARNING,
                    _system_config=local_system_config(),
                )
        else:
            ray.init(address=address, logging_level=logging.WARNING)
    except Exception as err:  # Ray's own errors (ConnectionError, RuntimeError...): one line
        raise HarnessError(f"cannot start Ray with {source}: {_first_line(err)}") from err
    return source
