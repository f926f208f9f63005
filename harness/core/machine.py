"""The machine a number is measured on: its CPU model, named by the run's environment record
(`harness.run.environment`) and by the throughput suite's, and the CPUs this process may use."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def affinity_count() -> int:
    """CPUs this process may run on (its affinity mask), else the machine's CPU count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)
