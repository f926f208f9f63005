"""The environment a throughput number was measured in: device, driver, clocks, versions."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from typing import Any

import torch

from harness.core.machine import cpu_model

log = logging.getLogger(__name__)
_SMI_FIELDS = (
    "driver_version",
    "clocks.sm",
    "clocks.max.sm",
    "clocks.mem",
    "power.limit",
    "pstate",
)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_model()


def environment(device: torch.device) -> dict[str, Any]:
    """JSON-able description of the device, software versions and threads."""
    env: dict[str, Any] = {
        "device_type": device.type,
        "device_name": device_name(device),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "load_average_start": load_average(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
            cudnn_benchmark=torch.backends.cudnn.benchmark,
            compute_capability=f"{props.major}.{props.minor}",
            total_memory_mb=props.total_memory // (1 << 20),
            multiprocessors=props.multi_processor_count,
        )
        env.update(
            nvidia_smi(device.index if device.index is not None else torch.cuda.current_device())
        )
    return env


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (`os.getloadavg`: runnable processes, this one's
    included), or None where the platform has none (Windows)."""
    try:
        return [round(float(v), 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def nvidia_smi(index: int) -> dict[str, Any]:
    """Driver version, clocks and power limit from nvidia-smi; empty when it is not readable."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return {}
    try:
        out = subprocess.run(
            [exe, f"--id={index}", f"--query-gpu={','.join(_SMI_FIELDS)}", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as err:
        log.info("nvidia-smi not readable: %s", err)
        return {}
    if out.returncode != 0 or not out.stdout.strip():
        return {}
    values = [v.strip() for v in out.stdout.strip().splitlines()[0].split(",")]
    return {f"smi_{k.replace('.', '_')}": v for k, v in zip(_SMI_FIELDS, values, strict=False)}
