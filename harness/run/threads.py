"""How many CPU threads a job gets: chosen per job, overridable, never part of a job's key.

Torch's intra-op threads spin while they wait for work; on a CPU shared with other busy processes
they fight each other and the other processes, and a small model or per-sample work can run tens
of times slower than on one thread (the quickstart: 17 s quiet, 22 min busy with the default
threads, 56 s busy with one). So the harness picks threads per job:

- `--threads N` / `threads: N` in the spec: N for every job;
- a model with fewer than `SMALL_MODEL_PARAMETERS` parameters: one thread (it cannot use more);
- a model that runs outside torch (no parameter count: ONNX, scikit-learn, a callable): one thread
  (torch only does the suite's per-sample work around it);
- otherwise the CPUs this process may use: its CPU affinity, capped by the cgroup CPU quota
  (a container limited to 2 CPUs on a 64-core host gets 2, not 64).

The count never changes a number (tests compare tables across counts), so it is recorded in the
manifest and the job record but is not part of the job key. Within a job the count applies to
torch's intra-op pool and, through threadpoolctl, to the BLAS and OpenMP pools numpy and
scikit-learn use.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.core.machine import affinity_count

SMALL_MODEL_PARAMETERS = 1_000_000
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class CpuBudget:
    """The CPUs this process may use: affinity, cgroup quota (CPUs, None: unlimited), budget."""

    affinity: int
    quota: float | None
    cpus: int  # min(affinity, floor(quota)), at least 1

    def describe(self) -> str:
        quota = "no quota" if self.quota is None else f"cgroup quota {self.quota:g} CPUs"
        return f"{self.cpus} CPU(s) (affinity {self.affinity}, {quota})"


@dataclass(frozen=True)
class ThreadChoice:
    """The threads a job runs with, and why (shown with --verbose, recorded in the job record)."""

    threads: int
    reason: str


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _v2_quota(folder: Path) -> float | None:
    """`cpu.max` of a cgroup v2 folder: "quota period" or "max period"."""
    text = _read(folder / "cpu.max")
    if text is None:
        return None
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _v1_quota(folder: Path) -> float | None:
    """`cpu.cfs_quota_us / cpu.cfs_period_us` of a cgroup v1 cpu folder (-1: unlimited)."""
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    try:
        q, p = float(quota or ""), float(period or "")
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def _own_cgroups(proc_cgroup: Path) -> dict[str, str]:
    """controller -> cgroup path of this process ("" is the v2 unified hierarchy)."""
    text = _read(proc_cgroup) or ""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                out[controller] = parts[2]
    return out


def _ancestors(root: Path, relative: str) -> Iterator[Path]:
    """The cgroup folder of `relative` under `root` and every parent up to `root`."""
    folder = root / relative.lstrip("/")
    while True:
        yield folder
        if folder == root or root not in folder.parents:
            return
        folder = folder.parent


def cgroup_quota(
    root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")
) -> float | None:
    """The tightest CPU quota (in CPUs) on this process's cgroup or its parents; None: none."""
    cgroups = _own_cgroups(proc_cgroup)
    quotas: list[float] = []
    if "" in cgroups:  # cgroup v2
        quotas += [q for f in _ancestors(root, cgroups[""]) if (q := _v2_quota(f)) is not None]
    for controller in ("cpu", "cpu,cpuacct"):
        if controller in cgroups:
            for base in (root / "cpu", root / "cpu,cpuacct"):
                if base.is_dir():
                    quotas += [
                        q
                        for f in _ancestors(base, cgroups[controller])
                        if (q := _v1_quota(f)) is not None
                    ]
    return min(quotas) if quotas else None


def cpu_budget() -> CpuBudget:
    """The CPUs this process may keep busy: affinity, capped by the cgroup quota."""
    affinity = affinity_count()
    quota = cgroup_quota()
    cpus = affinity if quota is None else min(affinity, max(1, math.floor(quota)))
    return CpuBudget(affinity=affinity, quota=quota, cpus=max(1, cpus))


def choose_threads(
    *, requested: int | None, parameters: int | None, device_type: str, budget: CpuBudget
) -> ThreadChoice:
    """Threads for one job (see the module docstring for the rules)."""
    if requested is not None:
        return ThreadChoice(requested, f"set to {requested} (--threads / threads:)")
    if device_type != "cpu":
        return ThreadChoice(budget.cpus, f"{device_type} job: {budget.describe()}")
    if parameters is None:
        return ThreadChoice(1, "the model runs outside torch: one thread for per-sample work")
    if parameters < SMALL_MODEL_PARAMETERS:
        return ThreadChoice(1, f"small model ({parameters:,} parameters): one thread")
    return ThreadChoice(budget.cpus, f"{parameters:,} parameters: {budget.describe()}")


@contextmanager
def using_threads(threads: int | None) -> Iterator[None]:
    """Run the block with `threads` intra-op threads in torch, BLAS and OpenMP; restore after.
    None leaves every setting as it is."""
    if threads is None:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(before)
