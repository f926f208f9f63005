"""Which installed libraries a user's same-named file may not shadow (harness/core/user_code.py):
every library the harness depends on, directly or through another (harness/core/installed.py)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from harness.core import installed


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
