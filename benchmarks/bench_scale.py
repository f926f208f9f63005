"""Leaderboard, gate, groups and report at leaderboard scale, against the floor of their reads.

For each N, `harness run` writes an N-model results folder (`generate`: callable numpy linear
models of graded noise on `digits`, accuracy suite only, `benchmarks/scale_models.py`), then each
analysis command runs as the user runs it (a fresh `python -P -m harness` process, interpreter
start-up included) and the floor is measured in this process right after: pyarrow reads every
job's `samples.parquet` and every pair's McNemar discordant counts come from one float32 matrix
product of the sample x model correctness matrix (aligned on sample ids). Absolute CPU times on a
shared machine move several-fold between processes (CONTRIBUTING.md, "The checks"): read the
ratios to the floor and between Ns, measured in the same run.

Each command's wall time, CPU time (user + system, its worker processes included) and peak
resident memory are recorded (`os.wait4`). Ratios: (time - start-up) / floor, in wall time and
in CPU time (the floor's own CPU time; steadier on a busy machine), and memory: (peak RSS - the
start-up process's peak RSS) / the per-sample data read (the in-memory size of every job's
table as Arrow reads it). Each command has its own start-up: the interpreter importing what
that command's handler imports (`COMMAND_IMPORTS`), so that the report's plotting imports are
not taken off the gate's time.

Run (from the repository root):
    python benchmarks/bench_scale.py --models 25,100,400 [--limit N] [--skip report] [--keep DIR]
`--report-warm` also times the report after one model was added to the folder (a second run
folder of one model, `add_model`), into the same site folder; the added run is removed again
afterwards. `--before DIR` times each command with the harness of another checkout as well
(e.g. a worktree of main), interleaved with this one's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
COMMANDS = ("leaderboard", "check", "groups", "report", "report_warm")
ADDED = "scale-plus"  # the name of the one-model run `add_model` writes


def spec_text(models: int, *, name: str = "scale", limit: int | None = None, first: int = 0) -> str:
    """A spec of `models` callable linear models on digits (numbered from `first`), model i
    reading its weights from weights/m<i>.npy (relative to the folder `harness run` runs in:
    `write_weights`)."""
    lines = [f"name: {name}", "seed: 0", "tasks: [digits]", "suites:", "  accuracy: {}"]
    if limit is not None:
        lines.append(f"limit: {limit}")
    lines.append("models:")
    for i in range(first, first + models):
        lines.append(
            f"  - {{name: m{i:04d}, adapter: callable, callable: "
            f'"benchmarks.scale_models:from_file", factory: true, '
            f'args: {{weights: "weights/m{i:04d}.npy"}}, outputs: logits, '
            "input_format: numpy, modality: image}"
        )
    return "\n".join(lines) + "\n"


def write_weights(models: int, folder: Path, *, draw: int = 0, first: int = 0) -> None:
    """weights/m<i>.npy under `folder` for i in [first, first + models): noise graded from 0.05
    to 0.65 over models 0..models-1 (a model past them gets 0.35); `draw` changes every model's
    noise seed (the same models, retrained: the same spec)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from benchmarks.scale_models import noisy_weights

    (folder / "weights").mkdir(parents=True, exist_ok=True)
    for i in range(first, first + models):
        noise = 0.05 + 0.6 * i / max(models - 1, 1) if first == 0 else 0.35
        np.save(folder / "weights" / f"m{i:04d}.npy", noisy_weights(i + 1000 * draw, noise))


def environment(source: Path = REPO) -> dict[str, str]:
    """One thread, hub unreachable, `harness` imported from `source` (a checkout)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", HARNESS_HUB_UNREACHABLE="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    return env


@dataclass(frozen=True)
class Timing:
    """One process: wall and CPU seconds (its waited-for workers included), peak RSS in MiB."""

    wall: float
    cpu: float
    rss: float


def timed(args: list[str], *, cwd: Path, source: Path, ok: tuple[int, ...] = (0,)) -> Timing:
    """Run `args` (a python command line) with the harness of `source`; its Timing."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            args, cwd=cwd, env=environment(source), stdout=subprocess.DEVNULL, stderr=err
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - start
        if proc.returncode not in ok:
            err.seek(0)
            tail = err.read()[-2000:].decode(errors="replace")
            sys.exit(f"{' '.join(args)} failed ({proc.returncode}):\n{tail}")
    # ru_maxrss is in KiB on Linux
    return Timing(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def harness(*args: str, cwd: Path = REPO, source: Path = REPO) -> Timing:
    """`python -m harness args...` (from the repository root, the harness of `source`); check's
    exit 1 (a regression) is not a crash."""
    # -P: the working folder is not put first on sys.path, so `source` is the harness imported
    return timed([sys.executable, "-P", "-m", "harness", *args], cwd=cwd, source=source, ok=(0, 1))


# What each command's handler imports (harness/cli/<command>.py; tests/cli/test_bench_scale.py
# keeps the two alike), and pyarrow.parquet, which the floor imports before it is timed: a
# command's start-up. The report's (matplotlib, jinja2) is 0.8-0.9 s of CPU that check and
# groups never import; one start-up for all put it under theirs.
COMMAND_IMPORTS = {
    "leaderboard": (
        "harness.analysis.leaderboard",
        "harness.present.escaping",
        "harness.present.leaderboard_view",
        "harness.present.tables",
        "harness.run.suite_boards",
    ),
    "check": ("harness.present.check_view", "harness.present.junit", "harness.run.api_gate"),
    "groups": (
        "harness.analysis.setting_words",
        "harness.analysis.stored_groups",
        "harness.present.escaping",
        "harness.present.groups_view",
        "harness.present.tables",
        "harness.run.api_groups",
    ),
    "report": (
        "harness.present.api_report",
        "harness.present.escaping",
        "harness.present.tables",
        "harness.run.interrupts",
        "harness.run.suite_boards",
    ),
}


def startup(command: str) -> Timing:
    """Starting the interpreter and importing what `command` imports before it reads any data
    (`COMMAND_IMPORTS`)."""
    imports = ", ".join(("harness.cli.main", "pyarrow.parquet", *COMMAND_IMPORTS[command]))
    return timed([sys.executable, "-P", "-c", f"import {imports}"], cwd=REPO, source=REPO)


def startups(rounds: int = 3) -> dict[str, Timing]:
    """Each command's start-up, best of `rounds` (wall, CPU and RSS each), the commands
    alternating."""
    runs: dict[str, list[Timing]] = {name: [] for name in COMMAND_IMPORTS}
    for _ in range(rounds):
        for name in COMMAND_IMPORTS:
            runs[name].append(startup(name))
    return {
        name: Timing(min(t.wall for t in ts), min(t.cpu for t in ts), min(t.rss for t in ts))
        for name, ts in runs.items()
    }


def generate(
    models: int, out: Path, *, limit: int | None = None, name: str = "scale", draw: int = 0
) -> tuple[Path, float]:
    """An N-model results folder written by `harness run`; (its run folder, the run's time)."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    spec = out / f"{name}-{models}.yaml"
    spec.write_text(spec_text(models, name=name, limit=limit))
    write_weights(models, out, draw=draw)
    before = set((out / "runs").glob("*")) if (out / "runs").exists() else set()
    seconds = harness(
        "run", str(spec), "--out", str(out), "--no-cache", "--width", "0", cwd=out
    ).wall
    (run,) = set((out / "runs").glob("*")) - before
    return run, seconds


def add_model(folder: Path, index: int, *, limit: int | None = None) -> Path:
    """One more model (m<index>) evaluated into the results folder `folder` as a run of its own
    (`ADDED`): its board is the others' (same task data and suite config). Its run folder."""
    folder = folder.resolve()
    spec = folder / f"{ADDED}.yaml"
    spec.write_text(spec_text(1, name=ADDED, limit=limit, first=index))
    write_weights(1, folder, first=index)
    before = set((folder / "runs").glob("*"))
    harness("run", str(spec), "--out", str(folder), "--no-cache", "--width", "0", cwd=folder)
    (run,) = set((folder / "runs").glob("*")) - before
    return run


def floor(run: Path) -> float:
    """pyarrow reads of every samples.parquet + every pair's McNemar counts, in seconds."""
    import pyarrow.parquet as pq

    start = time.perf_counter()
    columns = []
    ids: np.ndarray | None = None
    for path in sorted(run.glob("jobs/*/samples.parquet")):
        table = pq.read_table(path, columns=["sample_id", "condition", "correct"])
        clean = table.filter(table.column("condition").to_numpy(zero_copy_only=False) == "clean")
        sid = clean.column("sample_id").to_numpy(zero_copy_only=False)
        order = np.argsort(sid, kind="stable")
        if ids is None:
            ids = sid[order]
        elif not np.array_equal(ids, sid[order]):
            raise SystemExit(f"{path}: other sample ids")
        columns.append(clean.column("correct").to_numpy(zero_copy_only=False)[order])
    c = np.asarray(columns, dtype=np.float32)  # models x samples
    only_first = c @ (1.0 - c).T  # [i, j]: right only in i
    assert only_first.shape == (len(columns), len(columns))
    return time.perf_counter() - start


def floor_timing(run: Path) -> Timing:
    """The floor's best of three, wall and CPU (this process)."""
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(3):
        cpu = time.process_time()
        best_wall = min(best_wall, floor(run))
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return Timing(best_wall, best_cpu, 0.0)


def data_mib(run: Path) -> float:
    """The per-sample data of the run: every job's table in memory as Arrow reads it, MiB."""
    import pyarrow.parquet as pq

    return sum(pq.read_table(p).nbytes for p in run.glob("jobs/*/samples.parquet")) / 2**20


def measure(models: int, work: Path, args: argparse.Namespace) -> dict[str, Timing]:
    """Every timing of one N; with `--before DIR`, each command also runs with the harness of
    that checkout (`<command>_before`), the two interleaved."""
    folder = work / f"n{models}"
    for stale in (folder / "runs").glob(f"{ADDED}-*") if (folder / "runs").exists() else []:
        shutil.rmtree(stale)  # a previous benchmark's added model
    runs = sorted((folder / "runs").glob("scale-*")) if (folder / "runs").exists() else []
    if runs and args.keep is not None:  # a kept folder is reused (no run time measured)
        run, seconds = runs[0], float("nan")
    else:
        run, seconds = generate(models, folder, limit=args.limit)
    row = {"run": Timing(seconds, float("nan"), 0.0)}
    sources = [("", REPO)] + ([("_before", args.before)] if args.before else [])
    commands = {
        "leaderboard": ("leaderboard", str(run), "--format", "json", "--width", "0"),
        "check": ("check", "--baseline", str(run), "--current", str(run), "--width", "0"),
        "groups": ("groups", str(run), "--by", "label", "--width", "0"),
    }
    for name, command in commands.items():
        if name not in args.skip:
            for suffix, source in sources:
                row[name + suffix] = harness(*command, source=source)
    if "report" not in args.skip:
        for suffix, source in sources:
            site = folder / f"site{suffix}"
            shutil.rmtree(site, ignore_errors=True)
            report = ("report", str(folder), "--out", str(site), "--width", "0")
            row["report" + suffix] = harness(*report, source=source)
            if args.report_warm:  # one model added, into the same site
                added = add_model(folder, models, limit=args.limit)
                try:
                    row["report_warm" + suffix] = harness(*report, source=source)
                finally:
                    shutil.rmtree(added)
    row["floor"] = floor_timing(run)
    row["data"] = Timing(0.0, 0.0, data_mib(run))
    return row


def _line(n: int, name: str, t: Timing, start: Timing, row: dict[str, Timing]) -> str:
    """A table row: times, their ratios to the floor, memory above start-up per data read."""
    floor_t, data = row["floor"], row["data"].rss
    cells = (
        f"| {n} | {name} | {t.wall:.2f} | {(t.wall - start.wall) / floor_t.wall:.1f} | "
        f"{t.cpu:.2f} | {(t.cpu - start.cpu) / floor_t.cpu:.1f} | "
        f"{t.rss - start.rss:.0f} | {(t.rss - start.rss) / data:.2f} |"
    )
    before = row.get(f"{name}_before")
    if before is not None:
        cells += (
            f" {before.wall:.2f} | {before.wall / t.wall:.2f} | {before.cpu:.2f} | "
            f"{before.cpu / t.cpu:.2f} |"
        )
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="25,100,400", help="comma-separated Ns")
    parser.add_argument("--limit", type=int, default=None, help="samples per task (all: 719)")
    parser.add_argument("--skip", default="", help="commands to leave out, comma-separated")
    parser.add_argument(
        "--report-warm", action="store_true", help="also the report after one model is added"
    )
    parser.add_argument(
        "--before", type=Path, default=None, help="a checkout to time as well (e.g. main)"
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep the folders here")
    args = parser.parse_args()
    args.skip = set(filter(None, args.skip.split(",")))
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    starts = startups()
    for name, start in starts.items():
        print(
            f"start-up of {name} (interpreter + its imports, best of 3): {start.wall:.2f} s "
            f"wall, {start.cpu:.2f} s CPU, {start.rss:.0f} MiB"
        )
    print(
        "| N | command | wall (s) | (wall - start-up) / floor | CPU (s) | (CPU - start-up) / "
        "floor CPU | MiB above start-up | / data MiB |"
        + (
            " before wall (s) | before / after | before CPU (s) | before / after CPU |"
            if args.before
            else ""
        )
    )
    try:
        for n in (int(x) for x in args.models.split(",")):
            row = measure(n, work, args)
            floor_t, data = row["floor"], row["data"].rss
            print(f"| {n} | run | {row['run'].wall:.1f} | | | | | |", flush=True)
            print(
                f"| {n} | floor | {floor_t.wall:.3f} | 1 | {floor_t.cpu:.3f} | 1 | "
                f"{data:.1f} (data read) | |",
                flush=True,
            )
            for name in COMMANDS:
                if name in row:
                    start = starts[name.removesuffix("_warm")]
                    print(_line(n, name, row[name], start, row), flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
