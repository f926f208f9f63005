"""`harness.evaluate(progress=...)`: a tqdm bar per suite on stderr, as `harness run` shows each
job's progress; shown on a terminal or in a notebook by default, never in a log."""

from __future__ import annotations

import pytest
import torch

import harness
from harness.core.errors import HarnessError
from harness.data.builtin import digits_arrays
from tests.fixture_models import linear_digits


@pytest.fixture(scope="module")
def xy() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = digits_arrays("test")
    return torch.from_numpy(x[:60].copy()), torch.from_numpy(y[:60].copy())


def test_progress_true_draws_a_bar_per_suite_with_its_samples(xy, capsys) -> None:  # noqa: ANN001
    harness.evaluate(
        linear_digits(), data=xy, suites=["accuracy", "fairness"], device="cpu", progress=True
    )
    err = capsys.readouterr().err
    assert "accuracy on in-memory" in err and "60/60" in err  # the suite's samples, all done
    assert "fairness" not in err  # skipped (no groups) before it ran: no bar


def test_no_bar_when_stderr_is_no_terminal_or_when_turned_off(xy, capsys) -> None:  # noqa: ANN001
    harness.evaluate(linear_digits(), data=xy, device="cpu")  # pytest's stderr: no terminal
    harness.evaluate(linear_digits(), data=xy, device="cpu", progress=False)
    assert capsys.readouterr().err == ""


def test_a_progress_that_is_not_a_bool_is_one_line(xy) -> None:  # noqa: ANN001
    with pytest.raises(HarnessError, match=r"^progress: pass True, False or None .*got 'yes'$"):
        harness.evaluate(linear_digits(), data=xy, device="cpu", progress="yes")


def test_a_notebook_without_ipywidgets_gets_the_text_bar_without_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """tqdm.auto in a Jupyter kernel without ipywidgets warns "IProgress not found. Please
    update jupyter and ipywidgets." before falling back to text: the text bar is taken."""
    import importlib.util
    import sys
    import types

    from tqdm.std import tqdm as text_bar

    from harness.run import api_progress

    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ipywidgets" else real(name)
    )
    assert api_progress.progress_wanted(None) is True  # a kernel: shown by default
    assert api_progress._tqdm() is text_bar
