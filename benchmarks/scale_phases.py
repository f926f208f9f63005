"""Where `harness check` and `harness groups` spend their CPU on a results folder, in process.

The command runs as the CLI runs it (`harness.cli.main.main`), after its handler's imports
(`bench_scale.COMMAND_IMPORTS`), with named functions wrapped to add up their CPU time
(`time.process_time`, inclusive: a wrapped function called inside another counts in both).
The first call is what a user's process pays (caches empty: the MDE search, the id orders);
later ones show what is kept across calls. Wrapping costs about a microsecond a call.

Run (from the repository root), on a folder `bench_scale.py --keep DIR` wrote:
    python benchmarks/scale_phases.py check DIR/n400/runs/scale-<id> [--reps 2] [--current RUN]
    python benchmarks/scale_phases.py groups DIR/n400/runs/scale-<id> [--wrap module:Class.name]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import io
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

# module:qualified name, where the caller looks the function up (a name imported into a module
# is wrapped there, so that the wrapper is what that module calls)
PHASES = {
    "check": (
        "harness.analysis.check:load_run",
        "harness.analysis.gate_runs:LoadedRun.table",
        "harness.analysis.paired_tests:per_sample",
        "harness.stats.calibration:counted_debiased_ece",
        "harness.stats.calibration:_keyed_sums",
        "harness.analysis.paired_tests:paired_resample",
        "harness.analysis.paired_tests:paired_sign_flip",
        "harness.analysis.paired_tests:mcnemar",
        "harness.analysis.check:decide",
        "harness.run.api_gate:run_check",
        "harness.present.check_view:render_table",
    ),
    "groups": (
        "harness.run.api_groups:load_jobs",
        "harness.analysis.stored_groups:_kept_plan",
        "harness.store.run_store:StoredJob.table",
        "harness.analysis.stored_groups:_job_rows",
        "harness.run.api_groups:stored_group_rows",
        "harness.present.groups_view:render",
    ),
}


def wrap(spec: str, spent: dict[str, float], calls: dict[str, int]) -> None:
    """Replace the function `spec` names ("module:Qual.name") by one that adds its CPU time."""
    module, qualname = spec.split(":")
    owner: Any = importlib.import_module(module)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    inner: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(inner)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[qualname] += time.process_time() - start
            calls[qualname] += 1

    setattr(owner, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=sorted(PHASES))
    parser.add_argument("run", type=Path, help="a run folder (results/runs/<id>)")
    parser.add_argument("--reps", type=int, default=1, help="calls in this process")
    parser.add_argument(
        "--current", type=Path, default=None, help="check: the current run (default: RUN again)"
    )
    parser.add_argument("--wrap", action="append", default=[], help="module:Qual.name (more)")
    args = parser.parse_args()
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from benchmarks.bench_scale import COMMAND_IMPORTS

    for module in ("harness.cli.main", "pyarrow.parquet", *COMMAND_IMPORTS[args.command]):
        importlib.import_module(module)
    cli = sys.modules["harness.cli.main"]
    run = str(args.run)
    current = str(args.current or args.run)
    argv = {
        "check": ["check", "--baseline", run, "--current", current, "--width", "0"],
        "groups": ["groups", run, "--by", "label", "--width", "0"],
    }[args.command]
    spent: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    for spec in (*PHASES[args.command], *args.wrap):
        wrap(spec, spent, calls)
    for rep in range(args.reps):
        spent.clear()
        calls.clear()
        start = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            cli.main(argv)
        total = time.process_time() - start
        print(f"call {rep + 1}: {total:.3f} s of CPU")
        for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<40} {seconds:7.3f} s  {calls[name]:5d} calls")


if __name__ == "__main__":
    main()
