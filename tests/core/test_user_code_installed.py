"""Which modules a user scope treats as installed (harness/core/user_code.py): those of the
interpreter's standard library and site folders, never the user's own project because it sits
under `sys.prefix` (Debian's system Python has prefix /usr; Docker images keep code in
/usr/src/app); and which installed libraries a user's same-named file may not shadow: every
library the harness depends on, directly or through another (harness/core/installed.py)."""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from pathlib import Path

import pytest

from harness.core import installed
from harness.core.errors import ConfigError
from harness.core.user_code import libraries_ahead, user_code


def _debian_like(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A prefix holding both a dist-packages folder on the path and the user's project."""
    prefix = tmp_path / "usr"
    site = prefix / "lib" / "python3" / "dist-packages"
    project = prefix / "src" / "app"
    site.mkdir(parents=True)
    project.mkdir(parents=True)
    for name in ("sys", "base", "exec", "base_exec"):
        attribute = "prefix" if name == "sys" else f"{name}_prefix"
        monkeypatch.setattr(sys, attribute, str(prefix))
    monkeypatch.syspath_prepend(str(site))
    return site, project


def test_a_project_under_the_prefix_is_not_installed_its_modules_go_with_the_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code in /usr/src/app with prefix /usr: the run's own module stayed imported after the
    scope (a second spec in the process, or the next test, got the first one's code)."""
    _site, project = _debian_like(tmp_path, monkeypatch)
    (project / "app_model_for_test.py").write_text("WHO = 'first'\n")
    monkeypatch.setitem(sys.modules, "app_model_for_test", None)  # absent again after the test
    monkeypatch.delitem(sys.modules, "app_model_for_test")
    with user_code(project):
        import app_model_for_test  # type: ignore[import-not-found]

        assert app_model_for_test.WHO == "first"
    assert "app_model_for_test" not in sys.modules


def test_a_library_in_a_dist_packages_folder_stays_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side: a library in the prefix's dist-packages, imported before, is installed: a
    project's same-named file neither sets it aside nor has it forgotten on leaving."""
    site, project = _debian_like(tmp_path, monkeypatch)
    (site / "dist_lib_for_test").mkdir()
    (site / "dist_lib_for_test" / "__init__.py").write_text("WHO = 'library'\n")
    (site / "dist_lib_for_test" / "part.py").write_text("")
    (project / "dist_lib_for_test.py").write_text("WHO = 'user'\n")
    for name in ("dist_lib_for_test", "dist_lib_for_test.part"):
        monkeypatch.setitem(sys.modules, name, None)  # absent again after the test
        monkeypatch.delitem(sys.modules, name)
    import dist_lib_for_test  # type: ignore[import-not-found]

    with user_code(project):
        assert sys.modules["dist_lib_for_test"] is dist_lib_for_test
        import dist_lib_for_test.part  # type: ignore[import-not-found]

        part = sys.modules["dist_lib_for_test.part"]
    assert sys.modules["dist_lib_for_test"] is dist_lib_for_test
    assert sys.modules["dist_lib_for_test.part"] is part


def test_the_libraries_kept_ahead_of_a_users_file_are_the_harnesss_dependencies() -> None:
    """Read from what is installed: the harness's requirements and theirs, not a hand list
    (which missed threadpoolctl, that scikit-learn imports, tqdm, foolbox and more)."""
    names = installed.library_names()
    assert {
        "torch", "datasets", "numpy", "scipy", "sklearn", "PIL", "pyarrow", "safetensors",
        "foolbox", "eagerpy", "fairlearn", "threadpoolctl", "tqdm", "joblib", "fsspec", "yaml",
    } <= names  # fmt: skip
    # the test suite's tools (the `dev` extra) are no library a run imports: a project's
    # `build.py` stays the user's
    assert not {"harness", "pytest", "build", "mypy", "ruff", "hypothesis"} & names


def _dist(root: Path, name: str, requires: list[str], top: str) -> None:
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    extras = sorted({r.split("extra ==")[1].strip(" '\"") for r in requires if "extra ==" in r})
    lines = ["Metadata-Version: 2.1", f"Name: {name}", "Version: 1.0"]
    lines += [f"Provides-Extra: {e}" for e in extras] + [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    (info / "top_level.txt").write_text(top + "\n")


def test_the_dependency_walk_follows_requested_extras_only(tmp_path: Path) -> None:
    _dist(
        tmp_path,
        "robustness-harness",
        ["Alpha>=1", 'beta[fast]; extra == "hf"', 'gamma; extra == "dev"'],
        "harness",
    )
    _dist(tmp_path, "alpha", ['delta; extra == "docs"', "Epsilon_Lib"], "alpha")
    _dist(tmp_path, "beta", ['zeta; extra == "fast"', 'eta; extra == "slow"'], "beta\nbeta_c")
    for name in ("gamma", "delta", "epsilon-lib", "zeta", "eta"):
        _dist(tmp_path, name, [], name.replace("-", "_"))
    dists = list(importlib.metadata.distributions(path=[str(tmp_path)]))
    assert installed.dependency_names(dists) == {"alpha", "epsilon_lib", "beta", "beta_c", "zeta"}
    # the required dependencies only (what the Python API's calls keep ahead of a notebook's
    # files): none of the harness's own extras, each requirement's own extras still followed
    assert installed.dependency_names(dists, extras=False) == {"alpha", "epsilon_lib"}


def test_a_requirement_listing_extras_with_spaces_follows_each(tmp_path: Path) -> None:
    """`beta[fast, slow]` as hand-written metadata has it: the second extra read as " slow"
    matched no `extra == "slow"` marker, so its libraries were not kept ahead of a user's file."""
    _dist(tmp_path, "robustness-harness", ["beta[fast, slow]"], "harness")
    _dist(tmp_path, "beta", ['zeta; extra == "fast"', 'eta; extra == "slow"'], "beta")
    for name in ("zeta", "eta"):
        _dist(tmp_path, name, [], name)
    dists = list(importlib.metadata.distributions(path=[str(tmp_path)]))
    assert installed.dependency_names(dists) == {"beta", "zeta", "eta"}


def _library_and_users_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> tuple[Path, Path]:
    """An installed library `name` (in a site-packages folder, late on the path) and a user's
    `name.py` in a folder first on it, as a notebook's working folder is."""
    site = tmp_path / "site-packages"
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text("OWNER = 'library'\n")
    user = tmp_path / "notebook"
    user.mkdir()
    (user / f"{name}.py").write_text("OWNER = 'user'\n")
    monkeypatch.setattr(sys, "path", [str(user), *sys.path, str(site)])
    monkeypatch.setattr(installed, "library_names", lambda **_: frozenset({name}))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return site, user


def test_the_verbs_import_a_library_ahead_of_a_users_same_named_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`harness.evaluate` from a notebook beside its `datasets.py` failed inside the harness's
    own `from datasets.table import ...` (the working folder is first on the path): the verbs
    import the library first; the user's other modules are untouched."""
    name = "lib_shadowed_for_test"
    _library_and_users_file(tmp_path, monkeypatch, name)
    libraries_ahead()
    assert sys.modules[name].OWNER == "library"


def test_a_users_module_imported_under_a_librarys_name_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "lib_imported_for_test"
    _site, user = _library_and_users_file(tmp_path, monkeypatch, name)
    importlib.import_module(name)  # the user's, imported before the harness was called
    with pytest.raises(ConfigError, match=f"module '{name}' was imported from {user / name}.py"):
        libraries_ahead()


def test_a_library_installed_in_editable_mode_is_no_users_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library the harness depends on installed editable from its checkout (`pip install -e`,
    torch's `setup.py develop`: its folder on the path, no other copy) was refused on every
    verb once imported, as a user's file shadowing the library: it is the library."""
    name = "lib_editable_for_test"
    checkout = tmp_path / "checkout"
    (checkout / name).mkdir(parents=True)
    (checkout / name / "__init__.py").write_text("OWNER = 'library'\n")
    monkeypatch.setattr(sys, "path", [*sys.path, str(checkout)])
    monkeypatch.setattr(installed, "library_names", lambda **_: frozenset({name}))
    monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.import_module(name)
    libraries_ahead()
    assert sys.modules[name].OWNER == "library"
