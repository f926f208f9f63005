"""The binomial distribution and the beta quantile as `scipy.stats` computes them, without importing it.

Importing `scipy.stats` builds every one of its distributions (about 0.7 s of CPU, a third of a
command's start-up); a leaderboard, a report and the gate need only the exact McNemar p-values
(`binom.cdf`), Clopper-Pearson's quantiles (`beta.ppf`) and the gate's exact McNemar power
(`binom.pmf`, `binom.sf`, `binom.isf`: harness/analysis/power.py) on their way. `scipy.stats`
computes them with scipy.special's ufuncs (`_binom_cdf`, ...), after checking the arguments: these
functions take the same steps on the arguments it accepts (the same float64, bit for bit:
tests/analysis/test_distributions.py) and hand any other call, or a scipy without those ufuncs, to
`scipy.stats` itself. Other statistics import `scipy.stats` where they are computed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

try:
    from scipy.special._ufuncs import _beta_ppf, _binom_cdf, _binom_isf, _binom_pmf, _binom_sf
except ImportError:  # another scipy: scipy.stats computes them
    _beta_ppf = _binom_cdf = _binom_isf = _binom_pmf = _binom_sf = None


def binom_cdf(k: ArrayLike, n: ArrayLike, p: ArrayLike) -> Any:
    """`scipy.stats.binom.cdf(k, n, p)`: a float64 array, or a numpy float for scalars."""
    ka, na, pa = (np.asarray(x) for x in (k, n, p))
    if _binom_cdf is None or not _plain(ka, na, pa) or not _binom_args(ka, na, pa):
        from scipy import stats as scipy_stats

        return scipy_stats.binom.cdf(k, n, p)
    kb, nb, pb = np.broadcast_arrays(ka, na, pa)
    output = np.zeros(kb.shape, "d")
    output[kb >= nb] = 1.0  # at or past the support's end (below it: 0)
    inside = (kb >= 0) & (kb < nb)
    if np.any(inside):
        output[inside] = np.clip(_binom_cdf(np.floor(kb[inside]), nb[inside], pb[inside]), 0, 1)
    return output[()] if output.ndim == 0 else output


def binom_sf(k: ArrayLike, n: ArrayLike, p: ArrayLike) -> Any:
    """`scipy.stats.binom.sf(k, n, p)`: a float64 array, or a numpy float for scalars."""
    ka, na, pa = (np.asarray(x) for x in (k, n, p))
    if _binom_sf is None or not _plain(ka, na, pa) or not _binom_args(ka, na, pa):
        from scipy import stats as scipy_stats

        return scipy_stats.binom.sf(k, n, p)
    kb, nb, pb = np.broadcast_arrays(ka, na, pa)
    output = np.zeros(kb.shape, "d")
    output[kb < 0] = 1.0  # before the support's start (at or past its end: 0)
    inside = (kb >= 0) & (kb < nb)
    if np.any(inside):
        output[inside] = np.clip(_binom_sf(np.floor(kb[inside]), nb[inside], pb[inside]), 0, 1)
    return output[()] if output.ndim == 0 else output


def binom_pmf(k: ArrayLike, n: ArrayLike, p: ArrayLike) -> Any:
    """`scipy.stats.binom.pmf(k, n, p)`: a float64 array, or a numpy float for scalars."""
    ka, na, pa = (np.asarray(x) for x in (k, n, p))
    if _binom_pmf is None or not _plain(ka, na, pa) or not _binom_args(ka, na, pa):
        from scipy import stats as scipy_stats

        return scipy_stats.binom.pmf(k, n, p)
    kb, nb, pb = np.broadcast_arrays(ka, na, pa)
    output = np.zeros(kb.shape, "d")
    inside = (kb >= 0) & (kb <= nb) & (np.floor(kb) == kb)  # a whole count in the support
    if np.any(inside):
        output[inside] = np.clip(_binom_pmf(kb[inside], nb[inside], pb[inside]), 0, 1)
    return output[()] if output.ndim == 0 else output


def binom_isf(q: ArrayLike, n: ArrayLike, p: ArrayLike) -> Any:
    """`scipy.stats.binom.isf(q, n, p)`: a float64 array, or a numpy float for scalars."""
    qa, na, pa = (np.asarray(x) for x in (q, n, p))
    if (
        _binom_isf is None
        or not _plain(qa, na, pa)
        or not _binom_args(np.zeros(1), na, pa)
        or not np.all((qa >= 0) & (qa <= 1))
    ):
        from scipy import stats as scipy_stats

        return scipy_stats.binom.isf(q, n, p)
    qb, nb, pb = np.broadcast_arrays(qa, na, pa)
    output = np.zeros(qb.shape, "d")
    output[qb == 1] = -1.0  # the support's start less one
    ends = qb == 0
    output[ends] = nb[ends]  # the support's end
    inside = (qb > 0) & (qb < 1)
    if np.any(inside):
        output[inside] = _binom_isf(qb[inside], nb[inside], pb[inside]) + 0  # `+ loc`
    return output[()] if output.ndim == 0 else output


def beta_ppf(q: ArrayLike, a: ArrayLike, b: ArrayLike) -> Any:
    """`scipy.stats.beta.ppf(q, a, b)`: a float64 array, or a numpy float for scalars."""
    qa, aa, ba = (np.asarray(x) for x in (q, a, b))
    if _beta_ppf is None or not _plain(qa, aa, ba) or not _beta_args(qa, aa, ba):
        from scipy import stats as scipy_stats

        return scipy_stats.beta.ppf(q, a, b)
    qb, ab, bb = np.broadcast_arrays(qa, aa, ba)
    output = np.full(qb.shape, np.nan)
    output[...] = _beta_ppf(qb, ab, bb) * 1 + 0  # scipy.stats's `* scale + loc`
    return output[()] if output.ndim == 0 else output


def _plain(*arrays: np.ndarray) -> bool:
    """64-bit integers or floats (Python's ints and floats): the ufuncs' float64 loop, as in
    scipy.stats; other types go to scipy.stats."""
    return all(x.dtype in (np.int64, np.float64) for x in arrays)


def _binom_args(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> bool:
    """Every k finite and every (n, p) valid: scipy.stats would compute each cell alike."""
    return bool(
        np.all(np.isfinite(k))
        and np.all((n >= 0) & (n == np.floor(n)) & np.isfinite(n))
        and np.all((p >= 0) & (p <= 1))
    )


def _beta_args(q: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """Every q strictly inside (0, 1) and every shape positive and finite."""
    return bool(
        np.all((q > 0) & (q < 1))
        and np.all((a > 0) & np.isfinite(a))
        and np.all((b > 0) & np.isfinite(b))
    )
