"""A time-limit worker that dies between two jobs (the OOM killer, a kill) after the pool saw it
alive: sending it the next job meets a closed pipe. That BrokenPipeError went up to the runner,
which records a BrokenPipeError as its output's reader gone (`interrupted_by: SIGPIPE`, exit
141, nothing said): the worker's death is a job failure, and the run goes on with a new one."""

from __future__ import annotations

from harness.run.executors import isolated


class _ClosedPipe:
    def send(self, _obj: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    def close(self) -> None:
        pass


class _Killed:
    exitcode = -9

    def is_alive(self) -> bool:
        return False

    def join(self, timeout: float | None = None) -> None:
        pass

    def kill(self) -> None:
        pass


def test_a_worker_gone_before_its_next_job_is_a_dead_worker_not_a_closed_stdout() -> None:
    pool = object.__new__(isolated.WorkerPool)  # no fork server: the pipe and process are fakes
    pool._worker = isolated._Worker(process=_Killed(), conn=_ClosedPipe(), pid=1)  # type: ignore[arg-type]
    pool._launching = None
    pool.hung = {}
    kind, why = pool._exchange(("unit", None), None, deadline=None, progress=None)  # type: ignore[arg-type]
    assert kind == "died"
    assert why == "the worker process running the job died (killed by SIGKILL); the run went on"
    assert pool._worker is None  # the next job starts a new one
