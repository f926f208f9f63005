"""The import contracts in pyproject.toml catch an import that runs back up a floor.

A copy of the package (suites, adapters and zoo copied in through their links) gets one import
planted per rule it must keep; `lint-imports` on the copy must fail and name each planted import,
and pass on the copy as it is. So a contract loosened or mistyped (a layer left out, an
`ignore_imports` line, a module name that matches nothing) fails here, not in review.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import harness

ROOT = Path(harness.__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# (file in the copy, the import appended to it, what lint-imports must report)
PLANTED = [
    # the spec side never imports a plugin: the run stage hands them to the planner
    (
        "harness/config/planner.py",
        "import harness.suites",
        r"harness\.config\.planner -> harness\.suites ",
    ),
    # the task loaders stand below config
    (
        "harness/data/loader.py",
        "import harness.config.spec",
        r"harness\.data\.loader -> harness\.config\.spec ",
    ),
    # a stage never imports the package root, whose API wrappers reach present and export
    (
        "harness/run/runner.py",
        "import harness",
        r"harness\.run\.runner -> harness \(l\.\d+\)\n\s+harness -> harness\.present",
    ),
    # the results side never imports the task loaders, nor torch
    (
        "harness/analysis/pareto.py",
        "import harness.data.catalogue",
        r"harness\.analysis\.pareto -> harness\.data\.catalogue ",
    ),
    ("harness/store/atomic.py", "import torch", r"harness\.store\.atomic -> torch "),
    # the plugins report with harness.stats, never the results side's analysis
    (
        "suites/accuracy.py",
        "import harness.analysis.pareto",
        r"harness\.suites\.accuracy -> harness\.analysis\.pareto ",
    ),
    # the statistics stand on the core alone, and never import torch
    (
        "harness/stats/intervals.py",
        "import harness.analysis.caveats",
        r"harness\.stats\.intervals -> harness\.analysis\.caveats ",
    ),
    (
        "harness/stats/groups.py",
        "import harness.store.links",
        r"harness\.stats\.groups -> harness\.store\.links ",
    ),
    ("harness/stats/timing.py", "import torch", r"harness\.stats\.timing -> torch "),
    # plugins never import one another
    (
        "zoo/hub_models.py",
        "import harness.adapters.base",
        r"harness\.zoo\.hub_models -> harness\.adapters\.base ",
    ),
]


def _copy(dest: Path) -> Path:
    """The package and pyproject.toml, with suites/, adapters/ and zoo/ copied through the links."""
    shutil.copytree(
        ROOT / "harness",
        dest / "harness",
        ignore=shutil.ignore_patterns("__pycache__", "weights", "templates"),
    )
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _in_copy(tree: Path, relative: str) -> Path:
    """A file of the copy: a plugin's file lies under harness/ there."""
    top = relative.split("/")[0]
    return tree / ("harness/" + relative if top in ("suites", "adapters", "zoo") else relative)


def test_the_contracts_hold_on_the_tree_as_it_is(tmp_path: Path) -> None:
    done = _lint_imports(_copy(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broken" in done.stdout and "0 broken" in done.stdout
    assert "ignored" not in done.stdout  # no contract lets an import through


def test_each_planted_import_back_up_is_reported(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    for relative, line, _ in PLANTED:
        path = _in_copy(tree, relative)
        path.write_text(path.read_text() + f"\n{line}  # planted\n")
    done = _lint_imports(tree)
    assert done.returncode != 0
    missed = [line for _, line, seen in PLANTED if not re.search(seen, done.stdout)]
    assert missed == [], done.stdout
