"""Entry points and versions are read once per state of the import path (harness/core/installed.py)
and read again as soon as a distribution appears, disappears or its folder joins the path."""

from __future__ import annotations

import importlib.metadata
import shutil
from pathlib import Path

import pytest

from harness.core import installed

GROUP = "harness.test-installed"


def _dist(root: Path, name: str, version: str, entries: dict[str, str]) -> Path:
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "".join(f"{k} = {v}\n" for k, v in entries.items())
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{lines}")
    return info


def _names() -> list[str]:
    return sorted(ep.name for ep in installed.entry_points(GROUP))


def test_the_same_path_reads_the_distributions_once(monkeypatch: pytest.MonkeyPatch) -> None:
    installed.entry_points(GROUP)
    installed.entry_points("harness.suites")
    installed.version("numpy")
    calls: list[str] = []
    real_eps, real_version = importlib.metadata.entry_points, importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda **kw: calls.append("eps") or real_eps(**kw)
    )
    monkeypatch.setattr(
        importlib.metadata, "version", lambda name: calls.append(name) or real_version(name)
    )
    for _ in range(3):
        installed.entry_points(GROUP)
        installed.entry_points("harness.suites")
        assert installed.version("numpy") == real_version("numpy")
    assert calls == []


def test_a_distribution_is_seen_when_it_appears_and_gone_when_it_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _names() == []
    assert installed.version("harness-installed-probe") is None
    _dist(tmp_path, "harness-installed-probe", "0.1", {"one": "mod:one"})
    assert _names() == []  # not on the path yet
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _names() == ["one"]
    assert installed.version("harness-installed-probe") == "0.1"
    # an upgrade: the old .dist-info goes, a new one comes (the folder's time moves)
    shutil.rmtree(tmp_path / "harness_installed_probe-0.1.dist-info")
    _dist(tmp_path, "harness-installed-probe", "0.2", {"one": "mod:one", "two": "mod:two"})
    assert _names() == ["one", "two"]
    assert installed.version("harness-installed-probe") == "0.2"
    monkeypatch.undo()  # the folder leaves the path
    assert _names() == []
    assert installed.version("harness-installed-probe") is None


def test_the_answers_match_importlib_metadata() -> None:
    for group in ("harness.suites", "harness.adapters", "harness.tasks", "console_scripts"):
        want = importlib.metadata.entry_points(group=group)
        assert tuple(installed.entry_points(group)) == tuple(want)
    for name in ("numpy", "torch", "robustness-harness"):
        assert installed.version(name) == importlib.metadata.version(name)


def test_writing_into_a_folder_without_distributions_keeps_what_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spec's folder is on the path during `harness run`, and the run writes into it."""
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _names() == []
    calls: list[object] = []
    real_eps = importlib.metadata.entry_points
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda **kw: calls.append(kw) or real_eps(**kw)
    )
    (tmp_path / "results").mkdir()
    (tmp_path / "spec.lock").write_text("")
    assert _names() == []
    assert calls == []
    _dist(tmp_path, "harness-installed-late", "1.0", {"late": "mod:late"})
    assert _names() == ["late"]  # a distribution that appears in it is seen
    assert len(calls) == 1


def test_a_folder_without_distributions_joining_the_path_keeps_what_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each `harness run` in a process puts its spec's folder on the path (a test session: a new
    folder per test); a folder that holds no distribution changes no answer, so nothing is read
    again, and a distribution that appears in it later is still seen."""
    assert _names() == []
    calls: list[object] = []
    real_eps = importlib.metadata.entry_points
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda **kw: calls.append(kw) or real_eps(**kw)
    )
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "spec.yaml").write_text("")
        monkeypatch.syspath_prepend(str(tmp_path / name))
        assert _names() == []
    assert calls == []
    _dist(tmp_path / "two", "harness-installed-later", "1.0", {"later": "mod:later"})
    assert _names() == ["later"]
    assert len(calls) == 1
