"""Tests for the counter-based RNG: exact SplitMix64, moments, independence, batch invariance."""

from __future__ import annotations

import math
import sys

import pytest
import torch

from harness.suites import counter_rng

_MASK = (1 << 64) - 1


def _splitmix_reference(x: int) -> int:
    z = x & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def test_splitmix64_matches_python_integer_reference() -> None:
    values = [0, 1, 12345, (1 << 63) - 1, 1 << 63, _MASK, 0xDEADBEEFCAFEBABE]
    signed = [v - (1 << 64) if v >= 1 << 63 else v for v in values]
    got = counter_rng.splitmix64(torch.tensor(signed, dtype=torch.int64))
    assert [int(g) & _MASK for g in got] == [_splitmix_reference(v) for v in values]


def test_uniform_moments_and_range() -> None:
    u = counter_rng.uniform(torch.tensor([1, 2], dtype=torch.int64), (200_000,))
    assert u.shape == (2, 200_000) and u.dtype == torch.float32
    assert float(u.min()) > 0.0 and float(u.max()) < 1.0
    assert abs(float(u.mean()) - 0.5) < 0.003
    assert abs(float(u.var()) - 1 / 12) < 0.001
    hist = torch.histc(u[0], bins=10, min=0.0, max=1.0) / 200_000
    assert float((hist - 0.1).abs().max()) < 0.005


def test_normal_moments() -> None:
    n = counter_rng.normal(torch.tensor([3], dtype=torch.int64), (400_000,))[0].double()
    assert abs(float(n.mean())) < 0.01
    assert abs(float(n.std()) - 1.0) < 0.01
    assert abs(float((n**3).mean())) < 0.03
    assert abs(float((n**4).mean()) - 3.0) < 0.06


@pytest.mark.parametrize("rate", [0.05, 3.0, 12.0, 60.0, 500.0])
def test_poisson_mean_and_variance(rate: float) -> None:
    lam = torch.full((2, 100_000), rate)
    k = counter_rng.poisson(torch.tensor([5, 6], dtype=torch.int64), lam).double()
    assert torch.equal(k, k.round()) and float(k.min()) >= 0
    tol = 4 * math.sqrt(rate / 200_000) + 1e-3
    assert abs(float(k.mean()) - rate) < tol
    assert abs(float(k.var()) / rate - 1.0) < 0.03


def test_poisson_small_rate_pmf_is_exact() -> None:
    k = counter_rng.poisson(torch.tensor([9], dtype=torch.int64), torch.full((1, 200_000), 2.0))
    for value in range(5):
        expected = math.exp(-2.0) * 2.0**value / math.factorial(value)
        assert abs(float((k == value).double().mean()) - expected) < 0.004


def test_randint_range_and_balance() -> None:
    r = counter_rng.randint(torch.tensor([1], dtype=torch.int64), -2, 2, (40_000,))
    counts = torch.bincount(r[0] + 2, minlength=4).double() / 40_000
    assert int(r.min()) == -2 and int(r.max()) == 1
    assert float((counts - 0.25).abs().max()) < 0.01


def test_streams_and_seeds_are_independent() -> None:
    a = counter_rng.uniform(torch.tensor([1, 2], dtype=torch.int64), (50_000,))
    b = counter_rng.uniform(torch.tensor([1], dtype=torch.int64), (50_000,), stream=1)
    corr_seeds = torch.corrcoef(torch.stack((a[0], a[1])))[0, 1]
    corr_streams = torch.corrcoef(torch.stack((a[0], b[0])))[0, 1]
    assert abs(float(corr_seeds)) < 0.02 and abs(float(corr_streams)) < 0.02
    assert not torch.equal(a[0], b[0])


def test_values_depend_only_on_seed_not_on_batch_or_global_state() -> None:
    seeds = torch.tensor([11, 22, 33], dtype=torch.int64)
    torch.manual_seed(0)
    batch = counter_rng.normal(seeds, (4, 5))
    torch.manual_seed(123)
    alone = counter_rng.normal(seeds[1:2], (4, 5))
    assert torch.equal(batch[1:2], alone)


def test_known_values_are_stable_across_devices_and_versions() -> None:
    # Pure int64 arithmetic: these bits are what any device (CPU or CUDA) must produce.
    bits = counter_rng.random_bits(torch.tensor([42], dtype=torch.int64), (3,))
    salt = counter_rng._splitmix64_int(counter_rng._GOLDEN)  # stream 0
    key = _splitmix_reference(42 ^ salt)
    expected = [_splitmix_reference(key + (i + 1) * 0x9E3779B97F4A7C15) for i in range(3)]
    assert [int(v) & _MASK for v in bits[0]] == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu() -> None:
    seeds = torch.tensor([1, 2, 3], dtype=torch.int64)
    cpu = counter_rng.random_bits(seeds, (1000,))
    gpu = counter_rng.random_bits(seeds.cuda(), (1000,)).cpu()
    assert torch.equal(cpu, gpu)


def test_uniform_many_equals_separate_calls() -> None:
    seeds = torch.tensor([4, 5, 6], dtype=torch.int64)
    # Odd sizes (a word's second field unused), a repeated stream, an empty draw: each draw is
    # its own sequence from counter 1, not a continuation of the one before.
    draws = [((2, 3), 7), ((1,), 0), ((4, 4), 12), ((5, 5), 7), ((0,), 3), ((3, 1, 3), 12)]
    many = counter_rng.uniform_many(seeds, draws)
    for got, (shape, stream) in zip(many, draws, strict=True):
        assert torch.equal(got, counter_rng.uniform(seeds, shape, stream))
    assert counter_rng.uniform_many(seeds, []) == []


@pytest.mark.parametrize("scale", [3.0, 12.0, 500.0])
def test_poisson_table_path_equals_general_path(scale: float) -> None:
    # 8-bit levels times a constant: the tabled CDF (float64) and the incomplete-gamma path
    # (float32) invert the same uniforms, so they agree except where u sits within float32
    # rounding of a CDF value.
    levels = torch.arange(256, dtype=torch.float32) / 255.0 * scale
    rates = levels[torch.randint(0, 256, (4, 20_000), generator=torch.Generator().manual_seed(0))]
    seeds = torch.tensor([1, 2, 3, 4], dtype=torch.int64)
    tabled = counter_rng.poisson(seeds, rates, table_rates=levels)
    general = counter_rng.poisson(seeds, rates)
    assert float((tabled != general).double().mean()) < 1e-4
    assert abs(float(tabled.double().mean() / rates.double().mean()) - 1.0) < 0.01


def test_poisson_table_path_pmf_and_mixed_elements() -> None:
    levels = torch.tensor([0.0, 0.5, 2.0, 7.0])
    k = counter_rng.poisson(
        torch.tensor([9], dtype=torch.int64), torch.full((1, 200_000), 2.0), table_rates=levels
    )
    for value in range(5):
        expected = math.exp(-2.0) * 2.0**value / math.factorial(value)
        assert abs(float((k == value).double().mean()) - expected) < 0.004
    # Tabled, untabled (2.5, 9.0: beyond the table) and zero rates mixed; a sample's values do
    # not depend on its batch.
    rates = torch.tensor([[0.0, 0.5, 2.5, 7.0, 9.0] * 40, [2.0, 2.5, 0.0, 0.5, 7.0] * 40])
    seeds = torch.tensor([5, 6], dtype=torch.int64)
    both = counter_rng.poisson(seeds, rates, table_rates=levels)
    alone = counter_rng.poisson(seeds[1:], rates[1:], table_rates=levels)
    assert torch.equal(both[1:], alone)
    assert torch.equal(both[rates == 0], torch.zeros_like(both[rates == 0]))
    assert torch.equal(both, counter_rng.poisson(seeds, rates, table_rates=levels))


@pytest.mark.parametrize(("low", "high"), [(-2, 2), (0, 8), (-1, 0), (3, 4), (0, 5), (-3, 4)])
def test_randint_equals_floor_of_53_bit_uniform(low: int, high: int) -> None:
    # The definition for every span (powers of two take an integer shortcut).
    seeds = torch.tensor([3, 4], dtype=torch.int64)
    r = counter_rng.randint(seeds, low, high, (500,), stream=2)
    bits = counter_rng.random_bits(seeds, (500,), stream=2)
    k = torch.tensor([[(int(v) & _MASK) >> 11 for v in row] for row in bits], dtype=torch.float64)
    expected = torch.floor(k / 2.0**53 * (high - low)).to(torch.int64) + low
    assert torch.equal(r, expected)


@pytest.mark.parametrize(("low", "high"), [(-4, 4), (-3, 3), (0, 1), (5, 261)])
def test_small_randint_is_the_scaled_16_bit_field(low: int, high: int) -> None:
    # The definition, from the 16-bit fields by hand (low bits first): f * span // 2**16.
    seeds = torch.tensor([3, 4], dtype=torch.int64)
    r = counter_rng.small_randint(seeds, low, high, (2, 250), stream=5)
    words = counter_rng.random_bits(seeds, (125,), stream=5)
    fields = [
        [(int(v) & _MASK) >> s & 0xFFFF for v in row for s in (0, 16, 32, 48)] for row in words
    ]
    expected = torch.tensor(fields, dtype=torch.int64) * (high - low) // 2**16 + low
    assert torch.equal(r, expected.reshape(2, 2, 250))


def test_small_randint_fields_by_shifts_equal_the_int16_view(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The big-endian path (fields by explicit shifts) gives the little-endian view's numbers.
    seeds = torch.tensor([3, 4, 5], dtype=torch.int64)
    view = counter_rng.small_randint(seeds, -3, 3, (7, 9), stream=1)
    monkeypatch.setattr(sys, "byteorder", "big")
    assert torch.equal(counter_rng.small_randint(seeds, -3, 3, (7, 9), stream=1), view)


def test_small_randint_is_uniform_and_checks_its_span() -> None:
    r = counter_rng.small_randint(torch.tensor([9], dtype=torch.int64), -3, 3, (60_000,))
    counts = torch.bincount(r[0] + 3, minlength=6).double() / 60_000
    assert int(r.min()) == -3 and int(r.max()) == 2
    assert float((counts - 1 / 6).abs().max()) < 0.01
    for low, high in ((0, 0), (0, 257)):
        with pytest.raises(ValueError, match="small_randint needs"):
            counter_rng.small_randint(torch.tensor([1], dtype=torch.int64), low, high, (3,))


@pytest.mark.parametrize("scale", [0.7, 3.0, 12.0, 500.0])
def test_poisson_table_finds_every_8_bit_level(scale: float) -> None:
    # Otherwise the fast path would silently fall back to the incomplete gamma everywhere.
    levels = torch.arange(256, dtype=torch.float32) / 255.0 * scale
    idx = torch.arange(256).repeat(3)
    assert torch.equal(counter_rng._table_level(levels, levels[idx]), idx)
    off_grid = levels[1:] - levels[1] / 3
    assert not bool((levels[counter_rng._table_level(levels, off_grid)] == off_grid).any())


# ---------------------------------------------------------------------------------------------
# The extremes of the uniforms, exhaustively (a float32 rounding of (2**24 - 0.5) / 2**24 to 1.0
# once made shot noise index with garbage and crash on 2**-24 of the draws).
# ---------------------------------------------------------------------------------------------

_N_UNITS = 1 << counter_rng.UNIT_BITS


def test_open_unit_is_strictly_inside_zero_one_for_every_k() -> None:
    k = torch.arange(_N_UNITS, dtype=torch.int64)
    u = counter_rng.open_unit(k)
    assert u.dtype == torch.float32
    assert float(u.min()) == 2.0**-24 and float(u.max()) == 1.0 - 2.0**-24
    assert bool((u > 0).all()) and bool((u < 1).all())
    assert bool((u[1:] > u[:-1]).all())  # strictly increasing: no two k share a value
    assert torch.equal(u + u.flip(0), torch.ones_like(u))  # exact and symmetric about 1/2
    assert torch.equal(u.double(), (k.double() + 0.5) / _N_UNITS)  # no rounding anywhere


def test_all_ones_words_give_the_largest_uniform_below_one() -> None:
    words = torch.full((3,), -1, dtype=torch.int64)  # every bit set: the top of every field
    assert float(counter_rng.open_unit(counter_rng.top_bits(words.clone()))[0]) < 1.0
    zeros = torch.zeros(3, dtype=torch.int64)
    assert float(counter_rng.open_unit(counter_rng.top_bits(zeros))[0]) > 0.0


def _extreme_uniforms(count: int = 1 << 16) -> torch.Tensor:
    """Every uniform at the bottom and at the top of the range (count of each)."""
    k = torch.cat((torch.arange(count), torch.arange(_N_UNITS - count, _N_UNITS)))
    return counter_rng.open_unit(k)


def test_normal_and_erfinv_are_finite_at_every_extreme_uniform() -> None:
    u = _extreme_uniforms()
    assert bool(torch.isfinite(torch.special.erfinv(2.0 * u - 1.0)).all())
    radius = torch.sqrt(-2.0 * torch.log(u))
    assert bool(torch.isfinite(radius).all()) and float(radius.max()) < 5.8


@pytest.mark.parametrize("rate", [0.0, 0.3, 3.0, 60.0, 500.0])
@pytest.mark.parametrize("tabled", [False, True])
def test_poisson_inversion_is_exact_at_every_extreme_uniform(rate: float, tabled: bool) -> None:
    from scipy.stats import poisson as scipy_poisson

    u = _extreme_uniforms()
    lam = torch.full_like(u, rate)
    table = torch.tensor([0.0, rate / 2, rate], dtype=torch.float32) if tabled else None
    k = counter_rng.poisson_from_uniform(u, lam, table_rates=table)
    assert bool(torch.isfinite(k).all())
    expected = scipy_poisson.ppf(u.double().numpy(), rate) if rate > 0 else 0.0 * u.numpy()
    assert torch.equal(k.double(), torch.as_tensor(expected, dtype=torch.float64))


@pytest.mark.parametrize("width", [16, 32, 64])
def test_random_fields_pack_words_from_the_top(width: int) -> None:
    seeds = torch.tensor([7, 8], dtype=torch.int64)
    fields = counter_rng.random_fields(seeds, (3, 5), stream=4, width=width)
    words = counter_rng.random_bits(seeds, (15,), stream=4)
    per_word = 64 // width
    for b in range(2):
        for i, value in enumerate(fields[b].reshape(-1).tolist()):
            word = int(words[b, i // per_word]) & _MASK
            shift = 64 - width * (i % per_word + 1)
            assert value & _MASK == (word >> shift) & ((1 << width) - 1)
    u = counter_rng.uniform(seeds, (3, 5), stream=4)
    k = counter_rng.random_fields(seeds, (3, 5), stream=4, width=32) >> 9
    assert torch.equal(u, counter_rng.open_unit(k))


def test_normal_is_box_muller_of_uniform_pairs_in_element_order() -> None:
    """Element 2i is r cos(2 pi u2) and 2i + 1 is r sin(2 pi u2), r = sqrt(-2 ln u1), from the
    uniform pair (u1, u2) of word i: the definition, computed here pair by pair with stack."""
    seeds = torch.tensor([11, -4, 2**62], dtype=torch.int64)
    for shape in ((3, 5), (1, 1), (2, 7, 4)):
        n = math.prod(shape)
        u = counter_rng.uniform(seeds, (-(-n // 2), 2), stream=9)
        radius = u[:, :, 0].log().mul(-2.0).sqrt()
        angle = u[:, :, 1].mul(2.0 * math.pi)
        pairs = torch.stack((radius * angle.cos(), radius * angle.sin()), dim=-1)
        expected = pairs.reshape(3, -1)[:, :n].reshape(3, *shape)
        assert torch.equal(counter_rng.normal(seeds, shape, stream=9), expected)


@pytest.mark.parametrize("shape", [(4, 6), (1, 1), (0, 3), (3, 0)])
def test_interleave_equals_stack_on_the_last_dim(shape: tuple[int, int]) -> None:
    gen = torch.Generator().manual_seed(1)
    even, odd = torch.randn(*shape, generator=gen), torch.randn(*shape, generator=gen)
    expected = torch.stack((even, odd), dim=-1).reshape(shape[0], 2 * shape[1])
    got = counter_rng.interleave(even, odd)
    assert got.dtype == torch.float32 and got.shape == expected.shape
    assert torch.equal(got, expected)


@pytest.mark.parametrize("width", [8, 16, 32, 64])
def test_an_empty_batch_gives_empty_draws(width: int) -> None:
    """No samples left (e.g. a model that gets every sample wrong before an attack's check):
    empty draws of the right shape, not a reshape error."""
    seeds = torch.zeros(0, dtype=torch.int64)
    assert counter_rng.random_fields(seeds, (3, 5), width=width).shape == (0, 3, 5)
    assert counter_rng.uniform(seeds, (1, 8, 8)).shape == (0, 1, 8, 8)
    assert counter_rng.normal(seeds, (4,)).shape == (0, 4)
