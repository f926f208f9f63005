"""One import name: the harness installs only `harness` (its suites, adapters and zoo are
`harness.suites`, `harness.adapters`, `harness.zoo`), so a user's own modules with generic names
never shadow a harness module, and their code still gets their own modules.

End to end, in a fresh interpreter: `harness run` from a project folder that holds an
`adapters.py`, a `suites/` and a `zoo/` package beside the model code its spec names (the folder is
on `sys.path` first, as for every `module:function` reference), and with a stand-in for
AdapterHub's `adapters` distribution installed on the path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The user's model: a fixed linear map of the digits' pixels, which imports the user's own
# `adapters`, `suites` and `zoo` (whatever they resolve to) and says which files they came from.
MODEL = """\
import json
from pathlib import Path

import numpy as np

import adapters  # the user's own (or an installed package of that name), never harness's
{more_imports}

WEIGHTS = np.random.default_rng(0).normal(size=(64, 10)).astype(np.float32)
Path(__file__).with_name("owners.json").write_text(json.dumps({{
    name: [module.__file__, getattr(module, "OWNER", None)]
    for name, module in [("adapters", adapters), {more_owners}]
}}))


def predict(batch):
    x = np.asarray(batch, dtype=np.float32).reshape(len(batch), -1)
    return x @ WEIGHTS
"""

SPEC = """\
tasks: [digits]
models:
  - name: users-own
    adapter: callable
    callable: "mymodel:predict"
    input_shape: [1, 8, 8]
    modality: image
suites: {accuracy: {}}
bootstrap_resamples: 10
"""


def _harness_run(project: Path, pythonpath: list[Path]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in [*pythonpath, REPO])
    env.pop("GITHUB_STEP_SUMMARY", None)
    return subprocess.run(
        [sys.executable, "-m", "harness", "run", "spec.yaml", "--out", "out", "--limit", "60"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _owners(project: Path) -> dict[str, list[str | None]]:
    owners: dict[str, list[str | None]] = json.loads((project / "owners.json").read_text())
    return owners


def test_a_users_adapters_suites_and_zoo_stay_theirs(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    # the names harness used to install at the top level: `from adapters import BUILTIN_ADAPTERS`
    # found this file and the run ended in an ImportError traceback
    (project / "adapters.py").write_text('OWNER = "user"\n')
    for package in ("suites", "zoo"):
        (project / package).mkdir()
        (project / package / "__init__.py").write_text('OWNER = "user"\n')
    (project / "mymodel.py").write_text(
        MODEL.format(
            more_imports="import suites\nimport zoo",
            more_owners='("suites", suites), ("zoo", zoo)',
        )
    )
    (project / "spec.yaml").write_text(SPEC)

    done = _harness_run(project, [])

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    owners = _owners(project)
    assert set(owners) == {"adapters", "suites", "zoo"}
    for name, (file, owner) in owners.items():
        assert owner == "user", (name, file)
        assert file is not None and Path(file).resolve().is_relative_to(project.resolve()), file
    assert len(list((project / "out" / "runs").glob("*/jobs/users-own--digits--accuracy--*"))) == 1


@pytest.mark.slow  # installs a distribution, runs in a fresh process (make test-slow; CI runs it)
def test_an_installed_adapters_distribution_does_not_break_the_harness(tmp_path: Path) -> None:
    # AdapterHub installs a top-level package named `adapters`; here a folder on the path
    site = tmp_path / "site-packages"
    (site / "adapters").mkdir(parents=True)
    (site / "adapters" / "__init__.py").write_text('OWNER = "adapterhub"\n')
    project = tmp_path / "project"
    project.mkdir()
    (project / "mymodel.py").write_text(MODEL.format(more_imports="", more_owners=""))
    (project / "spec.yaml").write_text(SPEC)

    done = _harness_run(project, [site])

    assert done.returncode == 0, done.stderr[-3000:]
    (file, owner) = _owners(project)["adapters"]
    assert owner == "adapterhub", file  # the user's `import adapters` gets the installed package
    assert file is not None and Path(file).resolve().is_relative_to(site.resolve())


@pytest.mark.slow  # a second whole `harness run` in a fresh process (~8 s); by default the same
# protection is shown by the next test (a fresh interpreter, the run's libraries within the scope),
# tests/core/test_user_code_installed.py (in-process) and the first test's `harness run`
def test_a_users_module_named_like_a_library_the_harness_needs_does_not_break_it(
    tmp_path: Path,
) -> None:
    """A project folder holding a `datasets.py` (or `pandas.py`...) beside its spec: the folder
    is first on `sys.path` for the run, so the harness's own `import datasets` (Hugging Face's,
    imported lazily while planning) found the user's file and `harness run` ended in a
    `ModuleNotFoundError: No module named 'datasets.table'` traceback. The installed library
    the harness needs wins; the user's own models still import from the folder."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "datasets.py").write_text('OWNER = "user"\n')
    (project / "mymodel.py").write_text(MODEL.format(more_imports="", more_owners=""))
    (project / "spec.yaml").write_text(SPEC)

    done = _harness_run(project, [])

    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(list((project / "out" / "runs").glob("*/jobs/users-own--digits--accuracy--*"))) == 1


def test_an_installed_librarys_submodules_imported_in_a_scope_stay_imported(
    tmp_path: Path,
) -> None:
    """A folder providing `email.py` (as a project provides `datasets.py`) keeps the installed
    library for the harness; its submodules imported lazily within the scope were dropped from
    `sys.modules` on leaving it, so the next import made a second copy of each (classes that are
    not the first copy's). In a fresh interpreter: the stdlib's `email` stands for `datasets`."""
    (tmp_path / "email.py").write_text("OWNER = 'user'\n")
    code = f"""
import importlib, sys
from pathlib import Path
from harness.core.user_code import user_code
import email
assert "email.mime.audio" not in sys.modules
with user_code(Path({str(tmp_path)!r})):
    first = importlib.import_module("email.mime.audio")
assert importlib.import_module("email.mime.audio") is first, "a second copy"
print("ok")
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_users_file_named_like_any_library_the_run_imports_does_not_shadow_it(
    tmp_path: Path,
) -> None:
    """Beyond the libraries the harness imports itself: a project's `threadpoolctl.py` shadowed
    the one scikit-learn imports (`harness run` on a built-in task ended in an ImportError
    traceback while planning), as `tqdm.py` (the isolated worker) and `foolbox.py` (the
    black-box suite) did. In a fresh interpreter, each imported within the scope is the
    library; the folder's other modules stay the user's."""
    names = ["threadpoolctl", "tqdm", "foolbox", "eagerpy", "fairlearn"]
    for name in names:
        (tmp_path / f"{name}.py").write_text("OWNER = 'user'\n")
    (tmp_path / "mymodel.py").write_text("OWNER = 'user'\n")
    code = f"""
import importlib, sys
from pathlib import Path
from harness.core.user_code import user_code
folder = Path({str(tmp_path)!r}).resolve()
with user_code(folder):
    import sklearn.utils.parallel  # imports threadpoolctl
    import tqdm.std
    for name in {names!r}:
        module = importlib.import_module(name)
        assert not hasattr(module, "OWNER"), (name, module.__file__)
    import mymodel
    assert mymodel.OWNER == "user"
print("ok")
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


CHILD = """\
import sys

import tqdm  # as the harness's modules import their libraries when a child loads them

BOOT = getattr(tqdm, "OWNER", "library")


def main(path, queue):
    from harness.core.user_code import take_path

    take_path(path)
    import mymodel
    import threadpoolctl  # imported later, as scikit-learn does once a task loads
    import tqdm.std

    owners = [getattr(sys.modules[name], "OWNER", "library") for name in ("tqdm", "threadpoolctl")]
    queue.put((BOOT, *owners, mymodel.OWNER))
"""


def test_a_child_process_imports_the_libraries_and_then_the_users_modules(
    tmp_path: Path,
) -> None:
    """A child process (the time-limit workers, the Ray driver: spawn) imports its target's
    module with the path it is started with, before any code of ours runs in it: with the
    user's folder first there, a project's `tqdm.py` (or `datasets.py`) broke it, the library
    protection of the parent's scope not reaching it. Started under `libraries_first` and
    taking its path with `take_path`, the child gets the library, and the user's modules."""
    folder, helpers = tmp_path / "project", tmp_path / "helpers"
    folder.mkdir()
    helpers.mkdir()
    for name in ("tqdm", "threadpoolctl", "mymodel"):
        (folder / f"{name}.py").write_text("OWNER = 'user'\n")
    (helpers / "child_probe.py").write_text(CHILD)
    code = f"""
import multiprocessing, sys
from pathlib import Path
from harness.core.user_code import libraries_first, user_code
import child_probe
if __name__ == "__main__":
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    with user_code(Path({str(folder)!r})):
        process = context.Process(target=child_probe.main, args=(list(sys.path), queue))
        with libraries_first():
            process.start()
        print(queue.get(timeout=120))
    process.join()
"""
    script = tmp_path / "parent.py"
    script.write_text(code)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(helpers), str(REPO)])}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "('library', 'library', 'library', 'user')", done.stderr[-2000:]


@pytest.mark.slow  # a whole run with a time-limit worker, in a fresh process (~15 s)
def test_a_users_datasets_py_does_not_break_the_time_limit_workers(tmp_path: Path) -> None:
    """`--job-timeout` runs jobs in workers forked from a server that imports `datasets` first
    (harness/run/executors/isolated.py); Python 3.11's fork server puts the working folder
    first on its path whatever it is handed, so a project's `datasets.py` ended the run in
    two tracebacks ("the job worker process did not start")."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "datasets.py").write_text('OWNER = "user"\n')
    (project / "tqdm.py").write_text('OWNER = "user"\n')
    (project / "mymodel.py").write_text(MODEL.format(more_imports="", more_owners=""))
    (project / "spec.yaml").write_text(SPEC)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    env.pop("GITHUB_STEP_SUMMARY", None)
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", "spec.yaml", "--out", "out", "--limit", "60",
         "--job-timeout", "300", "--no-cache"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 0, done.stderr[-3000:]


def test_a_script_beside_its_model_code_starts_child_processes(tmp_path: Path) -> None:
    """A script in the project folder (`run.py` beside `mymodel.py` and `spec.yaml`) that imports
    its model code at the top and calls the harness: a spawn or fork-server child runs it again
    as its main module before its target, and its `import mymodel` failed there ("the job worker
    process did not start" with `timeout:`) once the project folder was left off the child's
    path. The folder goes behind the libraries instead: the script imports, `tqdm` is the
    library, and after `take_path` the user's modules are the user's."""
    folder, helpers = tmp_path / "project", tmp_path / "helpers"
    folder.mkdir()
    helpers.mkdir()
    for name in ("tqdm", "threadpoolctl", "mymodel"):
        (folder / f"{name}.py").write_text("OWNER = 'user'\n")
    (helpers / "child_probe.py").write_text(CHILD)
    (folder / "run.py").write_text(
        f"""
import multiprocessing, sys
from pathlib import Path
from harness.core.user_code import libraries_first, user_code
import child_probe
import mymodel  # the script's own model code, at the top
if __name__ == "__main__":
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    with user_code(Path({str(folder)!r})):
        process = context.Process(target=child_probe.main, args=(list(sys.path), queue))
        with libraries_first():
            process.start()
        process.join(120)
    print(process.exitcode, queue.get(timeout=5) if process.exitcode == 0 else None)
"""
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(helpers), str(REPO)])}
    done = subprocess.run(
        [sys.executable, "run.py"], cwd=folder, capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "0 ('library', 'library', 'library', 'user')", done.stderr[-2000:]


def _python_in(folder: Path, code: str) -> subprocess.CompletedProcess[str]:
    """`python -c code` with `folder` as the working folder: "" (it) first on `sys.path`, as a
    notebook's kernel or a script beside the user's files has it."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=300,
    )


@pytest.mark.slow  # a fresh interpreter importing torch: 5-9 s
def test_a_notebooks_file_named_like_a_library_does_not_break_the_python_api(
    tmp_path: Path,
) -> None:
    """A notebook (or `python -c`, a script) in a folder holding `datasets.py`: the working
    folder is first on its path, and `harness.evaluate` ended in `ModuleNotFoundError: No module
    named 'datasets.table'; 'datasets' is not a package` from the harness's own import. The
    verbs import the libraries first: evaluate gets as far as the model it was given."""
    (tmp_path / "datasets.py").write_text("OWNER = 'user'\n")
    done = _python_in(
        tmp_path,
        """
import harness
try:
    harness.evaluate("no-such-model", task="digits")
except harness.HarnessError as err:
    print(type(err).__name__, "no-such-model" in str(err))
import datasets
print(hasattr(datasets, "OWNER"))
""",
    )
    assert done.stdout.split() == ["UnknownNameError", "True", "False"], done.stderr[-2000:]


def test_a_users_module_already_imported_under_a_librarys_name_is_named(tmp_path: Path) -> None:
    """The user's `tqdm.py` imported before the harness is called cannot be replaced in that
    process: one error naming the file and what to do, not an ImportError from inside."""
    (tmp_path / "tqdm.py").write_text("OWNER = 'user'\n")
    done = _python_in(
        tmp_path,
        """
import tqdm
import harness
try:
    harness.leaderboard("results")
except harness.HarnessError as err:
    print(err)
""",
    )
    expected = (
        f"module 'tqdm' was imported from {tmp_path.resolve() / 'tqdm.py'}, which has the name "
        "of a library the harness needs; rename your file (e.g. my_tqdm.py) and restart this "
        "Python process (a notebook's kernel)"
    )
    assert done.stdout.strip() == expected, done.stderr[-2000:]
