"""From raw timings to metric records: throughput and median latency over timing rounds with the
interval of the median, latency percentiles, memory, FLOP/s and percent of peak, keyed by device,
batch size, precision, variant, copy mode.

Rounds are the unit of replication (harness.stats.timing): `throughput_samples_per_s` is the
median over rounds of batch size / mean call time, `latency_p50_ms` the median over rounds of the
round's median call time, each with the distribution-free 95% interval of the median (6+ rounds);
n is the number of rounds. p90/p99 are percentiles of all timed calls. When the rounds vary more
than `max_round_cv` (coefficient of variation), every timing record gets `unstable_timing`. When
the adapter evaluates a batch one sample at a time, the records say so in their note.

Only one condition is headline (fp32, eager, the first copy mode, the largest configured batch
size; for `auto`, the largest that fit), so leaderboards stay readable.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from harness.core.metric_record import MetricRecord, MetricSpec, spec_record
from harness.stats.intervals import MEDIAN_METHOD, median_ci
from harness.stats.timing import UNSTABLE, coefficient_of_variation, round_values
from harness.suites.throughput.config import ThroughputConfig
from harness.suites.throughput.peaks import lookup_peak
from harness.suites.throughput.timing import CACHED, cached_outputs, fresh_floor_s, untimed_work

NONFINITE = "nonfinite_outputs"

CI_METHOD = MEDIAN_METHOD.replace(", 95%", " over timing rounds, 95%")
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
    weights = measurement.get("weights")
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
        if weights is not None:  # the model's own weights run in another type than `precision`
            context["weights"] = weights
        is_headline = (e["batch_size"], e["precision"], e["variant"], e["copy_mode"]) == headline
        if e["status"] != "ok":
            note = f"{e['status']}: {e['reason']}"
            notes.append(f"{label} at batch size {e['batch_size']}: {note}")
            add("throughput_samples_per_s", None, 0, context, is_headline, note=note)
            continue
        found = _condition_records(
            e,
            context,
            is_headline,
            specs,
            suite,
            env,
            fps,
            config,
            seed,
            resamples,
            measurement.get("weights_mb"),
        )
        records += found
        if any(UNSTABLE in r.flags or CACHED in r.flags for r in found):
            notes.append(f"{label} at batch size {e['batch_size']}: {found[0].note}")
        if untimed_work(e["times_s"], e["wall_s"]):
            notes.append(
                f"{label} at batch size {e['batch_size']}: the synchronised wall clock exceeds the "
                "timed iterations; the model enqueues work the timer cannot see"
            )
    return records, notes


def _past(share: float, limit: float) -> str:
    """`share` as a percentage with the decimals that tell it from `limit`'s: a variation of
    10.4% flagged against 10% read "vary by 10% (...; limit 10%)"."""
    for digits in range(4):
        text = f"{share:.{digits}%}"
        if float(text.rstrip("%")) > round(100 * limit, digits):
            return text
    return text


def _rounds(e: dict[str, Any]) -> list[list[float]]:
    """The call times of each round (one round for measurements stored before rounds)."""
    rounds = e.get("round_times_s")
    return [list(r) for r in rounds] if rounds else [list(e["times_s"])]


def _timing_flags(
    e: dict[str, Any], per_round: dict[str, np.ndarray], max_cv: float, rounds: list[list[float]]
) -> tuple[tuple[str, ...], str | None]:
    """untimed_work, cached_outputs, unstable_timing and nonfinite_outputs (the timed forward
    pass's logits unusable), with a note saying how unstable, how much slower inputs the model
    had not seen were, or how many rows were NaN or inf."""
    flags: tuple[str, ...] = ("untimed_work",) if untimed_work(e["times_s"], e["wall_s"]) else ()
    broken = e.get("nonfinite_rows")
    broken_note = None
    if broken:
        flags += (NONFINITE,)
        broken_note = (
            f"the model returned NaN or inf logits for {broken} of the {e['batch_size']} "
            f"inputs of its first call in this condition ({e['precision']}): the timing is of a "
            f"forward pass whose outputs are not usable ({NONFINITE})"
        )
    fresh = e.get("fresh_times_s") or []
    cached = cached_outputs(e["times_s"], fresh, repeat_s=e.get("repeat_times_s"))
    if cached:
        flags += (CACHED,)
    cached_note = (
        f"calls on inputs the model had not seen took {1e3 * fresh_floor_s(fresh):.3g} ms "
        f"or more (all but the quickest of {len(fresh)} calls) against a median {1e3 * float(np.median(e['times_s'])):.3g} ms on "
        "the repeated batch: the model answers a repeated input from a cache, so these timings "
        f"are the cache's, not its forward pass ({CACHED})"
        if cached
        else None
    )
    cvs = [cv for v in per_round.values() if (cv := coefficient_of_variation(v)) is not None]
    worst = max(cvs, default=None)
    if worst is not None and worst > max_cv:
        flags += (UNSTABLE,)
        return flags, _join(
            broken_note,
            cached_note,
            f"timing unstable: the rounds vary by {_past(worst, max_cv)} (coefficient of "
            f"variation; limit {max_cv:.0%}); comparisons are inconclusive",
        )
    halves = _half_round_spread(rounds, e["batch_size"]) if len(rounds) == 1 else None
    if halves is not None and halves > max_cv:
        flags += (UNSTABLE,)
        return flags, _join(
            broken_note,
            cached_note,
            f"timing unstable: one timing round, whose first and second halves differ by "
            f"{_past(halves, max_cv)} in throughput (coefficient of variation; limit {max_cv:.0%}): slow "
            "first calls (warm-up) or interference; set rounds: 2 or more (6 give an interval)",
        )
    return flags, _join(broken_note, cached_note)


def _half_round_spread(rounds: list[list[float]], batch_size: int) -> float | None:
    """A single round's stability: the coefficient of variation of the throughput of its first
    and second half of calls (None with fewer than two calls). Rounds give the spread that a
    single round cannot; its halves catch what distorts its mean call time (a model slow on
    its first calls with no warm-up, a burst of interference)."""
    (times,) = rounds
    if len(times) < 2:
        return None
    half = len(times) // 2
    values = round_values(
        "throughput_samples_per_s", [times[:half], times[half:]], batch_size=batch_size
    )
    return None if values is None else coefficient_of_variation(values)


def _tail_note(p: int, calls: int) -> str | None:
    """Whether percentile `p` of `calls` lies between the two slowest calls (linear
    interpolation: fewer than (200 - p) / (100 - p) calls, 101 for p99), where it reads the
    slowest call rather than a 1-in-(100 - p) latency."""
    need = -(-(200 - p) // (100 - p))
    if calls >= need:
        return None
    return (
        f"p{p} of {calls} calls lies between the two slowest calls (interpolated), not a tail "
        f"latency; {need} or more timed calls (timed_iters x rounds) resolve it"
    )


def _mib(value: float) -> str:
    return f"{value:.1f}" if value >= 0.1 else f"{value:.2g}"


def memory_note(e: dict[str, Any], weights_mb: float | None) -> str:
    """What `peak_memory_mb` measured, and what of it was there before the condition: on CPU
    the whole process's peak RSS, which holds the interpreter, the harness and every model the
    run built before (the same tiny model read 502 MiB run first, 693 MiB after one holding
    200 MB)."""
    method = str(e.get("memory_method") or "")
    resident = e.get("resident_mb")
    parts = [method]
    if resident is not None and "RSS" in method:
        parts.append(
            f"not this model's own memory: {resident:.0f} MiB were resident when the condition "
            "started (the interpreter, libraries, the harness, this model and every model and "
            "task this process built before it)"
        )
    elif resident is not None:
        parts.append(
            f"{_mib(resident)} MiB were allocated when the condition started (its weights and "
            "anything else this process holds on the device)"
        )
    if weights_mb is not None:
        parts.append(f"its parameters and buffers hold {_mib(weights_mb)} MiB")
    return "; ".join(p for p in parts if p)


LOGITS_NOTE = (
    "timed through adapter.logits: the adapter's input conversion and output handling are "
    "part of every call, not only the model's forward pass as for a torch module"
)


def _execution_note(e: dict[str, Any]) -> str | None:
    """How the calls ran, where a board could read them as a torch forward pass: one sample at
    a time, or through `adapter.logits` (a model without a torch module: callable,
    scikit-learn, ONNX, text)."""
    text = e.get("execution") or ""
    if text.startswith("in chunks of") and "torch module" in text:
        return f"batch of {e['batch_size']} inputs executed {text}"
    if text.startswith(("one sample at a time", "in chunks of")):
        return f"batch of {e['batch_size']} inputs executed {text}; {LOGITS_NOTE}"
    if "adapter.logits" in text:
        return LOGITS_NOTE
    return None


def _join(*parts: str | None) -> str | None:
    kept = [p for p in parts if p]
    return "; ".join(kept) if kept else None


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
    weights_mb: float | None = None,
) -> list[MetricRecord]:
    rounds = _rounds(e)
    n, b = len(rounds), e["batch_size"]
    per_round = {
        metric: values
        for metric in ("throughput_samples_per_s", "latency_p50_ms", "throughput_tokens_per_s")
        if (
            values := round_values(
                metric, rounds, batch_size=b, tokens_per_batch=e.get("tokens_per_batch")
            )
        )
        is not None
    }
    flags, unstable_note = _timing_flags(e, per_round, config.max_round_cv, rounds)
    note = _join(_execution_note(e), unstable_note)
    out: list[MetricRecord] = []

    def add(metric: str, value: float | None, count: int, **kw: Any) -> None:
        rec = spec_record(specs[metric], suite=suite, value=value, n=count, context=context, **kw)
        out.append(dataclasses.replace(rec, headline=rec.headline and is_headline))

    def median_of(metric: str) -> dict[str, Any]:
        values = per_round[metric]
        interval = median_ci(values)
        # a board shows the task's n in its header, not the rounds: say why there is no interval
        # (before the unstable clause, which a flag's footnote reads to the note's end)
        few = None
        if interval is None:
            of = "one timing round" if n == 1 else f"median of {n} timing rounds"
            few = f"{of}: no interval (6 or more rounds give one; suites.throughput.rounds)"
        return {
            "value": float(np.median(values)),
            "ci": interval,
            "ci_method": CI_METHOD if interval else None,
            "note": _join(_execution_note(e), few, unstable_note),
            "flags": flags,
        }

    throughput = median_of("throughput_samples_per_s")
    add("throughput_samples_per_s", count=n, **throughput)
    add("latency_p50_ms", count=n, **median_of("latency_p50_ms"))
    pct = latency_percentiles_ms(e["times_s"])
    calls = len(e["times_s"])
    add("latency_p90_ms", pct[90], calls, flags=flags, note=_join(_tail_note(90, calls), note))
    add("latency_p99_ms", pct[99], calls, flags=flags, note=_join(_tail_note(99, calls), note))
    add("peak_memory_mb", e["peak_memory_mb"], 1, note=memory_note(e, weights_mb))
    if "throughput_tokens_per_s" in per_round:
        add("throughput_tokens_per_s", count=n, **median_of("throughput_tokens_per_s"))
    achieved = fps * throughput["value"] / 1e12 if fps is not None else None
    add(
        "achieved_tflops",
        achieved,
        n,
        flags=flags,
        # from the median throughput: as unstable as it, and the note says by how much
        note=_join(None if achieved is not None else "FLOPs per sample unknown", unstable_note),
    )
    # a model whose weights are float16 computes in float16 under fp32 autocast settings too
    computed = context.get("weights") if e["precision"] == "fp32" else None
    peak = lookup_peak(
        env["device_type"], env["device_name"], computed or e["precision"], config.peak_tflops
    )
    if achieved is None or peak.tflops is None:
        add("percent_of_peak", None, n, note="FLOPs unknown" if achieved is None else peak.source)
    else:
        add(
            "percent_of_peak",
            100.0 * achieved / peak.tflops,
            n,
            flags=flags,
            note=_join(f"peak {peak.tflops:g} TFLOP/s ({peak.source})", unstable_note),
        )
    return out
