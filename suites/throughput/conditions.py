"""One measured condition (batch size, precision, variant, copy mode) and whether it applies.

A precision or variant the device or adapter cannot run is skipped with a stated reason:
- fp16 on CPU: skipped. CPU autocast to fp16 is emulated on most CPUs (no AVX512-FP16/AMX-FP16)
  and would only measure the emulation; bf16 is measured instead.
- bf16 on a GPU without native bf16 (compute capability < 8.0): skipped.
- channels_last: needs 4-D (N, C, H, W) inputs.
- any precision other than fp32, and any variant other than eager: need a torch module from the
  adapter (`capabilities.gradients`); other adapters are measured through `logits` at fp32 only.
- copy_mode host on CPU: the same measurement as copy_mode device, so skipped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from harness.suites.throughput.config import CopyMode, Precision, Variant

AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True, kw_only=True)
class Condition:
    batch_size: int
    precision: Precision
    variant: Variant
    copy_mode: CopyMode

    @property
    def label(self) -> str:
        return (
            f"batch_size={self.batch_size}/precision={self.precision}/variant={self.variant}"
            f"/copy_mode={self.copy_mode}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def skip_reason(
    *,
    precision: str,
    variant: str,
    copy_mode: str,
    device: torch.device,
    module_path: bool,
    input_ndim: int | None,
) -> str | None:
    """Why this (precision, variant, copy mode) cannot be measured here (None: it can)."""
    if not module_path and (precision != "fp32" or variant != "eager"):
        return (
            f"precision {precision} / variant {variant} needs a torch module; this adapter is "
            "measured through logits() at fp32 eager only"
        )
    if precision == "fp16" and device.type == "cpu":
        return "fp16 autocast on CPU is emulated on most CPUs and slow; measure bf16 instead"
    if (
        precision == "bf16"
        and device.type == "cuda"
        and not torch.cuda.is_bf16_supported(including_emulation=False)
    ):
        return f"bf16 is not supported natively by {torch.cuda.get_device_name(device)}"
    if variant == "channels_last" and input_ndim != 3:
        return "channels_last applies to 4-D (N, C, H, W) image inputs only"
    if copy_mode == "host" and device.type == "cpu":
        return "on CPU the model reads host memory directly: copy_mode host equals copy_mode device"
    return None
