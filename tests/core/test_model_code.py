"""The files a model's code comes from (harness/core/model_code.py)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import torch

from harness.core.model_code import defining_files, source_sha256
from harness.zoo.architectures import digits_cnn

_BASE = """
from torch import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x)
"""

_NET = """
from torch import nn

from {base} import Block


class Scaled(Block):
    pass


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(Scaled(), nn.ReLU())

    def forward(self, x):
        return self.body(x)


def make():
    return Net()
"""


@pytest.fixture
def user_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, str]:
    """Two files of a user's model: the network (its factory) and a base class it builds on."""
    tag = tmp_path.name.replace("-", "_")
    base, net = f"user_block_{tag}", f"user_net_{tag}"
    (tmp_path / f"{base}.py").write_text(_BASE)
    (tmp_path / f"{net}.py").write_text(_NET.format(base=base))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path / f"{base}.py", tmp_path / f"{net}.py", net


def test_the_factory_and_every_class_of_the_network_with_its_bases(
    user_code: tuple[Path, Path, str],
) -> None:
    base, net, module = user_code
    make = importlib.import_module(module).make
    files = defining_files([make, make()])
    assert files == sorted([base.resolve(), net.resolve()])  # not torch's nn files


def test_an_edit_to_either_file_changes_the_digest(
    user_code: tuple[Path, Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _net, module = user_code
    make = importlib.import_module(module).make
    before = source_sha256([make, make()])
    assert before is not None and source_sha256([make, make()]) == before
    base.write_text(base.read_text().replace("return self.fc(x)", "return 2 * self.fc(x)"))
    assert source_sha256([make, make()]) != before


def test_torch_and_harness_code_is_left_to_their_versions() -> None:
    """torch's and the harness's own files are in the cache key already (versions, the code
    digest): a zoo network has no digest of its own, and its identity is what it was."""
    assert defining_files([digits_cnn, digits_cnn(), torch.nn.Linear(2, 2), len]) == []
    assert source_sha256([digits_cnn()]) is None


def test_a_class_without_a_file_is_left_out() -> None:
    namespace: dict[str, object] = {"__name__": "typed_in"}
    exec("class Typed(object):\n    pass\n", namespace)  # as in an interactive session
    sys.modules.pop("typed_in", None)
    assert defining_files([namespace["Typed"]]) == []


def test_an_object_whose_modules_is_not_torchs_is_hashed_by_its_class() -> None:
    """An object with its own `modules` method (any signature, any error) never breaks the
    model's build: its class's file counts."""

    class Odd:
        def modules(self) -> list[object]:
            raise RuntimeError("not a network")

    assert defining_files([Odd()]) == [Path(__file__).resolve()]
