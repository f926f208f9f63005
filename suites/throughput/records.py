"""From raw timings to metric records: throughput with a bootstrap CI, latency percentiles,
memory, FLOP/s and percent of peak, keyed by device, batch size, precision, variant, copy mode.

Only one condition is headline (fp32, eager, the first copy mode, the largest configured batch
size; for `auto`, the largest that fit), so leaderboards stay readable.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from harness.analysis.intervals import bootstrap_ci
from harness.core.metric_record import MetricRecord, MetricSpec, spec_record
from suites.throughput.config import ThroughputConfig
from suites.throughput.peaks import lookup_peak
from suites.throughput.timing import untimed_work

CI_METHOD = "percentile bootstrap over timed iterations, 95%"
PERCENTILES = (50, 90, 99)


def latency_percentiles_ms(times_s: list[float]) -> dict[int, float]:
    """p50/p90/p99 of per-iteration latency in ms (linear interpolation, numpy's default)."""
    values = np.percentile(np.asarray(times_s, dtype=np.float64) * 1e3, PERCENTILES)
    return {p: float(v) for p, v in zip(PERCENTILES, values, strict=True)}


def headline_condition(
    config: ThroughputConfig, entries: list[dict[str, Any]]
) -> tuple[Any, ...] | None:
    """(batch_size, precision, variant, copy_mode) whose records are headline."""
    precision = "fp32" if "fp32" in config.precisions else config.precisions[0]
    variant = "eager" if "eager" in config.variants else config.variants[0]
    copy_mode = config.copy_modes[0]
    if config.batch_sizes != "auto":
        return (max(config.batch_sizes), precision, variant, copy_mode)
    fit = [
        e["batch_size"]
        for e in entries
        if e["status"] == "ok"
        and (e["precision"], e["variant"], e["copy_mode"]) == (precision, variant, copy_mode)
    ]
    return (max(fit), precision, variant, copy_mode) if fit else None


def build_records(
    *,
    suite: str,
    specs: dict[str, MetricSpec],
    measurement: dict[str, Any],
    config: ThroughputConfig,
    seed: int,
    resamples: int,
) -> tuple[list[MetricRecord], list[str]]:
    """Metric records and run notes of one measurement (see `measure.measure`)."""
    env = measurement["environment"]
    device, name = env["device_type"], env["device_name"]
    fps = measurement["flops_per_sample"]
    headline = headline_condition(config, measurement["conditions"])
    records: list[MetricRecord] = []
    notes: list[str] = []

    def add(
        metric: str,
        value: float | None,
        n: int,
        context: dict[str, Any],
        is_headline: bool,
        **kw: Any,
    ) -> None:
        rec = spec_record(specs[metric], suite=suite, value=value, n=n, context=context, **kw)
        records.append(dataclasses.replace(rec, headline=rec.headline and is_headline))

    add(
        "flops_per_sample",
        fps,
        1,
        {"device": device},
        False,
        note=measurement["flops_note"] or "torch.utils.flop_counter (matmul/conv/attention ops)",
    )
    for e in measurement["conditions"]:
        label = f"precision={e['precision']}/variant={e['variant']}/copy_mode={e['copy_mode']}"
        if e["status"] == "skipped":
            notes.append(f"skipped {label}: {e['reason']}")
            continue
        context = {
            "device": device,
            "device_name": name,
            "batch_size": e["batch_size"],
            "precision": e["precision"],
            "variant": e["variant"],
            "copy_mode": e["copy_mode"],
            "threads": e.get("threads", env["torch_threads"]),
        }
        is_headline = (e["batch_size"], e["precision"], e["variant"], e["copy_mode"]) == headline
        if e["status"] != "ok":
            note = f"{e['status']}: {e['reason']}"
            notes.append(f"{label} at batch size {e['batch_size']}: {note}")
            add("throughput_samples_per_s", None, 0, context, is_headline, note=note)
            continue
        records += _condition_records(
            e, context, is_headline, specs, suite, env, fps, config, seed, resamples
        )
        if untimed_work(e["times_s"], e["wall_s"]):
            notes.append(
                f"{label} at batch size {e['batch_size']}: the synchronised wall clock exceeds the "
                "timed iterations; the model enqueues work the timer cannot see"
            )
    return records, notes


def _condition_records(
    e: dict[str, Any],
    context: dict[str, Any],
    is_headline: bool,
    specs: dict[str, MetricSpec],
    suite: str,
    env: dict[str, Any],
    fps: float | None,
    config: ThroughputConfig,
    seed: int,
    resamples: int,
) -> list[MetricRecord]:
    times = np.asarray(e["times_s"], dtype=np.float64)
    n, b = len(times), e["batch_size"]
    flags = ("untimed_work",) if untimed_work(e["times_s"], e["wall_s"]) else ()
    name = "/".join(f"{k}={v}" for k, v in sorted(context.items()))
    out: list[MetricRecord] = []

    def add(metric: str, value: float | None, count: int, **kw: Any) -> None:
        rec = spec_record(specs[metric], suite=suite, value=value, n=count, context=context, **kw)
        out.append(dataclasses.replace(rec, headline=rec.headline and is_headline))

    def ci(stat: Any, what: str) -> dict[str, Any]:
        interval = bootstrap_ci(
            stat, n, seed=seed, name=f"{suite}/{what}/{name}", resamples=resamples
        )
        return {"ci": interval, "ci_method": CI_METHOD if interval else None}

    throughput = b / times.mean()
    add(
        "throughput_samples_per_s",
        throughput,
        n,
        flags=flags,
        **ci(lambda idx: b / times[idx].mean(axis=1), "throughput"),
    )
    pct = latency_percentiles_ms(e["times_s"])
    add(
        "latency_p50_ms",
        pct[50],
        n,
        flags=flags,
        **ci(lambda idx: np.median(times[idx], axis=1) * 1e3, "latency_p50"),
    )
    add("latency_p90_ms", pct[90], n, flags=flags)
    add("latency_p99_ms", pct[99], n, flags=flags)
    add("peak_memory_mb", e["peak_memory_mb"], 1, note=e["memory_method"])
    if e.get("tokens_per_batch") is not None:
        tokens = e["tokens_per_batch"]
        add(
            "throughput_tokens_per_s",
            tokens / times.mean(),
            n,
            flags=flags,
            **ci(lambda idx: tokens / times[idx].mean(axis=1), "tokens"),
        )
    achieved = fps * throughput / 1e12 if fps is not None else None
    add(
        "achieved_tflops",
        achieved,
        n,
        flags=flags,
        note=None if achieved is not None else "FLOPs per sample unknown",
    )
    peak = lookup_peak(env["device_type"], env["device_name"], e["precision"], config.peak_tflops)
    if achieved is None or peak.tflops is None:
        add("percent_of_peak", None, n, note="FLOPs unknown" if achieved is None else peak.source)
    else:
        add(
            "percent_of_peak",
            100.0 * achieved / peak.tflops,
            n,
            flags=flags,
            note=f"peak {peak.tflops:g} TFLOP/s ({peak.source})",
        )
    return out
