"""Each OOD detector's scores against pytorch-ood 0.4.0's on the same features and logits
(within 1e-5, after the documented sign and scale: pytorch-ood scores outlierness, and its
Mahalanobis covariances are sums, not means), and the detection metrics against scikit-learn."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness.suites.shift.ood import feature_detectors as fd
from harness.suites.shift.ood import head_detectors as hd
from harness.suites.shift.ood import logit_detectors as ld
from harness.suites.shift.ood.base import FitData, Head, Outputs
from harness.suites.shift.ood.odin import odin_scores
from tests.suites.shift.ood.reference import detector_module

RTOL = 1e-5
C, D, N = 4, 24, 600


@pytest.fixture(autouse=True)
def float64() -> Iterator[None]:
    """The reference builds its statistics with torch's default dtype: float64 for both."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def _data(seed: int = 0) -> tuple[FitData, Outputs]:
    gen = torch.Generator().manual_seed(seed)
    means = torch.randn(C, D, generator=gen, dtype=torch.float64) * 2
    mix = torch.randn(D, D, generator=gen, dtype=torch.float64) / D**0.5 + torch.eye(D)
    y = torch.arange(N) % C
    z = F.relu(means[y] + torch.randn(N, D, generator=gen, dtype=torch.float64) @ mix + 1.0)
    w = torch.randn(C, D, generator=gen, dtype=torch.float64) * 0.3
    b = torch.randn(C, generator=gen, dtype=torch.float64) * 0.1
    head = Head(w, b)
    test = F.relu(torch.randn(200, D, generator=gen, dtype=torch.float64) * 2 + 1.0)
    test[:100] = z[:100] + 0.1 * torch.randn(100, D, generator=gen, dtype=torch.float64)
    fit = FitData(logits=head.logits(z), features=z, labels=y, head=head, num_classes=C)
    return fit, Outputs(logits=head.logits(test), features=test)


def _close(ours: np.ndarray, theirs: torch.Tensor, factor: float = -1.0) -> None:
    np.testing.assert_allclose(ours, factor * theirs.detach().double().numpy(), rtol=RTOL, atol=0)


def test_mahalanobis_and_relative() -> None:
    fit, test = _data()
    ours = fd.Mahalanobis()
    assert ours.fit(fit) == []
    ref = detector_module("mahalanobis").Mahalanobis(None).fit_features(fit.features, fit.labels)
    # theirs: 0.5 x the smallest distance under the summed (N x) covariance
    _close(ours.score(test), ref.predict_features(test.features), factor=-2.0 * N)
    rel = fd.RelativeMahalanobis()
    rel.fit(fit)
    ref = detector_module("rmd").RMD(None).fit_features(fit.features, fit.labels)
    _close(rel.score(test), ref.predict_features(test.features), factor=-1.0 * N)


def test_knn() -> None:
    fit, test = _data(1)
    ours = fd.KNN(k=7)
    ours.fit(fit)
    ref = detector_module("knn").KNN(None, k=7).fit_features(fit.features, fit.labels)
    _close(ours.score(test), ref.predict_features(test.features))


def test_she() -> None:
    fit, test = _data(2)
    ours = fd.SHE()
    assert ours.fit(fit) == []
    assert fit.head is not None
    ref = detector_module("she").SHE(None, head=fit.head.logits)
    ref.fit_features(fit.features, fit.labels)
    _close(ours.score(test), ref.predict_features(test.features))


def _reference_vim(fit: FitData, test: Outputs) -> np.ndarray:
    assert fit.head is not None
    ref = detector_module("vim").ViM(None, d=12, w=fit.head.weight, b=fit.head.bias)
    ref.fit_features(fit.features, fit.labels)
    return -ref.predict_features(test.features).double().numpy()  # type: ignore[no-any-return]


def test_vim(monkeypatch: pytest.MonkeyPatch) -> None:
    fit, test = _data(3)
    ours = hd.ViM(dim=12)
    ours.fit(fit)
    scores = ours.score(test)
    # as published the reference computes in float32 (its `.float()` casts), whose eigenvectors
    # move with the CPU's kernels (1.4e-5 of the scores' scale on an AVX-512 Xeon)
    published = _reference_vim(fit, test)
    np.testing.assert_allclose(scores, published, rtol=0, atol=1e-4 * np.abs(published).max())
    # the same code with its casts made float64: the same method to the last bits
    monkeypatch.setattr(torch.Tensor, "float", lambda self, *a, **k: self.double())
    exact = _reference_vim(fit, test)
    np.testing.assert_allclose(scores, exact, rtol=0, atol=1e-9 * np.abs(exact).max())


def test_vim_in_float64_against_the_papers_formula() -> None:
    """The same formula evaluated directly in float64 (energy minus alpha x residual norm)."""
    fit, test = _data(3)
    assert fit.head is not None and fit.features is not None and test.features is not None
    ours = hd.ViM(dim=12)
    ours.fit(fit)
    w, b = fit.head.weight, fit.head.bias
    u = -torch.linalg.pinv(w) @ b
    x = fit.features - u
    _, vecs = torch.linalg.eigh(x.T @ x / len(x))
    ns = vecs[:, : D - 12]
    alpha = (x @ w.T + b - 0 * x[:, :C]).max(1).values.mean()  # logits of the fit features
    alpha = (fit.features @ w.T + b).max(1).values.mean() / (x @ ns).norm(dim=1).mean()
    t = test.features
    expect = torch.logsumexp(t @ w.T + b, 1) - alpha * ((t - u) @ ns).norm(dim=1)
    np.testing.assert_allclose(ours.score(test), expect.numpy(), rtol=1e-9)


def test_react_ash_dice() -> None:
    fit, test = _data(4)
    assert fit.head is not None and test.features is not None and fit.features is not None
    head = fit.head

    ours = hd.ReAct(90.0)
    ours.fit(fit)
    ref = detector_module("react").ReAct(backbone=None, head=head.logits, percentile=0.9)
    ref.fit_feature_maps(fit.features, fit.labels)
    _close(ours.score(test), ref.predict_feature_maps(test.features))

    ash = hd.ASH(90.0)
    ash.fit(fit)
    ref = detector_module("ash").ASH(
        backbone=None, head=lambda x: head.logits(x.flatten(1)), variant="ash-s", percentile=0.9
    )
    maps = test.features[:, :, None, None]
    _close(ash.score(test), ref.predict_feature_maps(maps))

    dice = hd.DICE(90.0)
    dice.fit(fit)
    torch.set_default_dtype(
        torch.float32
    )  # the reference's quantile needs it (it casts to float32)
    ref = detector_module("dice").DICE(None, w=head.weight, b=head.bias, p=0.9)
    ref.fit_features(fit.features, fit.labels)
    theirs = ref.predict_features(test.features.float())
    scale = float(theirs.abs().max())
    np.testing.assert_allclose(
        dice.score(test), -theirs.double().numpy(), rtol=0, atol=1e-5 * scale
    )


def test_logit_scores() -> None:
    _, test = _data(5)
    logits = test.logits
    energy = detector_module("energy").EnergyBased.score(logits)
    _close(ld.Energy().score(test), energy)
    gen = detector_module("gen").GEN.score(logits, gamma=0.1, M=3)
    _close(ld.GEN(0.1, top=3).score(test), gen, factor=-3.0)  # theirs: the mean of the top M
    softmax = torch.softmax(logits, 1)
    np.testing.assert_allclose(ld.MSP().score(test), softmax.max(1).values.numpy(), rtol=1e-12)
    entropy = -(softmax * softmax.log()).sum(1)
    np.testing.assert_allclose(ld.NegEntropy().score(test), -entropy.numpy(), rtol=1e-12)


def test_odin() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    )
    x = 0.1 + 0.8 * torch.rand(20, 1, 4, 4)  # inside the bounds: no clamping
    ours = odin_scores(net, x, temperature=1000.0, epsilon=0.0014, bounds=(0.0, 1.0))
    ref = detector_module("odin").ODIN(net, eps=0.0014, temperature=1000.0).predict(x)
    _close(ours, ref)
