"""The paired sign-flip (randomisation) test of a mean difference, and the interval inverting it.

Under the null that A and B are exchangeable within each pair, each per-sample difference d_i
is as likely as -d_i, so the 2^n ways of flipping the signs of d are equally likely and the
two-sided p-value is the share of them whose |sum| is at least the observed one (Fisher 1935,
Pitman 1937). It is exact at any n for differences symmetric about 0, heavy tails included,
where the paired t-test is conservative and a bootstrap of the mean rejects too often (NLL
differences of two equally good models at 10-50 pairs: 0.065-0.10 at alpha 0.05 with the
t-calibrated bootstrap, 0.04-0.05 here: docs/statistics.md). On 0/1 outcomes it is McNemar's
exact test (only the discordant pairs can flip).

- Up to `EXACT_MAX` pairs every flip is counted: the 2^(n-1) that keep the first sign, each
  standing for itself and its mirror (all signs reversed, the same |sum|). The p-value is then
  the exact one, never below 2^(1 - n) (the data and its mirror).
- Above, `m` seeded random flips give the Monte Carlo p-value (b + 1) / (m + 1), b the flips
  at least as extreme: valid at any m (the observed signs are one of m + 1 exchangeable draws).
  It never goes below 1 / (m + 1) (0.0005 at 2,000 flips), which Holm's correction over 100 or
  more tests (the quickstart gate's 109-139) multiplies past 0.05: a Brier score that rose on
  every sample passed the gate as not significant. When no flip is as extreme (b = 0) and
  1 / (m + 1) is below alpha, the p-value is the smaller of that and Hoeffding's bound on the
  exact one, P(|sum s_i d_i| >= |sum d_i|) <= 2 exp(-(sum d_i)^2 / (2 sum d_i^2)) (`tail_bound`).
  Still valid: below 1 / (m + 1) only the bound, itself at least the exact p-value, can reject;
  at or above it, p <= level exactly when the Monte Carlo p-value is. The interval (at alpha,
  already excluding 0 there) is unchanged.

The interval is the set of shifts delta for which the test of d - delta does not reject. A flip
of the samples in S (k of them) counts at delta exactly when
|sum s_i (d_i - delta)| >= |sum (d_i - delta)|, which rearranges to
(F - k delta)(G - (n - k) delta) <= 0 with F, G the sums of d over S and over the rest: delta
lies between the two subset means F / k and G / (n - k). Each such interval holds the overall
mean (a weighted mean of the two), so the count of flips at delta falls as delta moves away
from the mean on either side, the accepted shifts form one interval, and its ends are order
statistics of the subset means: no search. The p-value at 0 is read off the same subset means
(a flip counts at 0 when F G <= 0), so p < alpha exactly when the interval excludes 0.

Ties: whether a flip ties the observed |sum| (F or G exactly 0) decides the count on
differences in fifths (an error rate over five severities), and float sums of the same values
in another order may miss 0 by a few ulps; a sum within `TIE` x sum |d| of 0 is taken as 0, so
the result does not depend on the order of the sums. Sums are numpy's (pairwise) over fixed
layouts, so the results are the same bit for bit on every call. No scipy here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EXACT_MAX = 16
"""Up to this many pairs every sign flip is counted (2^15 of them, with their mirrors)."""
TIE = 1e-12
"""A subset sum within this share of sum |d| of 0 is a tie with 0 (module docstring)."""

# bit j (most significant first, np.unpackbits' order) of each byte value
_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1)
_POPCOUNT = _BYTE_BITS.sum(axis=1).astype(np.uint8)  # set bits of each byte value
_CHUNK = 1 << 20  # gathered values per block of flips
_BLOCK = 1024  # bytes of pairs (columns of the table, 2 MiB of it) per block


@dataclass(frozen=True)
class Flips:
    """m random sign flips of n pairs: `packed[j, b]` is the byte whose bits (most significant
    first) say which of pairs 8 b to 8 b + 7 flip j flips (one byte per 8 pairs: 2,000 flips of
    10^6 pairs hold 250 MB); `sizes[j]` is how many pairs it flips."""

    n: int
    packed: np.ndarray
    sizes: np.ndarray


def random_flips(gen: np.random.Generator, n: int, m: int) -> Flips:
    """m seeded random sign flips of n pairs, each pair flipped with probability 1/2."""
    width = (n + 7) // 8
    packed = gen.integers(0, 256, size=(m, width), dtype=np.uint8)
    spare = 8 * width - n
    if spare:  # the bits past the last pair flip nothing
        packed[:, -1] &= np.uint8((0xFF << spare) & 0xFF)
    return Flips(n=n, packed=packed, sizes=_POPCOUNT[packed].sum(axis=1, dtype=np.int64))


def exact_sums(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F, k) for every subset S of the pairs after the first: the sum of d over S and |S|
    (2^(n-1) of each, the empty set first). Each sum adds its members in order."""
    sums = np.zeros(1)
    sizes = np.zeros(1, dtype=np.int64)
    for value in d[1:]:
        sums = np.concatenate([sums, sums + value])
        sizes = np.concatenate([sizes, sizes + 1])
    return sums, sizes


def _byte_table(d: np.ndarray) -> np.ndarray:
    """(ceil(n / 8), 256): for each byte of pairs, the sum of d over the pairs each byte value
    flips (built by doubling over the byte's bits, least significant first)."""
    width = (len(d) + 7) // 8
    padded = np.zeros(8 * width)
    padded[: len(d)] = d
    blocks = padded.reshape(width, 8)
    table = np.zeros((width, 1))
    for bit in range(7, -1, -1):  # pair 8 b + bit is byte value 2^(7 - bit)
        table = np.concatenate([table, table + blocks[:, bit : bit + 1]], axis=1)
    return table


def flip_sums(d: np.ndarray, flips: Flips) -> np.ndarray:
    """The sum of d over the pairs each flip flips, a byte of pairs at a time (one look-up of
    `_byte_table` per byte: position 256 b + the byte's value in its flat table), `_BLOCK`
    bytes of the table at a time (it stays in the cache)."""
    if len(d) != flips.n:
        raise ValueError(f"flip_sums: {len(d)} differences, flips of {flips.n} pairs")
    flat = _byte_table(d).ravel()
    m, width = flips.packed.shape
    sums = np.zeros(m)
    block = min(width, _BLOCK)
    step = max(1, _CHUNK // block)
    for first in range(0, width, block):
        offsets = np.arange(first, min(first + block, width), dtype=np.int64) * 256
        for start in range(0, m, step):
            at = flips.packed[start : start + step, first : first + block] + offsets
            sums[start : start + step] += np.take(flat, at).sum(axis=1)
    return sums


def tail_bound(total: float, squares: float) -> float:
    """Hoeffding's bound on the exact two-sided sign-flip p-value of differences whose sum is
    `total` and sum of squares `squares`: each s_i d_i lies in [-|d_i|, |d_i|], so
    P(|sum s_i d_i| >= |total|) <= 2 exp(-total^2 / (2 squares)) (1 when there is no spread)."""
    if squares <= 0.0:
        return 1.0
    return min(1.0, 2.0 * math.exp(-(total * total) / (2.0 * squares)))


def needed(alpha: float, total: int, offset: int) -> int:
    """The smallest count c of flips with (c + offset) / total >= alpha, in float arithmetic
    (the p-value's own), so that the interval and the p-value agree to the last bit."""
    c = max(0, math.ceil(alpha * total) - offset - 1)
    while (c + offset) / total < alpha:
        c += 1
    while c > 0 and (c - 1 + offset) / total >= alpha:
        c -= 1
    return c


def sign_flip_test(
    d: np.ndarray, alpha: float, flips: Flips | None = None
) -> tuple[tuple[float, float], float]:
    """Two-sided sign-flip test of mean(d) = 0 and the (1 - alpha) interval that inverts it
    (module docstring): every flip up to `EXACT_MAX` pairs, else the random `flips`
    (`random_flips`, required there). p < alpha exactly when the interval excludes 0."""
    d = np.asarray(d, dtype=np.float64)
    n = len(d)
    if n == 0:
        return (0.0, 0.0), 1.0
    total_sum = float(d.sum())
    tie = TIE * float(np.abs(d).sum())
    exact = n <= EXACT_MAX
    if exact:
        flipped, sizes = exact_sums(d)
    else:
        if flips is None:
            raise ValueError(f"sign_flip_test: {n} pairs need random flips (`flips`)")
        flipped, sizes = flip_sums(d, flips), flips.sizes
    kept = total_sum - flipped
    flipped = np.where(np.abs(flipped) <= tie, 0.0, flipped)
    kept = np.where(np.abs(kept) <= tie, 0.0, kept)
    forced = (sizes == 0) | (sizes == n)  # no flip, or all: always as extreme as the data
    live = ~forced
    mean_flipped = flipped[live] / sizes[live]
    mean_kept = kept[live] / (n - sizes[live])
    low = np.minimum(mean_flipped, mean_kept)
    high = np.maximum(mean_flipped, mean_kept)
    if abs(total_sum) <= tie:
        at_zero = len(flipped)  # a zero mean: every flip is as extreme (p = 1)
    else:
        at_zero = int(forced.sum()) + int(((low <= 0.0) & (high >= 0.0)).sum())
    if exact:
        count, offset = len(flipped), 0
    else:
        count, offset = len(flipped) + 1, 1  # the observed signs count once more
    p = min(1.0, (at_zero + offset) / count)
    if not exact and at_zero == 0 and p < alpha:
        # no random flip was as extreme: the exact p-value is below 1 / (m + 1) by an unknown
        # amount, and Hoeffding's bound says by how much at least (module docstring)
        p = min(p, tail_bound(total_sum, float(np.square(d).sum())))
    need = needed(alpha, count, offset) - int(forced.sum())
    if need <= 0 or need > len(low):  # every shift accepted: no finite (1 - alpha) interval
        ends = (min(float(d.min()), 0.0), max(float(d.max()), 0.0))
    else:
        ends = (
            float(np.partition(low, need - 1)[need - 1]),
            float(-np.partition(-high, need - 1)[need - 1]),
        )
    if p >= alpha:  # only a zero mean within `tie` can need this: the interval holds 0
        ends = (min(ends[0], 0.0), max(ends[1], 0.0))
    return ends, p
