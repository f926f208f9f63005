"""Timing statistics over repeated rounds: per-round values, the median with its interval, the
stability check, and the rounds behind a stored throughput record.

The throughput suite times each condition in `rounds` rounds of `timed_iters` calls. Calls within
a round share the machine's momentary load, so they are not independent draws; rounds are the
unit of replication. Each round gives one value per metric (`round_values`); the reported number
is the median over rounds with the distribution-free interval of the median
(`harness.stats.intervals.median_ci`), and the coefficient of variation (CV) of the rounds
decides whether the timing was stable. A CV above the limit raises the reliability flag
`unstable_timing`: comparisons of such numbers are "inconclusive", never significant.

The stored layout this module reads (the job's `artifacts.json`, `measurement.conditions[]`):
`batch_size`, `precision`, `variant`, `copy_mode`, `round_times_s` (one list of call times in
seconds per round) and `tokens_per_batch`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

UNSTABLE = "unstable_timing"
DEFAULT_MAX_CV = 0.10
ROUND_METRICS = frozenset({"throughput_samples_per_s", "latency_p50_ms", "throughput_tokens_per_s"})
_CONDITION_KEYS = ("batch_size", "precision", "variant", "copy_mode")


def round_values(
    metric: str,
    round_times_s: Sequence[Sequence[float]],
    *,
    batch_size: int,
    tokens_per_batch: int | None = None,
) -> np.ndarray | None:
    """One value of `metric` per round (None for metrics without a per-round form).

    throughput: batch size / mean call time of the round; tokens: tokens per batch / mean call
    time; latency p50: the round's median call time in ms.
    """
    rounds = [np.asarray(r, dtype=np.float64) for r in round_times_s if len(r)]
    if not rounds:
        return None
    if metric == "throughput_samples_per_s":
        return np.array([batch_size / r.mean() for r in rounds])
    if metric == "throughput_tokens_per_s" and tokens_per_batch is not None:
        return np.array([tokens_per_batch / r.mean() for r in rounds])
    if metric == "latency_p50_ms":
        return np.array([float(np.median(r)) * 1e3 for r in rounds])
    return None


def coefficient_of_variation(values: np.ndarray) -> float | None:
    """Sample standard deviation over the mean (None with fewer than two values)."""
    if len(values) < 2 or not np.mean(values) > 0:
        return None
    return float(np.std(values, ddof=1) / np.mean(values))


def _matches(entry: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    return all(str(entry.get(k)) == str(context.get(k)) for k in _CONDITION_KEYS)


def rounds_for(
    metric: str, context: Mapping[str, Any], artifacts: Mapping[str, Any]
) -> np.ndarray | None:
    """The per-round values behind a stored throughput record (None when not stored)."""
    if metric not in ROUND_METRICS:
        return None
    measurement = artifacts.get("measurement")
    if not isinstance(measurement, Mapping):
        return None
    for entry in measurement.get("conditions", []):
        if entry.get("status") == "ok" and _matches(entry, context):
            rounds = entry.get("round_times_s")
            if not rounds:
                return None
            return round_values(
                metric,
                rounds,
                batch_size=int(entry["batch_size"]),
                tokens_per_batch=entry.get("tokens_per_batch"),
            )
    return None
