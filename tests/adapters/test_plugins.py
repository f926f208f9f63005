"""A third-party package registers an adapter, a suite and a task through entry points."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from harness.cli.main import main

PLUGIN = '''
"""A tiny third-party plugin."""
import torch
from pydantic import BaseModel, ConfigDict

from harness.adapters.python_callable import CallableAdapter
from harness.data.builtin import digits
from harness.core.adapter import Capabilities, InputSpec
from harness.core.errors import ConfigError
from harness.suites.accuracy import AccuracySuite


class EchoAdapter(CallableAdapter):
    """Echo adapter from a plugin."""
    kind = "echo"


class BareConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int = 0


class BareAdapter:
    """Only the required members: no shared base, no optional hooks."""
    kind = "bare"
    config_model = BareConfig

    def __init__(self, name, seed, device):
        self.name = name
        self.device = device
        self.input_spec = InputSpec(shape=(1, 8, 8))
        self.capabilities = Capabilities(gradients=False)
        self._weight = torch.randn(64, 10, generator=torch.Generator().manual_seed(seed))

    @classmethod
    def build(cls, *, name, config, device, base_dir):
        return cls(name, config.seed, device)

    def logits(self, inputs):
        return inputs.reshape(len(inputs), -1).to(self.device) @ self._weight

    def module(self):
        raise ConfigError(f"model {self.name!r} is black-box")

    def describe(self):
        return {"adapter": self.kind}

    def identity(self):
        return "bare-" + "0" * 16


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
            bare = harness_echo_plugin:BareAdapter

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
    assert main(["list", what, "--width", "0"]) == 0  # one line per entry
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(name + " "))
    assert "entry-point harness-echo-plugin" in line and doc in line


def test_plugin_task_and_suite_run(plugin_on_path: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    spec = tmp_path / "plugin.yaml"
    spec.write_text(
        "device: cpu\nbootstrap_resamples: 20\ntasks: [tiny-digits]\n"
        "models: [{name: m, adapter: torchscript, path: m.pt}]\nsuites: {echo-suite: {}}\n"
    )
    (tmp_path / "m.pt").write_bytes(b"")  # validate checks the file is there, not what is in it
    assert main(["validate", str(spec)]) == 0
    assert "m × tiny-digits × echo-suite" in capsys.readouterr().out


def test_without_the_plugin_the_names_are_unknown(capsys) -> None:  # noqa: ANN001
    assert main(["list", "adapters"]) == 0
    assert "echo " not in capsys.readouterr().out


BARE_SPEC = (
    "device: cpu\nbootstrap_resamples: 20\ntasks: [tiny-digits]\n"
    "models: [{name: a, adapter: bare}, {name: b, adapter: bare}]\nsuites: {accuracy: {}}\n"
)


def test_plugin_adapter_without_hooks_runs(plugin_on_path: Path, tmp_path: Path) -> None:
    """An adapter with only the required members gets the default hooks (runner, parity)."""
    spec = tmp_path / "bare.yaml"
    spec.write_text(BARE_SPEC)
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    assert main(["parity", str(spec), "--models", "a,b", "--task", "tiny-digits"]) == 0


def test_plugin_adapter_without_hooks_passes_the_contract_and_evaluates(
    plugin_on_path: Path,
) -> None:
    from harness_echo_plugin import BareAdapter  # type: ignore[import-not-found]

    import harness
    from harness.data.builtin import digits
    from harness.testing import check_adapter

    bare = BareAdapter("bare", 0, torch.device("cpu"))
    assert check_adapter(bare, digits()).white_box is False
    result = harness.evaluate(bare, task="digits", suites=["accuracy"], limit=40)
    assert result.metric("top1_acc").n == 40
