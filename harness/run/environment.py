"""What a result was measured with: package versions, device, CPU, git sha."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from harness.core import installed
from harness.core.errors import DeviceError
from harness.core.machine import cpu_model

_PACKAGES = (
    "torch",
    "foolbox",
    "fairlearn",
    "datasets",
    "numpy",
    "pandas",
    "scikit-learn",
    "pyarrow",
)


# Libraries that can move a number but are not among the versions a manifest records: scipy
# (intervals and tests), Pillow (JPEG corruptions, image decoding), transformers and tokenizers
# (hub models' preprocessing and tokenization), ONNX Runtime. The shared result cache keys its
# entries by them too (harness/store/result_cache.py), so an upgrade misses.
_CACHE_LIBRARIES = ("scipy", "pillow", "transformers", "tokenizers", "onnxruntime")


def library_versions() -> dict[str, str | None]:
    """Versions of `_CACHE_LIBRARIES` (None: not installed), for the result cache's key."""
    return {name: installed.version(name) for name in _CACHE_LIBRARIES}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("robustness-harness", *_PACKAGES):
        versions[name] = installed.version(name)
    return versions


def device_info(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {
        "type": device.type,
        "cpu": cpu_model(),
        # the vector instructions torch's CPU kernels use (AVX2, AVX512, ...): a CPU name such
        # as "AMD EPYC" names machines with and without AVX512, whose float rounding differs
        # (mnist-cnn-adv's robust accuracy at L-inf 0.3: 0.705 with AVX512, 0.715 without)
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(
            name=props.name,
            total_memory_mb=props.total_memory // (1 << 20),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            # FP32 math mode: with TF32 (cuDNN's default for convolutions) confidences move by
            # ~1e-4 against full FP32 (tests/gpu/test_device_parity.py), so it is recorded
            cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
            float32_matmul_precision=torch.get_float32_matmul_precision(),
        )
    else:
        info["name"] = info["cpu"]
    return info


def git_sha(path: Path | None = None) -> str | None:
    """The commit of the harness source checkout (None when not a git checkout)."""
    where = path or Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def resolve_device(name: str) -> torch.device:
    """`cpu`, `cuda`, `cuda:N` or `auto` (CUDA when available); a missing device is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {name!r} requested but CUDA is not available on this machine "
                f"(torch {torch.__version__}); use cpu or auto (--device, device: in a spec, device= in Python)"
            )
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {name!r} requested but only {torch.cuda.device_count()} GPU(s) exist"
            )
        return device
    if name == "cpu":
        return torch.device("cpu")
    raise DeviceError(f"unknown device {name!r}; use cpu, cuda, cuda:N or auto")
