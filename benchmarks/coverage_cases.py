"""Known truths to draw simulated evaluations from, shared by benchmarks/interval_coverage.py (the
full grids) and the seeded coverage tests in tests/analysis (a few cells of the same grids).

- classification: K classes with a prior (balanced, or imbalanced with the rare classes the
  worse ones) and per-class recalls spread around an accuracy level; errors go evenly to the
  other classes. Draws confusion matrices; the truth is the population's balanced accuracy or
  macro-F1.
- calibration: top-label confidences from a scaled Beta around an accuracy level and a true
  calibration map sigmoid(s * logit(c)) (s = 1: calibrated; s < 1: overconfident). Draws
  (confidence, correct) samples; the truth is the population's binned ECE.
- a corruption family: the same images under several severities, P(correct) on the logit scale
  the sum of a level, an image effect shared by the severities and a severity effect (or a few
  hard images failing half their cells, the rest never); draws (severities, images) outcomes,
  the truth is the population's mean accuracy over the severities.
- paired outcomes: two models' 0/1 outcomes on the same samples with given accuracies and a
  given share of samples on which they disagree (churn).
- the gate's power: the MDE the gate prints for top-1 on an identical rerun among m checked
  metrics, and how often a current run that loses that much (with the assumed churn) fails the
  gate's own decision (`check.decide`, no tolerance) among m - 1 harmless metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.analysis import paired_tests
from harness.analysis.check import CheckRow, _Pending, decide
from harness.analysis.check_policy import MetricRule
from harness.stats.calibration import ECE_BINS, confidence_bins


@dataclass(frozen=True)
class Classes:
    """K classes: prior probabilities and per-class recalls."""

    prior: np.ndarray
    recall: np.ndarray

    @classmethod
    def at(cls, k: int, accuracy: float, *, imbalanced: bool, spread: float = 0.7) -> Classes:
        """Recalls logit(accuracy) +- `spread` (the rarest class lowest); imbalanced priors are
        0.8/0.2 for two classes and 0.7^k otherwise (a 25:1 ratio at ten)."""
        if imbalanced:
            prior = np.array([0.8, 0.2]) if k == 2 else 0.7 ** np.arange(k)
        else:
            prior = np.ones(k)
        shift = np.linspace(spread, -spread, k)
        logit = np.log(accuracy / (1.0 - accuracy)) + shift
        return cls(prior=prior / prior.sum(), recall=1.0 / (1.0 + np.exp(-logit)))

    def truth(self, metric: str) -> float:
        """The population's balanced accuracy or macro-F1."""
        k = len(self.prior)
        cells = self.prior[:, None] * (1.0 - self.recall)[:, None] / (k - 1) * (1 - np.eye(k))
        cells += np.diag(self.prior * self.recall)
        tp, rows, cols = np.diag(cells), cells.sum(axis=1), cells.sum(axis=0)
        if metric == "balanced_acc":
            return float((tp / rows).mean())
        return float((2.0 * tp / (rows + cols)).mean())

    def confusions(self, gen: np.random.Generator, n: int, reps: int) -> np.ndarray:
        """(reps, K, K) confusion matrices of samples of n (rows: labels)."""
        k = len(self.prior)
        counts = gen.multinomial(n, self.prior, size=reps)
        hits = gen.binomial(counts, self.recall)
        out = np.zeros((reps, k, k))
        for c in range(k):
            others = [j for j in range(k) if j != c]
            out[:, c, c] = hits[:, c]
            out[:, c, others] = gen.multinomial(
                counts[:, c] - hits[:, c], np.full(k - 1, 1 / (k - 1))
            )
        return out


def local_accuracy(gen: np.random.Generator, accuracy: float) -> float:
    """An accuracy drawn within +-50% of `accuracy`'s distance to 0 or 1 (the local average
    over which discrete intervals are judged; Brown, Cai & DasGupta 2001)."""
    near = min(accuracy, 1.0 - accuracy)
    a = gen.uniform(0.5 * near, 1.5 * near)
    return float(1.0 - a if accuracy > 0.5 else a)


@dataclass(frozen=True)
class Calibration:
    """Top-label confidence ~ lo + (1 - lo) Beta(a, b); P(correct | c) = sigmoid(s logit c)."""

    a: float
    b: float
    slope: float
    lo: float = 0.1

    @classmethod
    def at(cls, confidence: float, slope: float, concentration: float = 6.0) -> Calibration:
        a = concentration * (confidence - 0.1) / 0.9
        return cls(a=a, b=concentration - a, slope=slope)

    def accuracy(self, c: np.ndarray) -> np.ndarray:
        logit = np.log(c) - np.log1p(-np.minimum(c, 1 - 1e-12))
        return 1.0 / (1.0 + np.exp(-self.slope * logit))

    def draw(self, gen: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        c = self.lo + (1.0 - self.lo) * gen.beta(self.a, self.b, n)
        return c, gen.random(n) < self.accuracy(c)

    @staticmethod
    def losses(c: np.ndarray, correct: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(NLL, Brier) per sample when the probability left over from the top label is spread
        evenly over the other k - 1 classes."""
        rest = (1.0 - c) / (k - 1)
        label = np.where(correct, c, rest)
        nll = -np.log(np.clip(label, 1e-300, None))
        brier = np.where(
            correct,
            (1.0 - c) ** 2 + rest**2 * (k - 1),
            c**2 + (1.0 - rest) ** 2 + rest**2 * (k - 2),
        )
        return nll, brier

    def truth(self, gen: np.random.Generator, size: int = 4_000_000) -> tuple[float, float]:
        """(population ECE over ECE_BINS equal-width bins, population accuracy)."""
        c = self.lo + (1.0 - self.lo) * gen.beta(self.a, self.b, size)
        f = self.accuracy(c)
        gap = np.bincount(confidence_bins(c, ECE_BINS), f - c, ECE_BINS)
        return float(np.abs(gap).sum() / size), float(f.mean())


def _expit(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(80)  # E over N(0, 1) by quadrature
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


@dataclass(frozen=True)
class Family:
    """One corruption family: `cells` severities of the same images. logit P(correct) =
    level + b_i + d_s, the image effect b_i ~ N(0, sigma^2) shared by the severities, d_s
    from +1 (mild) to -1 (severe). With `hard` > 0 instead: a share `hard` of the images fails
    each severity with probability 1/2, the others never (errors concentrated on few images)."""

    level: float
    sigma: float
    hard: float = 0.0
    cells: int = 5

    @classmethod
    def at(cls, accuracy: float, sigma: float) -> Family:
        """The logit family whose population mean accuracy is `accuracy` (bisection)."""
        lo, hi = -30.0, 30.0
        for _ in range(50):
            mid = (lo + hi) / 2.0
            lo, hi = (mid, hi) if cls(mid, sigma).truth() < accuracy else (lo, mid)
        return cls((lo + hi) / 2.0, sigma)

    @classmethod
    def few_hard(cls, accuracy: float) -> Family:
        return cls(0.0, 0.0, hard=2.0 * (1.0 - accuracy))

    def _spread(self) -> np.ndarray:
        return np.linspace(1.0, -1.0, self.cells)

    def truth(self) -> float:
        if self.hard:
            return 1.0 - self.hard / 2.0
        p = _expit(self.level + self.sigma * _NODES[:, None] + self._spread()[None, :])
        return float((_WEIGHTS[:, None] * p).sum(axis=0).mean())

    def draw(self, gen: np.random.Generator, images: int) -> np.ndarray:
        """(severities, images) 0/1 outcomes."""
        if self.hard:
            fail = np.where(gen.random(images) < self.hard, 0.5, 0.0)
            return gen.random((self.cells, images)) >= fail[None, :]
        b = gen.normal(0.0, self.sigma, images)
        return gen.random((self.cells, images)) < _expit(
            self.level + b[None, :] + self._spread()[:, None]
        )


def paired_outcomes(
    gen: np.random.Generator, n: int, acc_a: float, acc_b: float, churn: float
) -> tuple[np.ndarray, np.ndarray]:
    """0/1 outcomes of A and B on n shared samples: P(A right, B wrong) - P(A wrong, B right)
    = acc_a - acc_b and the two together = churn (needs churn >= |acc_a - acc_b|)."""
    d = acc_a - acc_b
    only_a, only_b = (churn + d) / 2.0, (churn - d) / 2.0
    both = acc_a - only_a
    cells = np.array([both, only_a, only_b, 1.0 - both - only_a - only_b])
    if (cells < -1e-12).any():
        raise ValueError("churn must be at least |acc_a - acc_b| and the cells non-negative")
    kind = gen.choice(4, size=n, p=np.clip(cells, 0, None) / np.clip(cells, 0, None).sum())
    return np.isin(kind, (0, 1)), np.isin(kind, (0, 2))


RULE = MetricRule(max_drop=0.0, alpha=0.05)


def _pending(result: paired_tests.PairedResult, baseline: float, worse: float) -> _Pending:
    row = CheckRow(
        "m", "t", "s", "top1_acc", baseline, baseline - worse, "pass", "", rule=RULE,
        unit="fraction",
    )  # fmt: skip
    row.test, row.p_value = result.test, result.p_value
    return _Pending(row=row, result=result, worse=worse, beyond=worse > 0, floor_broken=False)


def _series(x: np.ndarray) -> pd.Series:
    return pd.Series(x, index=pd.RangeIndex(len(x)))


def _harmless(gen: np.random.Generator, count: int) -> list[_Pending]:
    """Null metrics: uniform p-values (a harmless change), cheap standard errors."""
    out = []
    for p in gen.random(count):
        res = paired_tests.PairedResult("paired_sign_flip", 100, 0.0, float(p), "null", se=0.01)
        out.append(_pending(res, 0.5, 0.0))
    return out


def printed_mde(n: int, accuracy: float, tests: int) -> tuple[float, float]:
    """(MDE, churn) the gate prints for top-1 on an identical rerun among `tests` metrics."""
    gen = np.random.default_rng(0)
    base = gen.random(n) < accuracy
    res = paired_tests.mcnemar(_series(base), _series(base))
    real = _pending(res, float(base.mean()), 0.0)
    decide([real, *_harmless(gen, tests - 1)])
    assert real.row.mde is not None and real.row.churn is not None
    return real.row.mde, real.row.churn


def detection_rate(
    n: int, accuracy: float, tests: int, drop: float, churn: float, reps: int
) -> float:
    gen = np.random.default_rng([n, tests, int(accuracy * 1000)])
    caught = 0
    for _ in range(reps):
        base, cur = paired_outcomes(gen, n, accuracy, accuracy - drop, churn + drop)
        res = paired_tests.mcnemar(_series(cur), _series(base))
        real = _pending(res, float(base.mean()), -res.diff)
        decide([real, *_harmless(gen, tests - 1)])
        caught += real.row.status == "fail"
    return caught / reps
