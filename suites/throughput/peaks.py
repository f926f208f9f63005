"""Peak dense FLOP/s of common GPUs per precision, for `percent_of_peak`.

Figures are the vendors' datasheet numbers in TFLOP/s, dense (without 2:4 sparsity): `fp32` is
the non-tensor-core FP32 rate, `fp16`/`bf16` the tensor-core rate with FP32 accumulation. A
device not in the table (every CPU) has an unknown peak unless the config gives `peak_tflops`.
Note that cuDNN may run FP32 convolutions in TF32 (`torch.backends.cudnn.allow_tf32`, on by
default), which can exceed the FP32 figure; the environment records that setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from harness.suites.throughput.config import Precision


@dataclass(frozen=True, kw_only=True)
class PeakEntry:
    """One device: a regex over the lower-cased device name and its peaks per precision."""

    label: str
    pattern: str
    tflops: dict[str, float]


# Ordered: the first match wins, so specific names (H100 PCIe, L40S) precede general ones.
PEAK_TABLE: tuple[PeakEntry, ...] = (
    PeakEntry(
        label="H100 PCIe",
        pattern=r"\bh100\b.*\bpcie\b",
        tflops={"fp32": 51.2, "fp16": 756.0, "bf16": 756.0},
    ),
    PeakEntry(
        label="H100 NVL",
        pattern=r"\bh100\b.*\bnvl\b",
        tflops={"fp32": 60.0, "fp16": 835.0, "bf16": 835.0},
    ),
    PeakEntry(
        label="H100 SXM", pattern=r"\bh100\b", tflops={"fp32": 66.9, "fp16": 989.4, "bf16": 989.4}
    ),
    PeakEntry(
        label="H200", pattern=r"\bh200\b", tflops={"fp32": 66.9, "fp16": 989.4, "bf16": 989.4}
    ),
    PeakEntry(
        label="A100", pattern=r"\ba100\b", tflops={"fp32": 19.5, "fp16": 312.0, "bf16": 312.0}
    ),
    PeakEntry(label="A10", pattern=r"\ba10\b", tflops={"fp32": 31.2, "fp16": 125.0, "bf16": 125.0}),
    PeakEntry(
        label="L40S", pattern=r"\bl40s\b", tflops={"fp32": 91.6, "fp16": 362.1, "bf16": 362.1}
    ),
    PeakEntry(label="L4", pattern=r"\bl4\b", tflops={"fp32": 30.3, "fp16": 121.0, "bf16": 121.0}),
    PeakEntry(label="T4", pattern=r"\bt4\b", tflops={"fp32": 8.1, "fp16": 65.0}),
    PeakEntry(
        label="V100 PCIe", pattern=r"\bv100\b.*\bpcie\b", tflops={"fp32": 14.0, "fp16": 112.0}
    ),
    PeakEntry(label="V100 SXM", pattern=r"\bv100\b", tflops={"fp32": 15.7, "fp16": 125.0}),
    PeakEntry(
        label="RTX 4090",
        pattern=r"\brtx 4090\b",
        tflops={"fp32": 82.6, "fp16": 165.2, "bf16": 165.2},
    ),
    PeakEntry(
        label="RTX 3090", pattern=r"\brtx 3090\b", tflops={"fp32": 35.6, "fp16": 71.0, "bf16": 71.0}
    ),
)


@dataclass(frozen=True, kw_only=True)
class Peak:
    """The peak used for a condition: TFLOP/s (None: unknown) and where it came from."""

    tflops: float | None
    source: str


def lookup_peak(
    device_type: str,
    device_name: str,
    precision: str,
    override: Mapping[Precision, float] | None = None,
) -> Peak:
    """Peak TFLOP/s of this device at this precision: config override, then the table."""
    given = {str(k): v for k, v in (override or {}).items()}
    if precision in given:
        return Peak(tflops=float(given[precision]), source="config peak_tflops")
    if device_type != "cuda":
        return Peak(tflops=None, source=f"peak of {device_type} device unknown; set peak_tflops")
    name = device_name.lower()
    for entry in PEAK_TABLE:
        if re.search(entry.pattern, name):
            if precision in entry.tflops:
                return Peak(
                    tflops=entry.tflops[precision], source=f"datasheet {entry.label} {precision}"
                )
            return Peak(tflops=None, source=f"{entry.label} lists no {precision} peak")
    return Peak(tflops=None, source=f"{device_name!r} is not in the peak table; set peak_tflops")
