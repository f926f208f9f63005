"""A report that waits for another report's lock on its site folder publishes the results as
they are once it holds the lock, not as they were when it started waiting (harness/present/site.py,
`site_lock`)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from harness.present.api_report import report
from harness.present.site_folder import site_folder
from harness.present.site_publish import site_lock
from harness.run.suite_boards import installed_suite_boards
from tests.present.synthetic import write_synthetic_run


class _Announced(logging.Handler):
    """Sets `event` when a lock holder's waiter says it is waiting."""

    def __init__(self, event: threading.Event) -> None:
        super().__init__()
        self.event = event

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("waiting for the lock"):
            self.event.set()


@pytest.mark.slow  # waits on another report's lock (make test-slow; CI runs it)
def test_a_report_that_waited_publishes_the_results_written_while_it_waited(
    tmp_path: Path,
) -> None:
    results, out = tmp_path / "results", tmp_path / "site"
    write_synthetic_run(results, run_id="first", models={"early-model": 0.9})
    waiting = threading.Event()
    handler = _Announced(waiting)
    lock_log = logging.getLogger("harness.store.lock")
    lock_log.addHandler(handler)
    failures: list[BaseException] = []

    def second_report() -> None:
        try:
            report(results, out, suite_boards=installed_suite_boards())
        except BaseException as err:  # re-raised by the test below
            failures.append(err)

    worker = threading.Thread(target=second_report)
    try:
        with site_lock(site_folder(out)):  # another report holds the site folder
            worker.start()
            assert waiting.wait(timeout=120), "the report never waited for the lock"
            # while it waits, a run adds a model to the results
            write_synthetic_run(results, run_id="second", models={"late-model": 0.8})
        worker.join()
    finally:
        lock_log.removeHandler(handler)
    assert not failures, failures
    index = (out / "index.html").read_text()
    assert "early-model" in index
    assert "late-model" in index  # read after the wait: the results as they are now
