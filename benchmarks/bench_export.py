"""`harness export RESULTS --to mlflow` on a results folder of the quickstart's size: wall time,
and the ratio against logging the same numbers with a plain MlflowClient loop.

The results folder is the committed quickstart baseline (50 jobs, 42 completed: 8,569 metric
values with their interval bounds and sample sizes, 84 per-sample tables and job files), or
the folder given. Three timings, each into a fresh SQLite store in a temporary folder:

- `cli`: the whole command as a user runs it (`harness export RESULTS --to mlflow`), in a new
  process: Python and MLflow imports, the database's creation, reading and checking the
  results, logging every run; then a second, idempotent export (nothing logged twice), and the
  creation of an empty store alone (MLflow's own set-up of its tables), each with its CPU time
  (wall time on a shared machine also counts other processes and the disk's syncs).
- `export` vs `plain`, interleaved in one process: `export_mlflow` into a store that already
  exists (its database created beforehand), against a loop of MlflowClient calls (create_run,
  one log_batch with the same metrics, params and tags, the same artifacts, set_terminated) on
  numbers read beforehand: the export's own cost over what MLflow itself needs.

    OMP_NUM_THREADS=1 python benchmarks/bench_export.py [RESULTS] [--reps 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.export.exported_jobs import ExportedJob, exported_jobs
from harness.export.mlflow_export import export_mlflow

QUICKSTART = Path(__file__).resolve().parent.parent / "results" / "baselines" / "quickstart"


def fresh_store(folder: Path) -> str:
    """A SQLite tracking URI whose database exists (tables created) in `folder`."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    MlflowClient(tracking_uri=uri).search_experiments()
    return uri


def plain_loop(uri: str, jobs: list[ExportedJob]) -> None:
    """The same numbers logged with bare MlflowClient calls (everything read beforehand)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment(
        "plain", artifact_location=(Path(uri[10:]).parent / "a").as_uri()
    )
    stamp = int(time.time() * 1000)
    for job in jobs:
        run = client.create_run(experiment, tags=job.tags())
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, stamp, 0) for k, v in job.metrics().items()],
            params=[Param(k, v) for k, v in job.params().items()],
        )
        for name in ("samples.parquet", "job.json", "metrics.json"):
            if (job.job.path / name).is_file():
                client.log_artifact(run.info.run_id, str(job.job.path / name))
        client.set_terminated(run.info.run_id, "FINISHED")


def timed_command(args: list[str], folder: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of a child process."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": ""}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def timed_cli(results: Path, folder: Path) -> list[tuple[str, float, float]]:
    harness = str(Path(sys.executable).parent / "harness")
    create = (
        "from mlflow import MlflowClient; MlflowClient('sqlite:///created.db').search_experiments()"
    )
    export = [harness, "export", str(results), "--to", "mlflow"]
    return [
        ("`harness export --to mlflow`, new store, whole command", *timed_command(export, folder)),
        ("the same command again (nothing to log)", *timed_command(export, folder)),
        (
            "of which: creating an MLflow SQLite store alone",
            *timed_command([sys.executable, "-c", create], folder),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, default=QUICKSTART)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    jobs = exported_jobs(args.results)
    for job in jobs:  # read and check everything once, so the plain loop only logs
        job.metrics(), job.params(), job.tags()
    n_values = sum(len(job.metrics()) for job in jobs)
    print(f"{args.results}: {len(jobs)} completed jobs, {n_values} metric values")

    ours: list[float] = []
    plain: list[float] = []
    for rep in range(args.reps):
        for kind in ("export", "plain") if rep % 2 == 0 else ("plain", "export"):
            with tempfile.TemporaryDirectory() as tmp:
                uri = fresh_store(Path(tmp))
                start = time.perf_counter()
                if kind == "export":
                    export_mlflow(args.results, tracking_uri=uri)
                    ours.append(time.perf_counter() - start)
                else:
                    plain_loop(uri, jobs)
                    plain.append(time.perf_counter() - start)
    ratios = [a / b for a, b in zip(ours, plain, strict=True)]
    print(f"export into an existing store: median {statistics.median(ours):.2f} s {_runs(ours)}")
    print(f"plain MlflowClient loop:       median {statistics.median(plain):.2f} s {_runs(plain)}")
    print(f"ratio export / plain: median {statistics.median(ratios):.3f} {_runs(ratios, 3)}")

    with tempfile.TemporaryDirectory() as tmp:
        for what, wall, cpu in timed_cli(args.results, Path(tmp)):
            print(f"{what}: {wall:.2f} s wall, {cpu:.2f} s CPU")


def _runs(values: list[float], digits: int = 2) -> str:
    return "(" + ", ".join(f"{v:.{digits}f}" for v in values) + ")"


if __name__ == "__main__":
    main()
