"""The throughput suite's metrics as boards and the report show them (torch-free: the results
side reads it; `harness.core.suite_board`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.core.headline_spec import HeadlineMetric, HeadlineSpec
from harness.core.metric_record import MetricSpec
from harness.core.suite_board import SuiteBoard

METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        name="throughput_samples_per_s",
        unit="samples/s",
        higher_is_better=True,
        headline=True,
        label="throughput (samples/s)",
    ),
    MetricSpec(
        name="latency_p50_ms",
        unit="ms",
        higher_is_better=False,
        headline=True,
        description="median time of one forward pass of one batch",
        label="median latency (ms)",
    ),
    MetricSpec(
        name="latency_p90_ms",
        unit="ms",
        higher_is_better=False,
        label="latency, 90th percentile (ms)",
    ),
    MetricSpec(
        name="latency_p99_ms",
        unit="ms",
        higher_is_better=False,
        label="latency, 99th percentile (ms)",
    ),
    MetricSpec(
        name="peak_memory_mb",
        unit="MiB",
        higher_is_better=False,
        headline=True,
        label="peak memory (MiB)",
    ),
    MetricSpec(
        name="throughput_tokens_per_s",
        unit="tokens/s",
        higher_is_better=True,
        label="throughput (tokens/s)",
    ),
    MetricSpec(
        name="flops_per_sample", unit="FLOP", higher_is_better=False, label="FLOPs per sample"
    ),
    MetricSpec(
        name="achieved_tflops", unit="TFLOP/s", higher_is_better=True, label="achieved TFLOP/s"
    ),
    MetricSpec(
        name="percent_of_peak", unit="percent", higher_is_better=True, label="% of peak FLOP/s"
    ),
)


@dataclass(frozen=True)
class TimingContext:
    """The setting a throughput record's context names (`suites/throughput/records.py`): device
    type and name, batch size, precision, variant, copy mode and torch threads; "" (None for
    numbers) where it names none. The one parser of it on the results side."""

    device: str
    device_name: str
    batch_size: int | None
    precision: str
    variant: str
    copy_mode: str
    threads: int | None

    @classmethod
    def of(cls, context: Mapping[str, object]) -> TimingContext:
        def text(key: str) -> str:
            value = context.get(key)
            return "" if value is None else str(value)

        def number(key: str) -> int | None:
            value = context.get(key)
            return None if value is None else int(value)  # type: ignore[call-overload]

        return cls(
            device=text("device"),
            device_name=text("device_name"),
            batch_size=number("batch_size"),
            precision=text("precision"),
            variant=text("variant"),
            copy_mode=text("copy_mode"),
            threads=number("threads"),
        )

    @property
    def where(self) -> str:
        """`cpu (AMD EPYC)`: the device type and its name."""
        return f"{self.device} ({self.device_name})" if self.device_name else self.device


def setting_words(context: Mapping[str, object]) -> str:
    """`cpu (AMD EPYC), batch 64`."""
    timing = TimingContext.of(context)
    batch = f"batch {timing.batch_size}" if timing.batch_size is not None else ""
    return ", ".join(x for x in (timing.where, batch) if x)


# throughput at the headline batch size on the board's first device (an accelerator first)
HEADLINE = HeadlineSpec(
    metrics=(
        HeadlineMetric(metric="throughput_samples_per_s", label="throughput", id="throughput"),
    ),
    facet="cost",
    pick="first_setting",
    words=setting_words,
)

BOARD = SuiteBoard(suite="throughput", metrics=METRICS, headline=(HEADLINE,))
