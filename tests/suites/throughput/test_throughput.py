"""Mechanics of the throughput suite: no timing is asserted, only counts, math and structure."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.core.errors import ConfigError, ModelCallError, ModelOutputError
from harness.core.suite import RunContext
from harness.core.task import Task
from harness.data.builtin import digits
from harness.suites.throughput import ThroughputSuite
from harness.suites.throughput.conditions import Condition
from harness.suites.throughput.config import ThroughputConfig
from harness.suites.throughput.flops import flops_per_sample
from harness.suites.throughput.forward import fresh_batch, prepared_forward
from harness.suites.throughput.isolation import IsolationUnavailableError, measure_isolated
from harness.suites.throughput.measure import measure
from harness.suites.throughput.peaks import lookup_peak
from harness.suites.throughput.records import latency_percentiles_ms
from harness.suites.throughput.timing import time_iterations, untimed_work
from tests.fixture_models import linear_digits, linear_tabular
from tests.suites.throughput.planted_models import (
    BoundsCheckingLinear,
    CachingLinear,
    ClockedModel,
    FailsAbove,
    FailsFromCall,
    FailsUnderAutocast,
    FirstRowsAbove,
    IdentityCachingLinear,
    LastInputCachingLinear,
    NaNAbove,
    OomAbove,
    SleepyLinear,
    TokenCachingAdapter,
    WordCountAdapter,
)

FAST = {"warmup_iters": 1, "timed_iters": 3, "rounds": 2}
CPU = torch.device("cpu")


def tabular(module: torch.nn.Module) -> TorchModuleAdapter:
    return TorchModuleAdapter.from_module(module, name="m", input_shape=(10,), modality="tabular")


def samples(n: int = 8) -> torch.Tensor:
    return torch.rand(n, 10, generator=torch.Generator().manual_seed(0))


def by_status(result: dict) -> list[tuple[int | None, str]]:
    return [(e["batch_size"], e["status"]) for e in result["conditions"]]


# -- timing loop ---------------------------------------------------------------------------------
def test_warmup_and_timed_iteration_counts_on_a_fake_clock() -> None:
    model = ClockedModel([0.5, 0.001, 0.002, 0.003, 0.004])
    x = samples(4)
    timing = time_iterations(lambda: model(x), warmup=1, iters=4, device=CPU, clock=model.clock)
    assert model.calls == 5
    assert timing.warmup_s == [0.5]  # the slow first call is warm-up, not a result
    assert timing.times_s == pytest.approx([0.001, 0.002, 0.003, 0.004])
    assert timing.wall_s == pytest.approx(0.010)
    assert not untimed_work(timing.times_s, timing.wall_s)


def test_percentiles_match_hand_computed_values() -> None:
    times = [i / 1000 for i in range(1, 11)]  # 1..10 ms
    pct = latency_percentiles_ms(times)
    assert pct[50] == pytest.approx(5.5)
    assert pct[90] == pytest.approx(9.1)
    assert pct[99] == pytest.approx(9.91)


def _records(result: dict, config: ThroughputConfig) -> dict:
    from harness.suites.throughput.records import build_records

    suite = ThroughputSuite({"batch_sizes": [4]})
    records, notes = build_records(
        suite="throughput",
        specs={s.name: s for s in suite.metrics},
        measurement=result,
        config=config,
        seed=0,
        resamples=200,
    )
    return {r.metric: r for r in records} | {"_notes": notes}


def test_suite_statistics_on_a_fake_clock() -> None:
    # the first call is the FLOP count (takes no fake time); then one round of four iterations
    model = ClockedModel([0.0, 0.010, 0.020, 0.030, 0.040])
    adapter = tabular(model)
    config = ThroughputConfig(batch_sizes=[4], warmup_iters=0, timed_iters=4, rounds=1)
    result = measure(adapter, samples(), config, clock=model.clock)
    (entry,) = [e for e in result["conditions"] if e["status"] == "ok"]
    assert entry["times_s"] == pytest.approx([0.010, 0.020, 0.030, 0.040])
    assert entry["round_times_s"] == [entry["times_s"]]
    got = _records(result, config)
    assert got["throughput_samples_per_s"].value == pytest.approx(4 / 0.025)
    assert got["throughput_samples_per_s"].ci is None  # one round: no interval of the median
    assert got["latency_p50_ms"].value == pytest.approx(25.0)
    assert got["latency_p99_ms"].value == pytest.approx(39.7)


def test_too_few_rounds_say_why_the_median_has_no_interval() -> None:
    """Three steady rounds printed `110245 (no interval)` under a board header of n=40 (the
    task's samples): nothing said the number is a median of 3 rounds, too few for its interval
    (docs/throughput.md: 6 or more); the report said "no interval was computed"."""
    from harness.analysis.caveats import caveats

    model = ClockedModel([0.0] + [0.010] * 6)  # the FLOP count, then 3 rounds of 2 equal calls
    config = ThroughputConfig(batch_sizes=[4], warmup_iters=0, timed_iters=2, rounds=3)
    result = measure(tabular(model), samples(), config, clock=model.clock)
    got = _records(result, config)
    for metric in ("throughput_samples_per_s", "latency_p50_ms"):
        rec = got[metric]
        assert rec.ci is None and rec.n == 3 and not rec.flags, metric
        assert "median of 3 timing rounds: no interval (6 or more rounds give" in (rec.note or "")
        (why,) = [c.reason for c in caveats(rec) if c.kind == "no_interval"]
        assert "median of 3 timing rounds" in why, why


def test_rounds_give_a_median_with_its_interval_on_a_fake_clock() -> None:
    # seven rounds of two calls; round r takes 10 + r ms per call (one slow outlier round)
    durations = [0.0] + [d for r in (10, 11, 12, 13, 14, 15, 90) for d in (r / 1e3, r / 1e3)]
    model = ClockedModel(durations)
    config = ThroughputConfig(batch_sizes=[4], warmup_iters=0, timed_iters=2, rounds=7)
    result = measure(tabular(model), samples(), config, clock=model.clock)
    (entry,) = [e for e in result["conditions"] if e["status"] == "ok"]
    assert len(entry["round_times_s"]) == 7 and all(len(r) == 2 for r in entry["round_times_s"])
    got = _records(result, config)
    thr = got["throughput_samples_per_s"]
    assert thr.value == pytest.approx(4 / 0.013)  # the median round, not pulled by the outlier
    assert thr.n == 7 and thr.ci is not None and thr.ci[0] <= thr.value <= thr.ci[1]
    assert "Hettmansperger" in (thr.ci_method or "")
    assert got["latency_p50_ms"].value == pytest.approx(13.0)
    # the 90 ms round makes the rounds vary far beyond 10%: flagged, inconclusive
    assert "unstable_timing" in thr.flags and "timing unstable" in (thr.note or "")
    assert any("timing unstable" in n for n in got["_notes"])


def test_an_unstable_timing_says_once_what_varies_and_by_how_much() -> None:
    """The report's footnote read "unstable timing: timing unstable: the rounds vary by 13% ...":
    the flag's words, then the note's own. achieved TFLOP/s carried the flag with no note (its
    footnote said no number) and percent of peak with the peak's note ("unstable timing: peak
    ... TFLOP/s"). Now every flagged record says it once, with the coefficient of variation."""
    from harness.analysis.caveats import caveats

    durations = [0.0] + [d for r in (10, 11, 12, 13, 14, 15, 90) for d in (r / 1e3, r / 1e3)]
    model = ClockedModel(durations)
    config = ThroughputConfig(
        batch_sizes=[4], warmup_iters=0, timed_iters=2, rounds=7, peak_tflops={"fp32": 1.0}
    )
    result = measure(tabular(model), samples(), config, clock=model.clock)
    result["flops_per_sample"] = 1000  # a known FLOP count: achieved TFLOP/s and % of peak
    got = _records(result, config)
    flagged = [r for k, r in got.items() if k != "_notes" and "unstable_timing" in r.flags]
    assert {r.metric for r in flagged} >= {"achieved_tflops", "percent_of_peak"}
    for record in flagged:
        (reason,) = [c.reason for c in caveats(record) if c.kind == "unreliable"]
        assert reason.lower().count("unstable") == 1, reason
        assert "the rounds vary by" in reason and "coefficient of variation" in reason, reason
    assert "peak 1 TFLOP/s" in (got["percent_of_peak"].note or "")


def test_a_second_flag_does_not_take_the_unstable_timing_note() -> None:
    from harness.analysis.caveats import caveats
    from harness.core.metric_record import MetricRecord

    note = (
        "timing unstable: the rounds vary by 13% (coefficient of variation; limit 10%); "
        "comparisons are inconclusive"
    )
    record = MetricRecord(
        suite="throughput",
        metric="throughput_samples_per_s",
        value=100.0,
        unit="samples/s",
        higher_is_better=True,
        n=6,
        ci=(90.0, 110.0),
        note=note,
        flags=("untimed_work", "unstable_timing"),
    )
    reasons = [c.reason for c in caveats(record) if c.kind == "unreliable"]
    assert reasons == [
        "untimed work: the model enqueued work the per-call timer could not see",
        note,
    ]


def test_no_interval_is_not_blamed_on_the_unstable_timing() -> None:
    """A latency percentile never has an interval. On an unstably timed model (diabetes-logreg
    in the quickstart baseline) its "no interval" footnote read "no interval was computed for
    this number (timing unstable: the rounds vary by 12% ...)", blaming the instability, which
    its own "unreliable" footnote already states; a steady model's read no reason at all."""
    from harness.analysis.caveats import caveats
    from harness.core.metric_record import MetricRecord

    note = (
        "timing unstable: the rounds vary by 12% (coefficient of variation; limit 10%); "
        "comparisons are inconclusive"
    )
    record = MetricRecord(
        suite="throughput",
        metric="latency_p90_ms",
        value=0.019,
        unit="ms",
        higher_is_better=False,
        n=60,
        ci=None,
        note=note,
        flags=("unstable_timing",),
    )
    got = {c.kind: c.reason for c in caveats(record)}
    assert got["unreliable"] == note
    assert got["no_interval"] == "no interval was computed for this number"


def test_steady_rounds_raise_no_flag() -> None:
    model = ClockedModel([0.0] + [0.010] * 12)
    config = ThroughputConfig(batch_sizes=[4], warmup_iters=0, timed_iters=2, rounds=6)
    got = _records(measure(tabular(model), samples(), config, clock=model.clock), config)
    assert got["throughput_samples_per_s"].flags == ()


def test_a_single_round_is_checked_by_its_halves() -> None:
    """`rounds: 1` left no spread to check: a model slow on its first calls, timed without
    warm-up, reported 20 samples/s beside a 0.026 ms median latency (about 150,000 samples/s),
    with no interval and no flag. Now the round's two halves are compared: slow first calls
    flag `unstable_timing`; steady calls do not."""
    config = ThroughputConfig(batch_sizes=[4], warmup_iters=0, timed_iters=10, rounds=1)
    slow_start = ClockedModel([0.0] + [1.0] * 3 + [0.00003] * 7)
    got = _records(measure(tabular(slow_start), samples(), config, clock=slow_start.clock), config)
    thr = got["throughput_samples_per_s"]
    assert "unstable_timing" in thr.flags and "one timing round" in (thr.note or "")
    assert "unstable_timing" in got["latency_p50_ms"].flags
    steady = ClockedModel([0.0] + [0.010] * 10)
    got = _records(measure(tabular(steady), samples(), config, clock=steady.clock), config)
    assert got["throughput_samples_per_s"].flags == ()


def test_max_round_cv_sets_the_limit_of_the_unstable_flag() -> None:
    # the outlier rounds of the test above vary by about 115% (latency): flagged under the
    # default 10% limit, not under a limit of 500%
    durations = [0.0] + [d for r in (10, 11, 12, 13, 14, 15, 90) for d in (r / 1e3, r / 1e3)]
    config = ThroughputConfig(
        batch_sizes=[4], warmup_iters=0, timed_iters=2, rounds=7, max_round_cv=5.0
    )
    model = ClockedModel(durations)
    got = _records(measure(tabular(model), samples(), config, clock=model.clock), config)
    assert "unstable_timing" not in got["throughput_samples_per_s"].flags
    assert not any("timing unstable" in n for n in got["_notes"])


def test_cpu_threads_sets_torch_threads_while_measuring_and_restores_them() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        config = ThroughputConfig(batch_sizes=[2], cpu_threads=1, **FAST)
        result = measure(tabular(linear_tabular()), samples(), config)
        assert result["environment"]["torch_threads"] == 1
        ok = [e for e in result["conditions"] if e["status"] == "ok"]
        assert ok and all(e["threads"] == 1 for e in ok)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


class _BlasThreads(torch.nn.Module):
    """A linear model that notes the BLAS pools' thread counts at every call (what a numpy or
    scikit-learn model's matrix products run on)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(10, 2)
        self.seen: set[int] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from threadpoolctl import threadpool_info

        self.seen |= {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}
        return self.linear(x)


def test_cpu_threads_sets_the_blas_threads_too() -> None:
    """`cpu_threads: 1` set torch's threads only: a numpy callable's matrix products ran on
    OpenBLAS's 2 threads while its records said threads=1 (and a job limited to 1 thread ran
    BLAS on 1 under `cpu_threads: 4`, recorded as 4). BLAS and OpenMP pools follow it now."""
    from threadpoolctl import threadpool_info, threadpool_limits

    if not any(p["user_api"] == "blas" for p in threadpool_info()):
        pytest.skip("no BLAS pool that threadpoolctl can see")
    model = _BlasThreads()
    with threadpool_limits(limits=2):
        measure(tabular(model), samples(), ThroughputConfig(batch_sizes=[2], cpu_threads=1, **FAST))
        assert model.seen == {1}
        assert {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"} == {2}


def test_cpu_threads_above_the_usable_cores_are_said_in_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """timm's benchmark habit of asking for more threads than the machine has measures threads
    sharing cores (oversubscribed): the job says so, naming the key and both counts."""
    import harness.suites.throughput.suite as throughput_suite

    monkeypatch.setattr(throughput_suite, "affinity_count", lambda: 2)
    adapter = TorchModuleAdapter.from_module(linear_digits(), name="lin", input_shape=(1, 8, 8))
    for threads, said in ((3, True), (2, False), (None, False)):
        suite = ThroughputSuite({"batch_sizes": [2], "cpu_threads": threads, **FAST})
        out = suite.run(adapter, digits().head(8), RunContext(bootstrap_resamples=20))
        notes = [n for n in out.notes if "cpu_threads" in n]
        assert bool(notes) == said, (threads, out.notes)
    assert notes == [] and said is False
    suite = ThroughputSuite({"batch_sizes": [2], "cpu_threads": 3, **FAST})
    out = suite.run(adapter, digits().head(8), RunContext(bootstrap_resamples=20))
    (note,) = [n for n in out.notes if "cpu_threads" in n]
    assert "cpu_threads 3" in note and "2 CPU core(s)" in note and "oversubscribed" in note


def test_a_busy_machine_is_recorded_and_said_in_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    """Timings taken while other processes kept the cores busy (load 9-14 on the 2-core machine)
    are steadily slow, not unstable, so no flag said so, and the environment recorded threads and
    device but not the load: a number from a busy machine read like one from a quiet one. The
    load average at the start and end of the measurement is recorded, and above the usable cores
    the job says so in a caveat naming both numbers."""
    import harness.suites.throughput.hardware as hardware
    import harness.suites.throughput.suite as throughput_suite

    monkeypatch.setattr(throughput_suite, "affinity_count", lambda: 2)
    adapter = TorchModuleAdapter.from_module(linear_digits(), name="lin", input_shape=(1, 8, 8))
    # a quiet machine after a job that used both cores reads about 2 (this process's threads)
    for load, said in (((9.5, 8.0, 7.0), True), ((1.2, 1.0, 0.9), False), ((2.6, 2, 1), False)):
        monkeypatch.setattr(hardware.os, "getloadavg", lambda load=load: load)
        suite = ThroughputSuite({"batch_sizes": [2], **FAST})
        out = suite.run(adapter, digits().head(8), RunContext(bootstrap_resamples=20))
        env = out.artifacts["measurement"]["environment"]
        assert env["load_average_start"] == list(load) == env["load_average_end"]
        notes = [n for n in out.notes if "load average" in n]
        assert bool(notes) == said, (load, out.notes)
    suite = ThroughputSuite({"batch_sizes": [2], **FAST})
    monkeypatch.setattr(hardware.os, "getloadavg", lambda: (9.5, 8.0, 7.0))
    out = suite.run(adapter, digits().head(8), RunContext(bootstrap_resamples=20))
    (note,) = [n for n in out.notes if "load average" in n]
    assert note.startswith("caveat: ") and "9.5" in note and "2 CPU core(s)" in note


def test_no_load_average_is_recorded_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform without `os.getloadavg` (Windows) records no load and says nothing."""
    import harness.suites.throughput.hardware as hardware

    def unavailable() -> tuple[float, float, float]:
        raise OSError("load average unobtainable")

    monkeypatch.setattr(hardware.os, "getloadavg", unavailable)
    adapter = TorchModuleAdapter.from_module(linear_digits(), name="lin", input_shape=(1, 8, 8))
    out = ThroughputSuite({"batch_sizes": [2], **FAST}).run(
        adapter, digits().head(8), RunContext(bootstrap_resamples=20)
    )
    env = out.artifacts["measurement"]["environment"]
    assert env["load_average_start"] is None and env["load_average_end"] is None
    assert not [n for n in out.notes if "load average" in n]


def test_per_sample_adapter_says_how_it_was_executed() -> None:
    """An adapter that does not batch (the int8 variant) is not labelled as batched."""
    from harness.core.adapter import Capabilities

    adapter = WordCountAdapter()
    adapter.capabilities = Capabilities(gradients=False, batching=False)
    config = ThroughputConfig(batch_sizes=[8], **FAST)
    result = measure(adapter, ["a b", "c d e"], config)
    (entry,) = result["conditions"]
    assert entry["execution"].startswith("one sample at a time")
    got = _records(result, config)
    assert "batch of 8 inputs executed one sample at a time" in (
        got["throughput_samples_per_s"].note or ""
    )
    batched = measure(WordCountAdapter(), ["a b", "c d e"], config)
    assert batched["conditions"][0]["execution"].startswith("batched")


def test_a_model_timed_through_logits_says_so() -> None:
    """A model without a torch module (callable, scikit-learn, ONNX) is timed through
    `adapter.logits`, its input conversion and output checks included, and shared the column
    with torch modules timed on their bare forward pass: the same nn.Linear as a numpy callable
    read 0.046 ms against 0.0125 ms as a torch model at batch 1, and nothing said why."""
    config = ThroughputConfig(batch_sizes=[2], **FAST)
    got = _records(measure(WordCountAdapter(), ["a b", "c d e"], config), config)
    for metric in ("throughput_samples_per_s", "latency_p50_ms", "latency_p99_ms"):
        assert "timed through adapter.logits" in (got[metric].note or ""), metric
    module = _records(measure(tabular(linear_tabular()), samples(), config), config)
    assert "adapter.logits" not in (module["throughput_samples_per_s"].note or "")


def test_a_tail_percentile_of_few_calls_says_it_is_the_slowest_calls() -> None:
    """p99 of the quickstart's 60 timed calls (p90 of fewer than 11) is interpolated between
    the two slowest calls: the slowest call read as a 1-in-100 latency, with no word of how
    many calls it came from."""
    config = ThroughputConfig(batch_sizes=[4], warmup_iters=0, timed_iters=10, rounds=1)
    model = ClockedModel([0.0] + [0.01] * 10)
    got = _records(measure(tabular(model), samples(), config, clock=model.clock), config)
    p99, p90 = got["latency_p99_ms"].note or "", got["latency_p90_ms"].note or ""
    assert "p99 of 10 calls lies between the two slowest" in p99
    assert "p90 of 10 calls lies between the two slowest" in p90
    many = ThroughputConfig(batch_sizes=[4], warmup_iters=0, timed_iters=101, rounds=1)
    model = ClockedModel([0.0] + [0.01] * 101)
    got = _records(measure(tabular(model), samples(), many, clock=model.clock), many)
    assert "two slowest" not in (got["latency_p99_ms"].note or "")


def test_missing_sync_is_detected_from_the_wall_clock() -> None:
    assert untimed_work([0.001] * 10, 0.5)
    assert not untimed_work([0.05] * 10, 0.51)


# -- planted slow model -----------------------------------------------------------------------------
def test_sleeping_model_is_measured_as_slow() -> None:
    adapter = tabular(SleepyLinear(seconds=0.02))
    result = measure(adapter, samples(), ThroughputConfig(batch_sizes=[2], **FAST))
    (entry,) = result["conditions"]
    assert min(entry["times_s"]) >= 0.02


# -- OOM ------------------------------------------------------------------------------------------
def test_a_model_that_caches_repeated_inputs_is_flagged() -> None:
    """Every timed call sees the same batch, so a model that answers it from a cache was
    measured at the cache's speed (1,300x its forward pass at batch 1, no flag); calls on
    inputs it has not seen now expose it."""
    config = ThroughputConfig(batch_sizes=[1, 4], **FAST)
    got = _records(measure(tabular(CachingLinear(0.01)), samples(), config), config)
    thr = got["throughput_samples_per_s"]
    assert "cached_outputs" in thr.flags and "answers a repeated input from a cache" in thr.note
    assert any("cached_outputs" in n for n in got["_notes"])
    slow = _records(measure(tabular(SleepyLinear(0.01)), samples(), config), config)
    assert "cached_outputs" not in slow["throughput_samples_per_s"].flags


@pytest.mark.parametrize("key", ["id", "data_ptr"])
@pytest.mark.parametrize("layout", ["eager", "channels_last"])
def test_every_fresh_call_is_an_input_no_cache_has_seen(key: str, layout: str) -> None:
    """A model memoising by `id(x)` or `x.data_ptr()` escaped `cached_outputs`: each fresh
    batch was released before the next was built, so the next one got the same id and
    address, and 4 of the 5 fresh calls hit the cache (measured: 5.26 ms, then 0.024 ms and
    less, against a 0.004 ms median; the quickest decides). Every fresh call must now miss."""
    from harness.suites.throughput.measure import FRESH_CALLS

    model = IdentityCachingLinear(key, features=64)
    adapter = TorchModuleAdapter.from_module(model, name="m", input_shape=(1, 8, 8))
    config = ThroughputConfig(batch_sizes=[64], variants=[layout], **FAST)  # type: ignore[list-item]
    x = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    (entry,) = measure(adapter, x, config)["conditions"]
    assert len(entry["fresh_times_s"]) == FRESH_CALLS
    # the calls: ..., the last timed call, then per fresh call two on the repeated batch
    *_, timed = model.keys[: -3 * FRESH_CALLS]
    checks = model.keys[-3 * FRESH_CALLS :]
    fresh = checks[::3]
    assert len(set(fresh)) == FRESH_CALLS and timed not in fresh
    assert not (set(checks) - set(fresh)) & set(fresh)


def test_a_machine_slowing_down_at_the_fresh_calls_is_not_called_a_cache() -> None:
    """On a busy 2-core CPU with 2 torch threads, calls switch between regimes (0.4 ms and
    24 ms for the same batch), and a switch at the fresh calls flagged a model that caches
    nothing as `cached_outputs` ("the model answers a repeated input from a cache"): 4 of 36
    conditions of a plain MLP (fresh 48-60 ms against a 0.62 ms median): calls made one at a
    time between other work ran slower than back-to-back ones. The repeated batch is now timed
    between the fresh calls the same way, and a machine slow on both is not a cache."""
    # the FLOP count, 1 warm-up, 2 rounds of 3 calls at 1 ms; from the fresh calls on, 50 ms
    slow_from_fresh = ClockedModel([0.0] + [1e-3] * 7 + [50e-3] * 15)
    config = ThroughputConfig(batch_sizes=[4], **FAST)
    result = measure(tabular(slow_from_fresh), samples(), config, clock=slow_from_fresh.clock)
    (entry,) = result["conditions"]
    assert entry["fresh_times_s"] == pytest.approx([50e-3] * 5)
    assert entry["repeat_times_s"] == pytest.approx([50e-3] * 5)
    got = _records(result, config)
    assert "cached_outputs" not in got["throughput_samples_per_s"].flags
    # a cache is still one: fast on the repeated batch before and after, slow on fresh inputs,
    # a one-entry memo too (each timed repeated call follows an untimed one it misses on)
    for cache in (CachingLinear(0.01), LastInputCachingLinear(0.01)):
        cached = _records(measure(tabular(cache), samples(), config), config)
        assert "cached_outputs" in cached["throughput_samples_per_s"].flags, type(cache)


def test_one_quick_fresh_call_does_not_hide_a_cache() -> None:
    """One fresh batch that takes the id or address of an input the memo saw before is
    answered from its cache; the rule took the quickest fresh call, so that one hid it."""
    from harness.suites.throughput.timing import cached_outputs

    timed = [4e-6] * 10
    assert cached_outputs(timed, [5.3e-3, 5.3e-3, 3.1e-5, 5.3e-3, 5.3e-3])
    assert not cached_outputs(timed, [5.3e-3, 5.3e-3, 4e-6, 5.3e-3, 4e-6])  # two: not a cache
    assert not cached_outputs(timed, [1.6e-4, 5e-6, 5e-6, 5e-6, 5e-6])  # one delayed call
    assert cached_outputs(timed, [5.3e-3])


def test_cpu_peak_memory_says_what_was_resident_before_and_the_weights() -> None:
    """CPU peak_memory_mb is the whole process's peak RSS, and the runner keeps every model it
    built: the same tiny Linear read 502.5 MiB run first and 693.0 MiB run after a model
    holding 200 MB, beside that model's 692.1, with a note naming only the measure. The note
    now gives what was resident when the condition started and the model's own weights."""
    model = torch.nn.Linear(10, 2)  # 22 float32 values: 88 bytes
    model.register_buffer("blob", torch.zeros(1 << 18))  # 1 MiB
    config = ThroughputConfig(batch_sizes=[4], **FAST)
    result = measure(tabular(model), samples(), config)
    (entry,) = result["conditions"]
    assert entry["resident_mb"] > 0
    assert result["weights_mb"] == pytest.approx((88 + (1 << 20)) / (1 << 20))
    note = _records(result, config)["peak_memory_mb"].note or ""
    assert "not this model's own memory" in note
    assert f"{entry['resident_mb']:.0f} MiB were resident when the condition started" in note
    assert "its parameters and buffers hold 1.0 MiB" in note


def test_fresh_inputs_stay_within_the_batchs_range() -> None:
    """The fresh inputs scaled every value by 1 + k x 2^-20, so a pixel at the task's upper
    bound 1.0 became 1.000001: a model that validates its declared bounds [0, 1] failed the
    throughput job with a traceback (`ValueError: inputs must lie in [0, 1], got max
    1.0000009536743164`), though suites promise inputs within the task's bounds."""
    from harness.suites.throughput.measure import FRESH_CALLS

    x = torch.tensor([[0.0, 0.5, 1.0] * 3 + [0.25]] * 4)
    for k in range(1, FRESH_CALLS + 1):
        fresh = fresh_batch(x, k)
        assert isinstance(fresh, torch.Tensor)
        assert fresh.min() >= 0 and fresh.max() <= 1
        assert (fresh[:, 1] != x[:, 1]).all()  # still new inputs
    gaps = torch.tensor([[float("nan"), 1.0, float("inf"), -2.0]])
    fresh = fresh_batch(gaps, 3)
    assert isinstance(fresh, torch.Tensor) and fresh[0, 0].isnan() and fresh[0, 2] == float("inf")
    assert -2.0 <= fresh[0, 3] < -1.99999 and 0.99999 < fresh[0, 1] < 1.0
    config = ThroughputConfig(batch_sizes=[2, 4], variants=["eager"], **FAST)
    result = measure(tabular(BoundsCheckingLinear()), x, config)
    assert [len(e["fresh_times_s"]) for e in result["conditions"]] == [FRESH_CALLS] * 2


def test_fresh_texts_are_new_tokens() -> None:
    """Fresh texts were the texts plus trailing spaces, which tokenizers drop: a cache keyed on
    the tokens (a server's response or prefix cache) answered every fresh call and escaped
    `cached_outputs`. Each fresh text now has its words rotated (the same words, so the same
    tokens to compute), and every fresh batch misses such a cache."""
    from harness.suites.throughput.measure import FRESH_CALLS

    texts = ["the movie was really very good", "a dull and long film that never ends", "fine"]
    model = TokenCachingAdapter()
    config = ThroughputConfig(batch_sizes=[3], **FAST)
    (entry,) = measure(model, texts, config)["conditions"]
    assert len(entry["fresh_times_s"]) == FRESH_CALLS
    assert model.misses == 1 + FRESH_CALLS  # the timed batch (the FLOP count is a torch one)
    assert fresh_batch(["a b c", "d"], 1) == ["b c a ", "d "]
    assert sorted(fresh_batch(["a b c"], 2)[0].split()) == ["a", "b", "c"]


def test_fresh_batches_are_new_inputs_of_the_same_cost() -> None:
    x = torch.tensor([[0.0, 1e-3, 0.5, 1.0, -2.0]])
    one, two = fresh_batch(x, 1), fresh_batch(x, 2)
    nonzero = x != 0
    assert (one[nonzero] != x[nonzero]).all() and (two[nonzero] != one[nonzero]).all()
    assert torch.allclose(one, x, rtol=1e-5) and one[0, 0] == 0  # no subnormal from a 0
    tiny = torch.finfo(torch.float32).tiny
    assert not ((one != 0) & (one.abs() < tiny)).any()
    assert fresh_batch(["a b", "c"], 2) == ["a b  ", "c  "]  # 2 words rotated by 2
    ids = torch.tensor([[1, 2], [3, 4], [5, 6]])
    assert fresh_batch(ids, 1).tolist() == [[5, 6], [1, 2], [3, 4]]


def test_oom_is_a_result_not_a_crash() -> None:
    adapter = tabular(OomAbove(limit=4))
    config = ThroughputConfig(batch_sizes=[2, 4, 8, 16], **FAST)
    result = measure(adapter, samples(), config)
    assert by_status(result) == [(2, "ok"), (4, "ok"), (8, "oom"), (16, "oom")]
    assert "fake out of memory" in result["conditions"][2]["reason"]
    assert "not run" in result["conditions"][3]["reason"]


def test_a_batch_larger_than_the_free_host_memory_is_not_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`batch_sizes: [100000000]` (a typo) built its inputs in host memory (25 GB for 64
    float32 features): on Linux the allocation can succeed and the kernel's OOM killer then
    ends the run, and whatever else runs beside it, with no line. A batch whose inputs alone
    need more than the memory available is recorded as `oom` without being built."""
    from harness.suites.throughput import measure as measure_module

    monkeypatch.setattr(measure_module, "available_host_bytes", lambda: 2_000)
    config = ThroughputConfig(batch_sizes=[2, 4, 64, 128], **FAST)
    result = measure(tabular(linear_tabular()), samples(), config)
    # 10 float32 features: 40 bytes a sample, twice (the batch and a fresh copy): 4 needs 320
    assert by_status(result) == [(2, "ok"), (4, "ok"), (64, "oom"), (128, "oom")]
    reason = result["conditions"][2]["reason"]
    assert reason.startswith("not run: batch size 64 needs 5.12 kB of host memory for its inputs")
    assert "2 kB are available" in reason
    assert result["conditions"][3]["reason"] == "not run: batch size 64 already ran out of memory"


def test_a_text_batch_larger_than_the_free_host_memory_is_not_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A text batch is a list of the task's strings, and its fresh copy new strings of the
    same length: batch_sizes: [100000000] on IMDB reviews would build some 200 GB of them.
    The check skipped every input that was not a tensor."""
    from harness.suites.throughput import measure as measure_module

    monkeypatch.setattr(measure_module, "available_host_bytes", lambda: 20_000)
    config = ThroughputConfig(batch_sizes=[2, 1000], **FAST)
    texts = ["the movie was " + "good " * 40] * 3
    result = measure(WordCountAdapter(), texts, config)
    assert by_status(result) == [(2, "ok"), (1000, "oom")]
    assert result["conditions"][1]["reason"].startswith("not run: batch size 1000 needs ")


def test_a_model_failing_on_larger_batches_keeps_the_smaller_ones() -> None:
    """A model that raises on batches above 2 failed the whole job ("model 'b1' raised
    RuntimeError during its forward pass ...: this model takes one sample at a time"): the
    batch sizes it ran were lost and the line named no batch size. The failing size is now an
    `error` condition naming it, the larger ones are not run; a model that fails at its first
    batch size still fails the job."""
    config = ThroughputConfig(batch_sizes=[1, 2, 4, 8], **FAST)
    result = measure(tabular(FailsAbove(limit=2)), samples(), config)
    assert by_status(result) == [(1, "ok"), (2, "ok"), (4, "error"), (8, "error")]
    assert result["conditions"][2]["reason"] == (
        "the model failed at batch size 4: RuntimeError: takes at most 2 samples per call"
    )
    assert result["conditions"][3]["reason"] == "not run: batch size 4 failed"
    with pytest.raises(ModelCallError, match="takes at most 0 samples"):
        measure(tabular(FailsAbove(limit=0)), samples(), config)


@pytest.mark.parametrize("order", [["fp32", "bf16"], ["bf16", "fp32"]])
def test_a_model_failing_in_one_precision_keeps_the_others(order: list[str]) -> None:
    """A model that raises only under bf16 autocast failed the whole job with `precisions: [fp32,
    bf16]` (`model 'm' raised RuntimeError ... : no bf16 kernel here`), losing the fp32 numbers
    it had measured. The failing condition is now an `error` entry naming its batch size and
    the job keeps the rest, in either order; it fails only when nothing was measured."""
    config = ThroughputConfig(batch_sizes=[1, 4], precisions=order, **FAST)
    result = measure(tabular(FailsUnderAutocast()), samples(), config)
    status = {(e["precision"], e["batch_size"]): e["status"] for e in result["conditions"]}
    assert status == {
        ("fp32", 1): "ok",
        ("fp32", 4): "ok",
        ("bf16", 1): "error",
        ("bf16", 4): "error",
    }
    bf16 = [e for e in result["conditions"] if e["precision"] == "bf16"]
    assert (
        bf16[0]["reason"] == "the model failed at batch size 1: RuntimeError: no bf16 kernel here"
    )
    assert bf16[1]["reason"] == "not run: batch size 1 failed"
    bf16_only = ThroughputConfig(batch_sizes=[1, 4], precisions=["bf16"], **FAST)
    with pytest.raises(ModelCallError, match=r"\(batch size 1\): no bf16 kernel here"):
        measure(tabular(FailsUnderAutocast()), samples(), bf16_only)


@pytest.mark.parametrize("path", ["module", "logits"])
def test_a_model_returning_nan_is_timed_with_a_flag_that_says_so(path: str) -> None:
    """A model whose outputs are NaN at a batch size (an fp16 overflow) was timed there without
    a word: its throughput read as any other's. The first call's logits of each condition are
    read after its timing; rows with NaN or inf flag its records `nonfinite_outputs`, with a
    note giving the count."""
    config = ThroughputConfig(batch_sizes=[1, 8], **FAST)
    adapter = tabular(NaNAbove(limit=4))
    if path == "logits":  # timed through adapter.logits (no torch module path)
        from harness.core.adapter import Capabilities

        adapter.capabilities = Capabilities(gradients=False)
    result = measure(adapter, samples(), config)
    rows = {e["batch_size"]: e["nonfinite_rows"] for e in result["conditions"]}
    assert rows == {1: 0, 8: 8}
    at8 = _records({**result, "conditions": [result["conditions"][1]]}, config)
    assert "nonfinite_outputs" in at8["throughput_samples_per_s"].flags
    assert "NaN or inf logits for 8 of the 8 inputs" in (at8["throughput_samples_per_s"].note or "")
    at1 = _records({**result, "conditions": [result["conditions"][0]]}, config)
    assert "nonfinite_outputs" not in at1["throughput_samples_per_s"].flags


def test_a_model_returning_fewer_rows_than_its_batch_is_not_timed_at_that_size() -> None:
    """A torch module timed through its forward pass that computes only the first 8 rows of a
    larger batch (its output is never read by the timing) was measured at batch 64 as 1.27
    million samples/s, 8x what it computes, with no flag: the check forward before a suite sends
    one batch of the spec's `batch_size` (4 here) and passed. Now the first call of every
    condition must return one row per input: the size that does not is an `error` condition
    naming the rows, and a model wrong at its first size fails the job in one line."""
    config = ThroughputConfig(batch_sizes=[1, 8, 64], **FAST)
    result = measure(tabular(FirstRowsAbove(limit=8)), samples(), config)
    assert by_status(result) == [(1, "ok"), (8, "ok"), (64, "error")]
    reason = result["conditions"][2]["reason"]
    assert reason.startswith("the model failed at batch size 64: ModelOutputError: model 'm' ")
    assert "returned 8 rows for a batch of 64 inputs" in reason
    with pytest.raises(ModelOutputError, match="returned 0 rows for a batch of 1 input"):
        measure(tabular(FirstRowsAbove(limit=0)), samples(), config)


def test_a_model_raising_at_its_first_batch_size_is_named() -> None:
    """A model whose forward pass raised at its first batch size reached the user as its bare
    exception (`harness.evaluate`: `ValueError: transient backend hiccup`; `harness run`:
    `FAILED: ValueError: ...`, no model named), where the accuracy suite says `model 'Bad'
    raised ValueError during its forward pass ...`. Both the FLOP count's pass and the timed
    calls now fail in that line, naming the model and the batch size."""
    config = ThroughputConfig(batch_sizes=[8], **FAST)
    with pytest.raises(ModelCallError) as at_flops:
        measure(tabular(FailsAbove(limit=0)), samples(), config)
    assert str(at_flops.value) == (
        "model 'm' raised RuntimeError during its forward pass in the throughput suite "
        "(batch size 1): takes at most 0 samples per call"
    )
    with pytest.raises(ModelCallError) as timed:  # call 1 counts FLOPs, call 3 is timed
        measure(tabular(FailsFromCall(3)), samples(), config)
    assert str(timed.value) == (
        "model 'm' raised ValueError during its forward pass in the throughput suite "
        "(batch size 8): transient backend hiccup"
    )


def test_auto_sweep_stops_at_oom_and_at_the_cap() -> None:
    adapter = tabular(OomAbove(limit=4))
    result = measure(adapter, samples(), ThroughputConfig(batch_sizes="auto", **FAST))
    assert by_status(result) == [(1, "ok"), (2, "ok"), (4, "ok"), (8, "oom")]
    capped = measure(
        tabular(linear_tabular()),
        samples(),
        ThroughputConfig(batch_sizes="auto", max_batch_size=8, **FAST),
    )
    assert by_status(capped) == [(1, "ok"), (2, "ok"), (4, "ok"), (8, "ok")]


def test_oom_record_and_headline_in_the_suite() -> None:
    suite = ThroughputSuite({"batch_sizes": [2, 8], **FAST})
    task = Task(
        name="t",
        modality="tabular",
        num_classes=2,
        class_names=("a", "b"),
        input_shape=(10,),
        bounds=(0.0, 1.0),
        data=datasets.Dataset.from_dict(
            {
                "sample_id": [str(i) for i in range(8)],
                "input": samples().tolist(),
                "label": [0, 1] * 4,
            }
        ),
    )
    out = suite.run(tabular(OomAbove(limit=4)), task, RunContext(bootstrap_resamples=50))
    assert out.table is None
    oom = [m for m in out.metrics if m.context.get("batch_size") == 8]
    assert [(m.metric, m.value) for m in oom] == [("throughput_samples_per_s", None)]
    assert oom[0].note.startswith("oom:") and oom[0].headline  # the largest configured batch
    assert any("batch size 8" in n for n in out.notes)


# -- FLOPs, peaks -----------------------------------------------------------------------------------
def test_flops_of_a_linear_layer() -> None:
    layer = torch.nn.Linear(64, 10)
    x = torch.rand(5, 64)
    assert flops_per_sample(lambda: layer(x), 5) == 2 * 64 * 10


def test_flops_per_sample_in_the_measurement() -> None:
    adapter = TorchModuleAdapter.from_module(linear_digits(), name="lin", input_shape=(1, 8, 8))
    result = measure(adapter, torch.rand(6, 1, 8, 8), ThroughputConfig(batch_sizes=[2], **FAST))
    assert result["flops_per_sample"] == 2 * 64 * 10


def test_peak_table_and_override() -> None:
    assert lookup_peak("cuda", "NVIDIA H100 PCIe", "bf16").tflops == 756.0
    assert lookup_peak("cuda", "NVIDIA H100 80GB HBM3", "bf16").tflops == 989.4
    assert lookup_peak("cuda", "NVIDIA L40S", "fp32").tflops == 91.6
    assert lookup_peak("cuda", "NVIDIA L4", "fp32").tflops == 30.3
    assert lookup_peak("cuda", "NVIDIA A10", "fp16").tflops == 125.0
    assert lookup_peak("cuda", "NVIDIA A100-SXM4-80GB", "fp16").tflops == 312.0
    assert lookup_peak("cuda", "Tesla T4", "bf16").tflops is None
    assert lookup_peak("cpu", "AMD EPYC", "fp32").tflops is None
    assert lookup_peak("cpu", "AMD EPYC", "fp32", {"fp32": 2.0}).tflops == 2.0


def test_percent_of_peak_uses_the_override() -> None:
    adapter = TorchModuleAdapter.from_module(linear_digits(), name="lin", input_shape=(1, 8, 8))
    suite = ThroughputSuite({"batch_sizes": [4], "peak_tflops": {"fp32": 1.0}, **FAST})
    out = suite.run(adapter, digits().head(16), RunContext(bootstrap_resamples=20))
    got = {m.metric: m for m in out.metrics}
    expected = 100 * got["achieved_tflops"].value / 1.0
    assert got["percent_of_peak"].value == pytest.approx(expected)
    assert got["achieved_tflops"].value == pytest.approx(
        1280 * got["throughput_samples_per_s"].value / 1e12
    )


# -- conditions -------------------------------------------------------------------------------------
def test_conditions_keys_and_skips() -> None:
    net = linear_digits()
    adapter = TorchModuleAdapter.from_module(net, name="lin", input_shape=(1, 8, 8))
    suite = ThroughputSuite(
        {
            "batch_sizes": [2, 4],
            "precisions": ["fp32", "fp16", "bf16"],
            "variants": ["eager", "channels_last"],
            "copy_modes": ["device", "host"],
            **FAST,
        }
    )
    out = suite.run(adapter, digits().head(16), RunContext(bootstrap_resamples=20))
    tput = [m for m in out.metrics if m.metric == "throughput_samples_per_s"]
    conds = {(m.context["precision"], m.context["variant"], m.context["batch_size"]) for m in tput}
    assert conds == {
        (p, v, b) for p in ("fp32", "bf16") for v in ("eager", "channels_last") for b in (2, 4)
    }
    assert len({m.key for m in tput}) == len(tput)  # every condition is its own board column
    assert {m.context["copy_mode"] for m in tput} == {"device"}
    assert any("fp16" in n and "CPU" in n for n in out.notes)
    assert any("copy_mode=host" in n for n in out.notes)
    heads = [m for m in out.metrics if m.headline]
    assert {m.metric for m in heads} == {
        "throughput_samples_per_s",
        "latency_p50_ms",
        "peak_memory_mb",
    }
    assert all(
        (m.context["batch_size"], m.context["precision"], m.context["variant"])
        == (4, "fp32", "eager")
        for m in heads
    )
    assert tput[0].context["device"] == "cpu" and tput[0].context["device_name"]
    assert net[1].weight.is_contiguous()  # channels_last was undone (the module the adapter runs)


def test_channels_last_skipped_for_tabular_inputs() -> None:
    result = measure(
        tabular(linear_tabular()),
        samples(),
        ThroughputConfig(batch_sizes=[2], variants=["channels_last"], **FAST),
    )
    (entry,) = result["conditions"]
    assert entry["status"] == "skipped" and "4-D" in entry["reason"]


def test_channels_last_forward_restores_the_module() -> None:
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten())
    adapter = TorchModuleAdapter.from_module(net, name="c", input_shape=(1, 8, 8))
    cond = Condition(batch_size=2, precision="fp32", variant="channels_last", copy_mode="device")
    with prepared_forward(adapter, torch.rand(2, 1, 8, 8), cond, CPU) as fn:
        assert net[0].weight.is_contiguous(memory_format=torch.channels_last)
        fn()
    assert net[0].weight.is_contiguous()


def test_text_adapter_reports_tokens_per_second() -> None:
    texts = ["a b c", "d e", "f"]
    task = Task(
        name="txt",
        modality="text",
        num_classes=2,
        class_names=("x", "y"),
        input_shape=(),
        bounds=None,
        data=datasets.Dataset.from_dict(
            {"sample_id": ["0", "1", "2"], "input": texts, "label": [0, 1, 0]}
        ),
    )
    suite = ThroughputSuite({"batch_sizes": [4], "precisions": ["fp32", "bf16"], **FAST})
    out = suite.run(WordCountAdapter(), task, RunContext(bootstrap_resamples=20))
    got = {m.metric: m for m in out.metrics if m.context.get("precision") == "fp32"}
    tokens = 3 + 2 + 1 + 3  # batch of 4 built by repeating the 3 texts
    assert got["throughput_tokens_per_s"].value == pytest.approx(
        got["throughput_samples_per_s"].value * tokens / 4
    )
    assert out.artifacts["measurement"]["path"] == "logits"
    assert any("bf16" in n and "torch module" in n for n in out.notes)


# -- config errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"batch_sizes": [0, 8]}, "suites.throughput.batch_sizes"),
        ({"batch_sizes": [-1]}, "batch sizes must be >= 1"),
        ({"batch_sizes": []}, "suites.throughput.batch_sizes"),
        ({"precisions": ["fp8"]}, "suites.throughput.precisions"),
        ({"timed_iters": 1}, "suites.throughput.timed_iters"),
        ({"peak_tflops": {"fp32": -1}}, "suites.throughput.peak_tflops"),
        ({"batch_size": [1]}, "unknown key"),
        # a cap that caps nothing: [1, 8, 64] ran as listed, the headline at 64 (the cap was 4)
        ({"batch_sizes": [1, 8, 64], "max_batch_size": 4}, "suites.throughput.max_batch_size"),
    ],
)
def test_config_errors_name_the_key(config: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        ThroughputSuite(config)


@pytest.mark.parametrize("value", [64, "64", "Auto", 6.5])
def test_batch_sizes_not_a_list_says_what_to_write(value: object) -> None:
    """`batch_sizes: 64` (one size, not a list) gave pydantic's two union branches:
    `suites.throughput.batch_sizes.list[int]: Input should be a valid list (got 64);
    suites.throughput.batch_sizes."literal['auto']": Input should be 'auto' (got 64)`."""
    with pytest.raises(ConfigError) as err:
        ThroughputSuite({"batch_sizes": value})
    message = str(err.value)
    assert message.startswith("suites.throughput.batch_sizes: ")
    assert "a list of batch sizes" in message and "auto" in message
    assert "literal" not in message and "list[int]" not in message
    assert ThroughputSuite({"batch_sizes": (1, 4)}).config.batch_sizes == [1, 4]  # from Python


# -- isolation --------------------------------------------------------------------------------------
@pytest.mark.slow  # a throughput run in a fresh process (make test-slow; CI runs it)
def test_subprocess_returns_the_same_json_structure() -> None:
    adapter = tabular(linear_tabular())
    config = ThroughputConfig(batch_sizes=[2, 4], **FAST)
    local = measure(adapter, samples(), config)
    remote = measure_isolated(adapter, samples(), config, timeout_s=120)
    assert remote.pop("isolation") == "subprocess"

    def shape(obj: object) -> object:
        if isinstance(obj, dict):
            return {k: shape(v) for k, v in obj.items() if k != "environment"}
        if isinstance(obj, list):
            return [shape(v) for v in obj[:1]] + [len(obj)]
        return type(obj).__name__

    assert shape(remote) == shape(local)
    assert set(remote["environment"]) == set(local["environment"])
    assert remote["flops_per_sample"] == local["flops_per_sample"] == 2 * 10 * 2


@pytest.mark.slow  # a throughput run in a fresh process (make test-slow; CI runs it)
def test_a_model_failing_in_the_subprocess_is_one_line() -> None:
    """In a measurement subprocess (the default on GPU, `isolation: subprocess`), a model
    that raised at its first batch size reached the user as `RuntimeError: throughput
    subprocess for model 'once' failed (exit 1):` and the child's traceback, 15 lines. The
    child's one-line error now comes back as the same error in the parent."""
    config = ThroughputConfig(batch_sizes=[8], **FAST)
    with pytest.raises(ModelCallError) as err:
        measure_isolated(tabular(FailsFromCall(3)), samples(), config, timeout_s=120)
    assert str(err.value) == (
        "model 'm' raised ValueError during its forward pass in the throughput suite "
        "(batch size 8): transient backend hiccup"
    )


def test_unpicklable_model_falls_back_or_errors(tmp_path: Path) -> None:
    class Local(torch.nn.Module):  # a local class cannot be pickled into a subprocess
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(10, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x)

    adapter = tabular(Local())
    with pytest.raises(IsolationUnavailableError, match="isolation: inprocess"):
        measure_isolated(adapter, samples(), ThroughputConfig(batch_sizes=[2], **FAST))


class CountingDecoder:
    """Wraps a task's decoder and counts the rows it decodes."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner, self.rows = inner, 0

    def decode(self, column, sample_ids):  # noqa: ANN001, ANN201
        self.rows += len(sample_ids)
        return self.inner.decode(column, sample_ids)

    def source_digest(self, column):  # noqa: ANN001, ANN201
        return self.inner.source_digest(column)

    def describe(self) -> str:
        return self.inner.describe()


def test_streamed_task_decodes_only_the_rows_batches_are_built_from(tmp_path: Path) -> None:
    """A streamed corruption set (600 rows): only BASE_SAMPLES rows are decoded, a seeded
    stratified subset that covers every cell, the same for the same seed."""
    from dataclasses import replace

    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec
    from harness.suites.throughput.suite import BASE_SAMPLES, base_samples
    from tests.data.layouts import cifar_c

    cifar_c(tmp_path / "c10c", ("fog", "snow", "frost"), per_severity=40)
    spec = TaskSpec.model_validate({"name": "c", "modality": "image", "source": "c10c"})
    loaded = load_task(spec, base_dir=tmp_path)
    counter = CountingDecoder(loaded.decoder)
    task = replace(loaded, decoder=counter)
    assert len(task) == 600 > BASE_SAMPLES
    x = base_samples(task, seed=3)
    assert x.shape == (BASE_SAMPLES, 3, 8, 8) and counter.rows == BASE_SAMPLES
    chosen = task.subset(BASE_SAMPLES, seed=3, purpose="throughput")
    assert set(map(tuple, chosen.cells()[["corruption", "severity"]].to_numpy())) == {
        (c, s) for c in ("fog", "snow", "frost") for s in range(1, 6)
    }
    assert torch.equal(base_samples(task, seed=3), x)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 3))
    img = TorchModuleAdapter.from_module(net, name="lin", input_shape=(3, 8, 8))
    counter.rows = 0
    suite = ThroughputSuite({"batch_sizes": [4], **FAST})
    result = suite.run(img, task, RunContext(seed=0, bootstrap_resamples=20))
    assert counter.rows == BASE_SAMPLES and result.metrics


def test_a_model_in_its_own_float_type_is_measured_and_labelled_in_it() -> None:
    """A `model.half()` runs in float16 (the adapter casts its inputs), whatever the condition's
    `precision` (an autocast setting) says: its records said precision=fp32 and nothing else, a
    float16 timing labelled float32, and its percent of peak was taken against the fp32 peak.
    The context now names the weights' type and the peak is the one the model computes in; a
    float32 model's records are as before (no `weights` key)."""
    config = ThroughputConfig(batch_sizes=[4], **FAST)
    half = tabular(torch.nn.Linear(10, 3).half())
    result = measure(half, samples(), config)
    assert result["weights"] == "fp16"
    got = _records(result, config)
    assert got["throughput_samples_per_s"].context["weights"] == "fp16"
    assert got["throughput_samples_per_s"].context["precision"] == "fp32"
    plain = measure(tabular(torch.nn.Linear(10, 3)), samples(), config)
    assert plain["weights"] is None
    assert "weights" not in _records(plain, config)["throughput_samples_per_s"].context

    from harness.suites.throughput.records import build_records

    on_gpu = {**result, "flops_per_sample": 60.0}
    on_gpu["environment"] = {**result["environment"], "device_type": "cuda"}
    on_gpu["environment"]["device_name"] = "NVIDIA H100 80GB HBM3"
    records, _ = build_records(
        suite="throughput",
        specs={s.name: s for s in ThroughputSuite({"batch_sizes": [4]}).metrics},
        measurement=on_gpu,
        config=config,
        seed=0,
        resamples=200,
    )
    (peak,) = [r for r in records if r.metric == "percent_of_peak"]
    assert "fp16" in (peak.note or "") and peak.context["weights"] == "fp16", peak.note


def test_a_variation_just_past_the_limit_does_not_read_as_the_limit() -> None:
    """A condition flagged at 10.4% said "the rounds vary by 10% (...; limit 10%)": flagged
    at what reads as the limit itself (probe86). Decimals are added until the two differ."""
    import numpy as np

    from harness.stats.timing import coefficient_of_variation
    from harness.suites.throughput.records import _timing_flags

    rounds = [[1.0], [1.0], [1.0], [1.0]]
    spread = np.array([1.0, 1.0 + 0.1274, 1.0, 1.0 - 0.1274])
    cv = coefficient_of_variation(spread)
    assert cv is not None and 0.1 < cv < 0.105
    entry = {"times_s": [1.0] * 4, "wall_s": 4.0, "batch_size": 4}
    flags, note = _timing_flags(entry, {"throughput": spread}, 0.10, rounds)
    assert flags == ("unstable_timing",)
    assert note == (
        f"timing unstable: the rounds vary by {cv:.1%} (coefficient of variation; limit 10%); "
        "comparisons are inconclusive"
    )
