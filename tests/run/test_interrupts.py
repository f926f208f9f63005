"""A signal is never lost: even when its exception is raised inside a finalizer (where Python
swallows it), the run stops as interrupted with the signal's exit code."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.run.interrupts import Interrupted, SignalLatch


def test_latch_remembers_the_first_signal() -> None:
    latch = SignalLatch()
    latch.check()  # nothing caught: no-op
    with pytest.raises(Interrupted):
        latch.handler(signal.SIGTERM, None)
    with pytest.raises(Interrupted):
        latch.handler(signal.SIGINT, None)
    with pytest.raises(Interrupted) as raised:
        latch.check()
    assert raised.value.exit_code == 143  # the first one


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_signal_swallowed_by_a_finalizer_still_interrupts_the_run(
    write_spec: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(
        """
        name: finalizer
        device: cpu
        limit: 60
        bootstrap_resamples: 0
        tasks: [digits]
        models:
          - name: sig
            factory: tests.fixture_models:signal_in_finalizer_digits
            input_shape: [1, 8, 8]
          - name: lin
            factory: tests.fixture_models:linear_digits
            input_shape: [1, 8, 8]
        suites:
          accuracy: {}
        """
    )
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 143
    err = capsys.readouterr().err
    assert "error: run interrupted by SIGTERM" in err
    (run_dir,) = (out / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["interrupted_by"] == "SIGTERM"
    # stopped at once: the job in flight (whose model swallowed the signal) is absent, not the
    # next job's, and it reruns on resume
    assert manifest["jobs"] == []
    assert "Traceback" not in err and "Exception ignored" not in err  # one line, no traceback
