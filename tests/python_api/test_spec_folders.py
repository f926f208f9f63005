"""Several specs in one Python process: each run imports its own folder's modules.

Two spec folders each hold a `mymodel.py` of their own. `harness.run_spec` (and `main(["run",
...])`, as a test session or a script calls it) used to leave the first spec's folder on `sys.path`
and its `mymodel` in `sys.modules`, so the second run evaluated the first spec's model under the
second one's name (and the result cache reused the first one's numbers: the code hash was the
imported module's).
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

import harness
from harness.cli.main import main
from harness.core.user_code import user_code

MODEL = """\
from pathlib import Path

import numpy as np

WHO = {who!r}
WEIGHTS = np.random.default_rng({seed}).normal(size=(64, 10)).astype(np.float32)


def predict(batch):
    Path(__file__).with_name("ran").write_text(WHO)
    return np.asarray(batch, dtype=np.float32).reshape(len(batch), -1) @ WEIGHTS
"""

SPEC = """\
name: {who}
device: cpu
limit: 30
bootstrap_resamples: 10
tasks: [digits]
models:
  - name: users-own
    adapter: callable
    callable: "mymodel:predict"
    input_shape: [1, 8, 8]
    modality: image
suites: {{accuracy: {{}}}}
"""


def _project(root: Path, who: str, seed: int) -> Path:
    folder = root / who
    folder.mkdir()
    (folder / "mymodel.py").write_text(MODEL.format(who=who, seed=seed))
    (folder / "spec.yaml").write_text(SPEC.format(who=who))
    return folder / "spec.yaml"


@pytest.fixture
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_NO_CACHE", "1")


def _ran(spec: Path) -> str | None:
    marker = spec.with_name("ran")
    return marker.read_text() if marker.exists() else None


def test_run_spec_imports_each_specs_own_module(tmp_path: Path, no_cache: None) -> None:
    path_before = list(sys.path)
    first, second = _project(tmp_path, "first", 1), _project(tmp_path, "second", 2)
    harness.run_spec(first, out=tmp_path / "out")
    harness.run_spec(second, out=tmp_path / "out")
    assert _ran(first) == "first" and _ran(second) == "second"
    assert sys.path == path_before and "mymodel" not in sys.modules


def test_cli_main_imports_each_specs_own_module(tmp_path: Path, no_cache: None) -> None:
    path_before = list(sys.path)
    first, second = _project(tmp_path, "first", 1), _project(tmp_path, "second", 2)
    for spec in (first, second):
        assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    assert _ran(first) == "first" and _ran(second) == "second"
    assert sys.path == path_before and "mymodel" not in sys.modules


def test_a_module_of_the_same_name_from_elsewhere_is_set_aside_then_back(
    tmp_path: Path, no_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's own `mymodel` (imported before) does not replace the spec's, and is the
    caller's again afterwards."""
    theirs = ModuleType("mymodel")
    theirs.__file__ = str(tmp_path / "elsewhere" / "mymodel.py")
    monkeypatch.setitem(sys.modules, "mymodel", theirs)
    spec = _project(tmp_path, "spec", 3)
    harness.run_spec(spec, out=tmp_path / "out")
    assert _ran(spec) == "spec" and sys.modules["mymodel"] is theirs


def test_user_code_keeps_modules_already_from_the_folder_and_the_harness(tmp_path: Path) -> None:
    (tmp_path / "harness").mkdir()  # a spec in a checkout of the harness
    (tmp_path / "harness" / "__init__.py").write_text("")
    (tmp_path / "helper.py").write_text("X = 1\n")
    own = harness
    with user_code(tmp_path):
        assert sys.path[0] == str(tmp_path.resolve())
        import helper  # type: ignore[import-not-found]

        assert helper.X == 1
        assert sys.modules["harness"] is own
    assert "helper" not in sys.modules and sys.modules["harness"] is own


def test_a_folder_without_modules_looks_through_no_loaded_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spec's folder mostly holds only the spec and data: entering and leaving it then reads
    no name in `sys.modules` (thousands once torch is in; every in-process run paid for it)."""
    from harness.core import user_code as module

    (tmp_path / "spec.yaml").write_text("")
    (tmp_path / "data").mkdir()
    looked: list[set[str]] = []
    real_loaded_under = module._loaded_under
    monkeypatch.setattr(
        module, "_loaded_under", lambda names: looked.append(names) or real_loaded_under(names)
    )
    path_before = list(sys.path)
    with user_code(tmp_path):
        assert sys.path[0] == str(tmp_path.resolve())
    assert looked == [] and sys.path == path_before


def test_a_module_is_within_a_folder_as_its_resolved_path_says(tmp_path: Path) -> None:
    """`_within` compares resolved paths as text (a checkout's hundreds of `tests.*` modules are
    looked at on every in-process command): the same answers as pathlib's `is_relative_to` on
    `Path.resolve()`, through links, for a sibling whose name only starts the same, and at /."""
    from harness.core import user_code as module

    folder = tmp_path / "spec"
    (folder / "pkg").mkdir(parents=True)
    (folder / "own.py").write_text("")
    (tmp_path / "spec-other").mkdir()
    (tmp_path / "spec-other" / "near.py").write_text("")
    (tmp_path / "outside.py").write_text("")
    (folder / "link_out.py").symlink_to(tmp_path / "outside.py")
    (tmp_path / "link_in.py").symlink_to(folder / "own.py")
    (tmp_path / "spec-link").symlink_to(folder, target_is_directory=True)
    places = [
        folder / "own.py",
        folder / "link_out.py",
        tmp_path / "link_in.py",
        tmp_path / "spec-other" / "near.py",
        tmp_path / "spec-link" / "own.py",
        folder,
        folder / "pkg",
        folder / "missing.py",
    ]
    for base in (folder.resolve(), Path("/"), tmp_path.resolve() / "spec-"):
        for place in places:
            mod = ModuleType("m")
            mod.__file__ = str(place)
            expected = Path(place).resolve().is_relative_to(base)
            assert module._within(mod, base) is expected, (place, base)
        package = ModuleType("p")
        package.__path__ = [str(folder / "pkg")]  # a package: its path, no file
        assert module._within(package, base) is (folder / "pkg").resolve().is_relative_to(base)
    assert module._within(ModuleType("builtin"), folder.resolve()) is False
