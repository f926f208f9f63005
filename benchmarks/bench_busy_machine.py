"""Benchmark: the quickstart on a quiet CPU and with busy processes competing for the same cores.

Torch's intra-op threads spin while they wait; with other CPU-bound processes on the same cores
they fight them and each other (issue 17: the quickstart took 17 s quiet and 22 min busy with
torch's default threads). This script runs `harness run` (the quickstart, or the subset given)
as a child process, each time into a fresh results folder, in four settings interleaved round
by round so that drifts of the machine hit every setting alike:

    threads auto   quiet      the harness's own choice (harness/run/threads.py), nothing else running
    threads auto   busy       the same, with --busy spinning processes pinned to the same CPUs
    threads N      quiet      every job with N threads (N: the CPUs this process may use),
    threads N      busy       i.e. torch's default before the harness chose threads per job

and reports the median wall time of each and the busy/quiet ratio per thread setting (target for
the harness's choice: within 3x). Each round also times a single-threaded reference (pure
Python arithmetic in a child process) quiet and busy: its ratio is the floor any single-threaded
job can reach on this machine at this moment (with 4 spinners on 2 otherwise idle cores, 5
runnable threads share 2 cores: 2.5x). OMP_NUM_THREADS and MKL_NUM_THREADS are removed from the
children's environment (they would pin torch to their value). Run from the repository root:

    python benchmarks/bench_busy_machine.py [--rounds 2] [--busy 4] [--timeout 1800]
        [--models digits-mlp@int8,digits-cnn] [--tasks digits] [--suites accuracy,adversarial]

`--worker-overhead` measures instead what a job time limit costs: the same runs (quiet, threads
auto) in the driver process and with `--job-timeout 1h` (each job in a worker process),
interleaved, with the ratio of wall times and of summed job times.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.run.threads import cpu_budget  # noqa: E402


def spin() -> None:
    """A CPU-bound competitor: pure Python arithmetic forever (killed by the parent)."""
    x = 0
    while True:
        x = (x * 1103515245 + 12345) % 2147483648


def start_busy(count: int) -> list[multiprocessing.Process]:
    cpus = os.sched_getaffinity(0)
    procs = [multiprocessing.Process(target=spin, daemon=True) for _ in range(count)]
    for p in procs:
        p.start()
        assert p.pid is not None
        os.sched_setaffinity(p.pid, cpus)  # the same cores the harness runs on
    time.sleep(1.0)  # let them reach full speed
    return procs


def stop_busy(procs: list[multiprocessing.Process]) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        p.join()


REFERENCE = "x = 0\nfor i in range(30_000_000):\n    x = (x * 1103515245 + 12345) % 2147483648\n"


def run_reference() -> tuple[float, float, str]:
    """Wall seconds of a fixed single-threaded CPU workload in a child process."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", REFERENCE], check=True)
    wall = time.perf_counter() - started
    return wall, wall, "ok"


def run_quickstart(
    args: argparse.Namespace, threads: int | None, extra: tuple[str, ...] = ()
) -> tuple[float, float, str]:
    """(wall seconds, sum of job seconds, status) of one `harness run` into a fresh folder."""
    out = Path(tempfile.mkdtemp(prefix="bench-busy-"))
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["HARNESS_NO_CACHE"] = "1"  # every round computes its jobs (not copied from the cache)
    cmd = [sys.executable, "-m", "harness", "run", "--out", str(out), "--device", "cpu"]
    for flag in ("models", "tasks", "suites"):
        if getattr(args, flag):
            cmd += [f"--{flag}", getattr(args, flag)]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    cmd += list(extra)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=args.timeout
        )
        status = "ok" if done.returncode == 0 else f"exit {done.returncode}"
    except subprocess.TimeoutExpired:
        status = f"timed out after {args.timeout} s"
    wall = time.perf_counter() - started
    jobs = 0.0
    for manifest in out.glob("runs/*/manifest.json"):
        jobs += sum(j["seconds"] for j in json.loads(manifest.read_text())["jobs"])
    shutil.rmtree(out, ignore_errors=True)
    return wall, jobs, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--busy", type=int, default=4, help="competing spinning processes")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per run, seconds")
    parser.add_argument("--models", help="only these models (default: the whole quickstart)")
    parser.add_argument("--tasks")
    parser.add_argument("--suites")
    parser.add_argument("--worker-overhead", action="store_true")
    parser.add_argument(
        "--auto-only", action="store_true", help="skip the fixed-threads runs (they are slow)"
    )
    args = parser.parse_args()
    if args.worker_overhead:
        worker_overhead(args)
        return
    cpus = cpu_budget().cpus
    settings: list[tuple[str, int | None]] = [("reference", -1), ("auto", None)]
    if not args.auto_only:
        settings.append((f"{cpus} (torch default)", cpus))
    results: dict[tuple[str, str], list[tuple[float, float, str]]] = {}
    print(f"cpus {cpus}; busy processes {args.busy}; rounds {args.rounds}", flush=True)
    for r in range(args.rounds):
        for label, threads in settings:
            for load in ("quiet", "busy"):
                procs = start_busy(args.busy) if load == "busy" else []
                try:
                    got = run_reference() if threads == -1 else run_quickstart(args, threads)
                finally:
                    stop_busy(procs)
                results.setdefault((label, load), []).append(got)
                print(
                    f"round {r + 1}: threads {label:<18} {load:<5} wall {got[0]:7.1f} s  "
                    f"jobs {got[1]:7.1f} s  {got[2]}",
                    flush=True,
                )
    print()
    print(
        f"{'threads':<20} {'quiet wall':>11} {'busy wall':>11} {'busy/quiet':>11} {'jobs ratio':>11}"
    )
    for label, _ in settings:
        quiet = results[(label, "quiet")]
        busy = results[(label, "busy")]
        qw, bw = statistics.median(q[0] for q in quiet), statistics.median(b[0] for b in busy)
        qj, bj = statistics.median(q[1] for q in quiet), statistics.median(b[1] for b in busy)
        print(
            f"{label:<20} {qw:10.1f}s {bw:10.1f}s {bw / qw:10.2f}x "
            f"{(bj / qj if qj else float('nan')):10.2f}x"
        )


def worker_overhead(args: argparse.Namespace) -> None:
    """In-process jobs versus jobs in a worker process (a time limit), interleaved."""
    modes = {"in-process": (), "worker (--job-timeout 1h)": ("--job-timeout", "1h")}
    got: dict[str, list[tuple[float, float, str]]] = {m: [] for m in modes}
    for r in range(args.rounds):
        for mode, extra in modes.items():
            got[mode].append(run_quickstart(args, None, extra))
            wall, jobs, status = got[mode][-1]
            print(f"round {r + 1}: {mode:<26} wall {wall:7.1f} s  jobs {jobs:7.1f} s  {status}")
    base, iso = got["in-process"], got["worker (--job-timeout 1h)"]
    wall = statistics.median(i[0] for i in iso) / statistics.median(b[0] for b in base)
    jobs = statistics.median(i[1] for i in iso) / statistics.median(b[1] for b in base)
    print(f"\nworker / in-process: wall {wall:.2f}x, jobs {jobs:.2f}x (medians)")


if __name__ == "__main__":
    main()
