"""Leaderboard, gate, groups and report at leaderboard scale, against the floor of their reads.

For each N, `harness run` writes an N-model results folder (`generate`: callable numpy linear
models of graded noise on `digits`, accuracy suite only, `benchmarks/scale_models.py`), then each
analysis command runs as the user runs it (a fresh `harness` process, interpreter start-up
included) and the floor is measured in this process right after: pyarrow reads every job's
`samples.parquet` and every pair's McNemar discordant counts come from one float32 matrix
product of the sample x model correctness matrix (aligned on sample ids). Absolute CPU times on a
shared machine move several-fold between processes (CONTRIBUTING.md, "The checks"): read the
ratios to the floor and between Ns, measured in the same run.

Run (from the repository root):
    python benchmarks/bench_scale.py --models 25,100,400 [--limit N] [--skip report] [--keep DIR]
`--report-warm` also times a second report of the same folder into the same site folder;
`--before DIR` times each command with the harness of another checkout as well (e.g. a worktree
of main), interleaved with this one's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
HARNESS = Path(sys.executable).with_name("harness")
COMMANDS = ("leaderboard", "check", "groups", "report")


def spec_text(models: int, *, name: str = "scale", limit: int | None = None) -> str:
    """A spec of `models` callable linear models on digits, model i reading its weights from
    weights/m<i>.npy (relative to the folder `harness run` runs in: `write_weights`)."""
    lines = [f"name: {name}", "seed: 0", "tasks: [digits]", "suites:", "  accuracy: {}"]
    if limit is not None:
        lines.append(f"limit: {limit}")
    lines.append("models:")
    for i in range(models):
        lines.append(
            f"  - {{name: m{i:04d}, adapter: callable, callable: "
            f'"benchmarks.scale_models:from_file", factory: true, '
            f'args: {{weights: "weights/m{i:04d}.npy"}}, outputs: logits, '
            "input_format: numpy, modality: image}"
        )
    return "\n".join(lines) + "\n"


def write_weights(models: int, folder: Path, *, draw: int = 0) -> None:
    """weights/m<i>.npy under `folder`: noise graded from 0.05 to 0.65 over the models; `draw`
    changes every model's noise seed (the same models, retrained: the same spec)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from benchmarks.scale_models import noisy_weights

    (folder / "weights").mkdir(parents=True, exist_ok=True)
    for i in range(models):
        noise = 0.05 + 0.6 * i / max(models - 1, 1)
        np.save(folder / "weights" / f"m{i:04d}.npy", noisy_weights(i + 1000 * draw, noise))


def environment(source: Path = REPO) -> dict[str, str]:
    """One thread, hub unreachable, `harness` imported from `source` (a checkout)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", HARNESS_HUB_UNREACHABLE="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    return env


def harness(*args: str, cwd: Path = REPO, source: Path = REPO) -> float:
    """Run `harness args...` (from the repository root, the harness of `source`); its wall time
    in seconds."""
    start = time.perf_counter()
    done = subprocess.run(
        [str(HARNESS), *args], cwd=cwd, env=environment(source), capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):  # check exits 1 on a regression, which is not a crash
        sys.exit(f"harness {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def _startup() -> float:
    """Seconds to start the interpreter and import what the analysis commands import."""
    start = time.perf_counter()
    imports = "import harness.cli.main, harness.analysis.check, harness.analysis.groups, "
    imports += "harness.analysis.leaderboard, harness.present.site"
    subprocess.run([sys.executable, "-c", imports], cwd=REPO, env=environment(), check=True)
    return time.perf_counter() - start


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
    seconds = harness("run", str(spec), "--out", str(out), "--no-cache", "--width", "0", cwd=out)
    (run,) = set((out / "runs").glob("*")) - before
    return run, seconds


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


def measure(models: int, work: Path, args: argparse.Namespace) -> dict[str, float]:
    """Every timing of one N; with `--before DIR`, each command also runs with the harness of
    that checkout (`<command>_before`), the two interleaved."""
    folder = work / f"n{models}"
    runs = sorted((folder / "runs").glob("scale-*")) if (folder / "runs").exists() else []
    if runs and args.keep is not None:  # a kept folder is reused (no run time measured)
        run, seconds = runs[0], float("nan")
    else:
        run, seconds = generate(models, folder, limit=args.limit)
    row = {"run": seconds}
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
            report = ("report", str(run), "--out", str(site), "--width", "0")
            row["report" + suffix] = harness(*report, source=source)
            if args.report_warm:  # the same folder again into the same site
                row["report_again" + suffix] = harness(*report, source=source)
    row["floor"] = min(floor(run) for _ in range(3))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="25,100,400", help="comma-separated Ns")
    parser.add_argument("--limit", type=int, default=None, help="samples per task (all: 719)")
    parser.add_argument("--skip", default="", help="commands to leave out, comma-separated")
    parser.add_argument(
        "--report-warm", action="store_true", help="also a second report into the same site"
    )
    parser.add_argument(
        "--before", type=Path, default=None, help="a checkout to time as well (e.g. main)"
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep the folders here")
    args = parser.parse_args()
    args.skip = set(filter(None, args.skip.split(",")))
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    startup = min(_startup() for _ in range(3))
    print(f"start-up (interpreter + the analysis and report imports, best of 3): {startup:.2f} s")
    print(
        "| N | command | seconds | (seconds - start-up) / floor |"
        + (" before | before / after |" if args.before else "")
    )
    try:
        for n in (int(x) for x in args.models.split(",")):
            row = measure(n, work, args)
            print(f"| {n} | run | {row['run']:.1f} | |", flush=True)
            print(f"| {n} | floor | {row['floor']:.2f} | 1 |", flush=True)
            for name in (*COMMANDS, "report_again"):
                if name not in row:
                    continue
                cells = f"| {n} | {name} | {row[name]:.2f} | "
                cells += f"{(row[name] - startup) / row['floor']:.1f} |"
                if f"{name}_before" in row:
                    before = row[f"{name}_before"]
                    cells += f" {before:.2f} | {before / row[name]:.1f} |"
                print(cells, flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
