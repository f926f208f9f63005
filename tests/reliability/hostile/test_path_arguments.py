"""Every path argument of every subcommand x every kind of path it must not be: one `error:`
line naming the path, exit 2, no traceback, and what was at the path left as it was.

Roles: a file read (spec, policy, id list), a folder read (results, run folders), a folder
written (`--out`) and a file written (`--junit`, `$GITHUB_STEP_SUMMARY`). Kinds: a file where a
folder goes, a folder where a file goes, a missing path, a path under a file, a FIFO, a device
(/dev/full) and a place the kernel will not let anyone write (/sys).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cli import paths
from harness.store import atomic
from tests.present.synthetic import write_synthetic_run
from tests.reliability.hostile.corpus import cli, one_error_line

SPEC = """\
tasks: [digits]
models:
  - {name: lin, factory: 'tests.fixture_models:linear_digits', input_shape: [1, 8, 8]}
suites: {accuracy: {}}
"""


@dataclass(frozen=True)
class Context:
    spec: Path  # a valid spec
    run: Path  # a valid run folder
    out: Path  # a fresh folder to write into


Argv = Callable[[str, Context], list[str]]
ARGUMENTS: dict[str, tuple[str, Argv]] = {
    # argument: (role, the command line with the path in it)
    "run.spec": ("file-in", lambda p, c: ["run", p, "--out", str(c.out)]),
    "run.--out": ("folder-out", lambda p, c: ["run", str(c.spec), "--out", p]),
    # refused before the run: a file there ran every job, then said 'choose another --out'
    "run.--report": (
        "folder-out",
        lambda p, c: ["run", str(c.spec), "--out", str(c.out), "--report", p],
    ),
    "run.--protocol-ids": (
        "file-in",
        lambda p, c: ["run", "--protocol", "x", "--models", "m", "--protocol-ids", p],
    ),
    "validate.spec": ("file-in", lambda p, c: ["validate", p]),
    "parity.spec": ("file-in", lambda p, c: ["parity", p, "--models", "a,b", "--task", "t"]),
    "leaderboard.results": ("folder-in", lambda p, c: ["leaderboard", p]),
    "report.results": ("folder-in", lambda p, c: ["report", p, "--out", str(c.out)]),
    "report.--out": ("folder-out", lambda p, c: ["report", str(c.run), "--out", p]),
    "groups.results": ("folder-in", lambda p, c: ["groups", p]),
    "variants.results": ("folder-in", lambda p, c: ["variants", p]),
    "check.--baseline": (
        "folder-in",
        lambda p, c: ["check", "--baseline", p, "--current", str(c.run)],
    ),
    "check.--current": (
        "folder-in",
        lambda p, c: ["check", "--baseline", str(c.run), "--current", p],
    ),
    "check.--policy": (
        "file-in",
        lambda p, c: ["check", "--baseline", str(c.run), "--current", str(c.run), "--policy", p],
    ),
    "check.--junit": (
        "file-out",
        lambda p, c: ["check", "--baseline", str(c.run), "--current", str(c.run), "--junit", p],
    ),
    "check.$GITHUB_STEP_SUMMARY": (
        "file-out",
        lambda p, c: ["check", "--baseline", str(c.run), "--current", str(c.run)],
    ),
}

# the kinds each role must refuse (a missing output is created, so it is no case)
HOSTILE = {
    "file-in": ("folder", "missing", "under-a-file", "fifo", "device"),
    "folder-in": ("file", "missing", "under-a-file", "fifo", "device"),
    # a link to a missing folder: `mkdir` of the link said 'cannot create folder L: File exists'
    "folder-out": ("file", "under-a-file", "fifo", "device", "unwritable", "dangling-link"),
    "file-out": ("folder", "under-a-file", "fifo", "device", "unwritable"),
}
CASES = [(arg, kind) for arg, (role, _argv) in ARGUMENTS.items() for kind in HOSTILE[role]]


def _make(kind: str, root: Path) -> Path:
    """A path of `kind` under `root` (device and unwritable ones are the system's)."""
    if kind == "file":
        path = root / "a-file"
        path.write_text("keep me\n")
    elif kind == "folder":
        path = root / "a-folder"
        path.mkdir()
        (path / "sentinel").write_text("keep me\n")
    elif kind == "missing":
        path = root / "nothing-here"
    elif kind == "under-a-file":
        (root / "blocker").write_text("keep me\n")
        path = root / "blocker" / "child"
    elif kind == "fifo":
        path = root / "a-fifo"
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/full")
    elif kind == "dangling-link":
        path = root / "a-link"
        path.symlink_to(root / "gone")
    else:  # sysfs refuses new files to everyone, root included
        path = Path("/sys/kernel/harness-hostile-corpus/x.xml")
    return path


def _snapshot(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every entry under `root`: its type bits and, for files, its bytes."""
    out: dict[str, tuple[int, bytes | None]] = {}
    for p in sorted(root.rglob("*")):
        mode = p.lstat().st_mode
        out[str(p.relative_to(root))] = (
            stat.S_IFMT(mode),
            p.read_bytes() if stat.S_ISREG(mode) else None,
        )
    return out


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_run(
        tmp_path_factory.mktemp("hostile-paths") / "results", models={"m1": 0.9, "m2": 0.8}
    )


@pytest.mark.parametrize(("argument", "kind"), CASES, ids=[f"{a}-{k}" for a, k in CASES])
def test_a_path_of_the_wrong_kind_is_one_line(
    argument: str,
    kind: str,
    run_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    context = Context(spec=spec, run=run_folder, out=tmp_path / "out")
    path = _make(kind, scratch)
    role, argv = ARGUMENTS[argument]
    args = argv(str(path), context)
    if argument.endswith("GITHUB_STEP_SUMMARY"):
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    else:
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    before = _snapshot(scratch)
    code, _out, err = cli(*args)
    line = one_error_line(err)
    assert code == 2, (code, err)
    named = str(path) if kind != "unwritable" else str(path.parent)
    assert named in line or str(path) in line, line
    if kind == "dangling-link":
        assert "link to" in line and "does not exist" in line, line
    if argument == "run.--report":  # named as the option it is, before any job ran
        assert "--report" in line and "--out" not in line, line
        assert not context.out.exists()
    assert _snapshot(scratch) == before  # nothing created, truncated or replaced
    assert stat.S_ISCHR(Path("/dev/full").stat().st_mode)


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "{results}", "--out", "{out}"],
        ["export", "{results}", "--to", "model-index", "--out", "{out}"],
    ],
    ids=["report", "export-model-index"],
)
def test_a_refused_command_leaves_no_out_folder_behind(argv: list[str], tmp_path: Path) -> None:
    """A command refused for its results (here a folder without runs) writes nothing: the
    `--out` folder it was to create is not left behind, empty, with its parents."""
    results = tmp_path / "results"
    results.mkdir()
    out = tmp_path / "new" / "site"
    code, _out, err = cli(*(a.format(results=results, out=out) for a in argv))
    assert code == 2 and "no runs found" in one_error_line(err), err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("report", "words"),
    [
        (".", "--report {report} is the results folder --out {out}"),
        ("runs", "--report {report} is inside the runs folder of the results folder --out {out}"),
        ("..", "--report {report} holds the results folder --out {out}"),
    ],
    ids=["same", "inside", "around"],
)
def test_a_report_folder_that_shares_the_results_folder_is_refused_before_the_run(
    report: str, words: str, tmp_path: Path
) -> None:
    """`run --out res --report res` (or `res/runs`) ran every job, then refused the report: the
    results made the folder one 'no report wrote'. A report around the results folder would mix
    its pages with results. Refused by name before any job, nothing written."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    work = tmp_path / "work"
    work.mkdir()
    out = work / "res"
    site = {".": out, "runs": out / "runs", "..": work}[report]
    code, _out, err = cli("run", spec, "--out", out, "--report", site)
    line = one_error_line(err)
    assert code == 2, err
    assert words.format(report=site, out=out) in line, line
    assert "choose another --report" in line, line
    assert not out.exists() and not (work / "index.html").exists()


def test_a_report_folder_beside_the_runs_inside_the_results_folder_is_written(
    tmp_path: Path,
) -> None:
    """`harness run --report results/report` (the README's first command, `make demo`'s) was
    refused as 'inside the results folder' before the run: a run writes only under `runs/`, and
    `harness export --to mlflow` looks for the report at `results/report`."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "res"
    code, _out, err = cli("run", spec, "--out", out, "--report", out / "report", "--limit", "40")
    assert code == 0, err
    assert (out / "report" / "index.html").is_file()


PREVIOUS_REPORT = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="harness-check"/>\n'


@pytest.mark.parametrize("other", ["policy", "manifest"])
def test_junit_replaces_a_previous_report_but_never_another_file(
    other: str, run_folder: Path, tmp_path: Path
) -> None:
    """`--junit` pointed (by tab completion) at the policy or at a results file is refused
    before the gate runs, and the file is left whole; a previous JUnit report or an empty file
    is replaced."""
    results = tmp_path / "results"
    shutil.copytree(run_folder, results)
    policy = tmp_path / "gate.yaml"
    policy.write_text("alpha: 0.05\n")
    victim = policy if other == "policy" else results / "manifest.json"
    before = victim.read_bytes()
    args = ["check", "--baseline", results, "--current", results, "--policy", policy]
    code, out, err = cli(*args, "--junit", victim)
    line = one_error_line(err)
    assert code == 2 and out == "", (out, err)
    assert line == (
        f"error: --junit {victim} is a file that is not a JUnit report; it is left as it is: "
        "give another file name, or remove it first to replace it"
    )
    assert victim.read_bytes() == before
    for previous in (PREVIOUS_REPORT, ""):
        junit = tmp_path / "gate.xml"
        junit.write_text(previous)
        code, _out, err = cli(*args, "--junit", junit)
        assert code in (0, 1) and "<testcase" in junit.read_text(), err


def test_junit_given_as_a_link_writes_the_file_it_points_to(
    run_folder: Path, tmp_path: Path
) -> None:
    """A `--junit` path that is itself a link (the user's choice) writes where it points: the
    gate's exit code is the gate's, not a refusal after its table was printed."""
    target = tmp_path / "reports" / "gate.xml"
    target.parent.mkdir()
    target.write_text(PREVIOUS_REPORT)
    link = tmp_path / "gate.xml"
    link.symlink_to(target)
    code, out, err = cli(
        "check", "--baseline", run_folder, "--current", run_folder, "--junit", link
    )
    assert code in (0, 1), err
    assert link.is_symlink() and "<testcase" in target.read_text()


@pytest.mark.parametrize("target", ["junit", "summary"])
def test_a_full_disk_while_writing_is_one_line_and_keeps_the_old_file(
    target: str, run_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "old.txt"
    old.write_text(PREVIOUS_REPORT)

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    args = ["check", "--baseline", str(run_folder), "--current", str(run_folder)]
    if target == "junit":
        monkeypatch.setattr(atomic, "write_text", full)
        args += ["--junit", str(old)]
    else:
        monkeypatch.setattr(paths, "open", full, raising=False)
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(old))
    code, _out, err = cli(*args)
    line = one_error_line(err)
    assert code == 2 and "No space left on device" in line and str(old) in line, line
    assert old.read_text() == PREVIOUS_REPORT


def test_a_write_the_checks_could_not_foresee_is_one_line(
    run_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills up while the report is written: main's last line of defence."""
    from harness.present import site

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "site" / "x"))

    monkeypatch.setattr(site, "build_site", full)
    code, _out, err = cli("report", run_folder, "--out", tmp_path / "site")
    line = one_error_line(err)
    assert code == 2 and line == f"error: No space left on device: {tmp_path / 'site' / 'x'}"
    with pytest.raises(OSError, match="No space left"):
        cli("--debug", "report", run_folder, "--out", tmp_path / "site")
