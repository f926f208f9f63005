"""A third-party package registers an adapter, a suite and a task through entry points."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.cli.main import main

PLUGIN = '''
"""A tiny third-party plugin."""
import torch
from adapters.python_callable import CallableAdapter
from harness.config.tasks.builtin import digits
from suites.accuracy import AccuracySuite


class EchoAdapter(CallableAdapter):
    """Echo adapter from a plugin."""
    kind = "echo"


class EchoSuite(AccuracySuite):
    name = "echo-suite"
    description = "accuracy, again, from a plugin"


def tiny_digits():
    """The first 20 digits, from a plugin."""
    return digits().head(20)
'''


@pytest.fixture
def plugin_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed-looking distribution: a module plus a .dist-info with entry_points.txt."""
    (tmp_path / "harness_echo_plugin.py").write_text(PLUGIN)
    info = tmp_path / "harness_echo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: harness-echo-plugin\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [harness.adapters]
            echo = harness_echo_plugin:EchoAdapter

            [harness.suites]
            echo-suite = harness_echo_plugin:EchoSuite

            [harness.tasks]
            tiny-digits = harness_echo_plugin:tiny_digits
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    ("what", "name", "doc"),
    [
        ("adapters", "echo", "Echo adapter from a plugin."),
        ("suites", "echo-suite", "accuracy, again, from a plugin"),
        ("tasks", "tiny-digits", "The first 20 digits, from a plugin."),
    ],
)
def test_plugin_shows_in_harness_list(
    plugin_on_path: Path, capsys, what: str, name: str, doc: str
) -> None:  # noqa: ANN001
    assert main(["list", what]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(name + " "))
    assert "entry-point harness-echo-plugin" in line and doc in line


def test_plugin_task_and_suite_run(plugin_on_path: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    spec = tmp_path / "plugin.yaml"
    spec.write_text(
        "device: cpu\nbootstrap_resamples: 20\ntasks: [tiny-digits]\n"
        "models: [{name: m, adapter: torchscript, path: missing.pt}]\nsuites: {echo-suite: {}}\n"
    )
    assert main(["validate", str(spec)]) == 0
    assert "m × tiny-digits × echo-suite" in capsys.readouterr().out


def test_without_the_plugin_the_names_are_unknown(capsys) -> None:  # noqa: ANN001
    assert main(["list", "adapters"]) == 0
    assert "echo " not in capsys.readouterr().out
