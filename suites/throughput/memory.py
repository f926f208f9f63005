"""Peak memory during a measurement.

CUDA: `torch.cuda.max_memory_allocated` after `reset_peak_memory_stats` (tensors the caching
allocator handed out: weights, inputs, activations). CPU: the process's peak resident set size.
On Linux the peak (VmHWM) is reset before each condition by writing 5 to /proc/self/clear_refs;
where that is not possible it is the process-lifetime peak from `resource.getrusage`, and the
method string says so. `available_host_bytes` is what the kernel says could still be allocated
(MemAvailable), checked before a batch is built in host memory.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import torch

MB = float(1 << 20)
_STATUS = Path("/proc/self/status")
_MEMINFO = Path("/proc/meminfo")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak(device: torch.device) -> str:
    """Start a new peak window; returns how the next `read_peak_mb` is measured."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        return "torch.cuda.max_memory_allocated (reset per condition)"
    try:
        _CLEAR_REFS.write_text("5")
        _vm_hwm_kb()
        return "peak RSS of the process (VmHWM, reset per condition)"
    except (OSError, ValueError):
        return "peak RSS of the process since it started (getrusage; could not reset)"


def read_peak_mb(device: torch.device) -> float:
    """Peak memory in MiB since the last `reset_peak`."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) / MB
    try:
        return _vm_hwm_kb() * 1024 / MB
    except (OSError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # ru_maxrss is KiB on Linux and bytes on macOS
        return peak / MB if sys.platform == "darwin" else peak * 1024 / MB


def _vm_hwm_kb() -> int:
    return _status_kb("VmHWM:")


def _status_kb(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise ValueError(f"no {field} line in /proc/self/status")


def resident_mb(device: torch.device) -> float | None:
    """What the peak starts from, in MiB: on CUDA the memory allocated now, on CPU the process's
    resident set now (VmRSS; None where it cannot be read). Read right after `reset_peak`."""
    if device.type == "cuda":
        return torch.cuda.memory_allocated(device) / MB
    try:
        return _status_kb("VmRSS:") * 1024 / MB
    except (OSError, ValueError):
        return None


def available_host_bytes() -> int | None:
    """The host memory the kernel could still hand out without swapping (MemAvailable of
    /proc/meminfo), or None where it does not say (not Linux)."""
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
