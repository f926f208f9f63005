"""The throughput suite's metrics as boards and the report show them (torch-free: the results
side reads it; `harness.core.suite_board`)."""

from __future__ import annotations

from collections.abc import Mapping

from harness.core.headline_spec import HeadlineMetric, HeadlineSpec
from harness.core.metric_record import MetricSpec
from harness.core.suite_board import Curve, SuiteBoard, TradeOff
from harness.core.timing_context import TimingContext

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


def setting_words(context: Mapping[str, object]) -> str:
    """`cpu (AMD EPYC), batch 64` (`harness.core.timing_context`)."""
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

BOARD = SuiteBoard(
    suite="throughput",
    metrics=METRICS,
    headline=(HEADLINE,),
    trade_offs=(
        TradeOff(metric="throughput_samples_per_s", against="top1_acc", axis="x", timing=True),
    ),
    curves=(Curve(metric="throughput_samples_per_s", along="batch_size"),),
)
