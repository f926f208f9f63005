"""Progress of `harness.evaluate`: one tqdm bar per suite, fed by the suite's progress calls.

`harness run` shows each job's progress on its own line (harness/run/progress.py and the CLI);
a call of `harness.evaluate` from a notebook or a script showed nothing, and an adversarial
suite on a slow model runs for many minutes. Each suite now gets a bar: samples done (a sample
counted once per condition, as the suite reports them), the suite's stage (the attack and
budget, the corruption and severity) and tqdm's rate and ETA. `tqdm.auto` draws a notebook
widget in Jupyter (text where ipywidgets is missing) and text elsewhere. Shown by default when stderr is a terminal or the caller
runs in a Jupyter kernel, never in a log or a test unless asked (`progress=True`).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.core.errors import HarnessError
from harness.core.suite import ProgressCallback


def progress_wanted(progress: object) -> bool:
    """`evaluate`'s `progress=`: True / False as given; None: when stderr is a terminal or the
    caller runs in a Jupyter kernel (whose stderr is no terminal, but shows the widget)."""
    if progress is not None and not isinstance(progress, bool):
        raise HarnessError(
            f"progress: pass True, False or None (shown on a terminal or in a notebook); "
            f"got {progress!r}"
        )
    if progress is not None:
        return progress
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


class _Bar:
    """A `ProgressCallback` drawing one suite's tqdm bar, opened on the suite's first call (a
    suite skipped before it ran draws none)."""

    def __init__(self, suite: str, task: str) -> None:
        self.desc = f"{suite} on {task}"
        self.bar: Any = None

    def __call__(self, done: int, stage: str | None = None, total: int | None = None) -> None:
        if self.bar is None:
            self.bar = _tqdm()(desc=self.desc, unit="sample", total=total)
        if total is not None and total != self.bar.total:
            self.bar.total = total
            self.bar.refresh()
        if stage is not None:
            self.bar.set_postfix_str(stage, refresh=False)
        if done:
            self.bar.update(done)
        elif stage is not None:
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _tqdm() -> Any:
    """tqdm.auto's bar (a widget in Jupyter), or the text bar in a notebook without ipywidgets:
    tqdm.auto would warn "IProgress not found. Please update jupyter and ipywidgets." there
    before falling back to it."""
    if "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is None:
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm


@contextmanager
def suite_progress(shown: bool, suite: str, task: str) -> Iterator[ProgressCallback | None]:
    """The progress callback of one suite's run (None when not `shown`); its bar is closed
    when the suite ends, whether it finished or raised."""
    if not shown:
        yield None
        return
    bar = _Bar(suite, task)
    try:
        yield bar
    finally:
        bar.close()
