"""Attacks keep their budget on raw-unit features (issue 33): values up to 1e6, where float32's
spacing (0.0625 at 1e6) exceeds the budget, on float32 and float64 models.

Every candidate is projected into the eps ball and each feature's box in float64 and rounded
towards the clean input in the inputs' dtype (`projection.py`), so the verifier never rejects a
candidate of the suite's own attacks: a rejection here is a bug in the suite, not a flag on the
model. A scikit-learn logistic regression and a gradient-boosted model on a raw-unit CSV under the
default adversarial suite raise no validity flag at all.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from harness.adapters.torch_module import TorchModuleAdapter
from harness.run.api import evaluate
from harness.suites.adversarial.projection import into_budget, linf_box
from harness.suites.adversarial.verification import perturbation_norm

SCALES = np.array([1e6, 3e5, 90.0, 1.0, 50.0])  # income, balance, age, a score, a count


def _table(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, (n, len(SCALES))) * SCALES
    x[:, 0] = np.round(x[:, 0], 2)  # cents: not representable in float32 at this magnitude
    z = (x[:, 0] / 1e6 - 0.5) * 4 + (x[:, 2] / 90 - 0.5) * 3 - (x[:, 1] / 3e5 - 0.5) * 2
    y = (z + rng.normal(0, 0.6, n) > 0).astype(int)
    return x, y


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_projection_keeps_every_candidate_in_budget_at_any_magnitude(norm, dtype) -> None:
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(300, 5, generator=g, dtype=torch.float64) * torch.tensor(SCALES)).to(dtype)
    low, high = x.double().amin(0), x.double().amax(0)
    for eps in (0.01, 0.05, 0.1, 0.5, 3.0):
        cand = x.double() + eps * 3 * (torch.rand(x.shape, generator=g, dtype=torch.float64) - 0.5)
        out = into_budget(x, cand.to(dtype), norm=norm, eps=eps, bounds=(low, high))
        assert out.dtype == dtype
        size = perturbation_norm(out.double() - x.double(), norm)  # as the verifier measures
        # exact for L-inf and float32 inputs (what the suite feeds); float64 L2 within its rounding
        slack = 1e-7 if (norm == "l2" and dtype == torch.float64) else 0.0
        assert (size <= eps * (1 + slack)).all(), float(size.max())
        assert ((out.double() >= low) & (out.double() <= high)).all()
    lo, hi = linf_box(x, 0.05, (low, high))
    assert ((x.double() - lo.double()) <= 0.05).all() and ((hi.double() - x.double()) <= 0.05).all()


class _Linear64(nn.Module):
    """A float64 logistic regression on raw units (it casts its input up)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(len(SCALES), 2).double()
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([[4e-6, -6e-6, 0.033, 0.0, 0.0]] * 2))
            self.linear.weight[0].mul_(-1)
            self.linear.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.double()).float()


def _task_dict(folder: Path, n: int) -> dict[str, object]:
    x, y = _table(n)
    header = "income,balance,age,score,count,label"
    rows = [
        ",".join([*(repr(float(v)) for v in r), str(int(t))]) for r, t in zip(x, y, strict=True)
    ]
    (folder / "raw.csv").write_text("\n".join([header, *rows]) + "\n")
    train_x, train_y = _table(200, seed=1)
    rows = [
        ",".join([*(repr(float(v)) for v in r), str(int(t))])
        for r, t in zip(train_x, train_y, strict=True)
    ]
    (folder / "train.csv").write_text("\n".join([header, *rows]) + "\n")
    return {
        "name": "raw",
        "source": str(folder / "raw.csv"),
        "train_source": str(folder / "train.csv"),
        "modality": "tabular",
        "label_column": "label",
    }


def _assert_no_harness_flags(result) -> None:
    artifacts = result.artifacts
    assert artifacts["invalid_adversarials"] == {}, artifacts["invalid_adversarials"]
    raised = [c for c in artifacts["checks"] if c["raised"]]
    assert artifacts["flags"] == [] and not raised, (artifacts["flags"], raised)


def test_float64_torch_model_on_raw_units_gets_no_flag(tmp_path: Path) -> None:
    task = _task_dict(tmp_path, 40)
    model = TorchModuleAdapter.from_module(
        _Linear64(), name="lin64", input_shape=(5,), modality="tabular", bounds=(0.0, 1e6)
    )
    config = {"preset": "fast", "epsilons": {"linf": [0.05, 2.0], "l2": [0.5, 5.0]}}
    out = evaluate(
        model, task=task, suites={"adversarial": config}, device="cpu", bootstrap_resamples=0
    )
    _assert_no_harness_flags(out.results["adversarial"])


@pytest.mark.parametrize(
    ("kind", "preset"),
    [
        ("logistic", "fast"),  # the same adapter, units and checks at the cheaper preset
        # the default suite as a new user runs it (`adversarial: {}`: standard): ~30-45 s each
        pytest.param("logistic", None, marks=pytest.mark.slow),
        pytest.param("boosting", None, marks=pytest.mark.slow),
    ],
    ids=["logistic-fast", "logistic", "boosting"],
)
def test_sklearn_models_on_raw_units_under_the_default_suite(
    tmp_path: Path, kind: str, preset: str | None
) -> None:
    sio = pytest.importorskip("skops.io")
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    task = _task_dict(tmp_path, 16)
    x, y = _table(200, seed=1)
    if kind == "logistic":
        estimator = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    else:
        estimator = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(x, y)
    path = tmp_path / f"{kind}.skops"
    sio.dump(estimator, path)
    spec = {"name": kind, "adapter": "sklearn", "path": str(path)}
    spec["trusted"] = sio.get_untrusted_types(file=path)
    config = {} if preset is None else {"preset": preset}
    out = evaluate(
        spec, task=task, suites={"adversarial": config}, device="cpu", bootstrap_resamples=0
    )
    result = out.results["adversarial"]
    _assert_no_harness_flags(result)
    assert result.artifacts["preset"] == (preset or "standard")
    assert any(n.startswith("settings: 4 budget(s)") for n in result.notes)
    # the default L-inf budgets are < 1% of these features' spread: the board says so
    (small,) = [n for n in result.notes if "small against task 'raw'" in n]
    assert re.search(r"linf 0\.1 is 0\.\d\d% of the median feature.s standard deviation", small)
    assert "eps_units: feature_range" in small and "l2" not in small
    # and the L2 budgets (0.5, 1) can move 'score' (spread ~0.3) by standard deviations while
    # 'income' (spread ~3e5) stays put: the board says that too, for l2 only
    (mixed,) = [n for n in result.notes if "mean different things" in n]
    assert re.search(r"\('score'\) to [\d.e+]+ \('income'\)", mixed), mixed
    assert "(l2 0.5: " in mixed and "linf" not in mixed
    # both are caveats on robust accuracy: the headline shows them with its verdict
    from harness.suites.adversarial.board import HEADLINE

    assert small.startswith(HEADLINE.caveats) and mixed.startswith(HEADLINE.caveats)
    assert not any(n.startswith(HEADLINE.caveats) for n in result.notes if n not in (small, mixed))


def test_small_budget_note_names_only_the_negligible_norms() -> None:
    """The note fires for a norm whose largest eps is below 1% of the median feature spread, on
    tabular tasks with eps in input units only."""
    from harness.data.builtin import diabetes, digits
    from harness.suites.adversarial.feature_space import small_budget_note

    task = diabetes()  # scaled features: standard deviation ~0.048 each
    assert small_budget_note(task, {"linf": [0.05, 0.1], "l2": [0.5]}, "input") is None
    note = small_budget_note(task, {"linf": [1e-4, 4e-4], "l2": [0.5]}, "input")
    assert note is not None and note.startswith("settings: ")
    assert "(linf 0.0004 is 0.22% of" in note and "l2" not in note
    assert small_budget_note(task, {"linf": [1e-4]}, "feature_range") is None
    assert small_budget_note(digits(), {"linf": [1e-6]}, "input") is None  # images: no


def test_mixed_scale_note_on_real_features_of_very_different_spread(tmp_path: Path) -> None:
    """scikit-learn's breast cancer table (its 30 features in their own units): standard
    deviations from 0.0026 ('fractal dimension error') to 569 ('worst area'), so the default
    budgets move the first by 19 to 378 standard deviations and the second by under 0.2% of one: the
    note names both, every such norm and the fix; standardised features, eps as a share of each
    feature's range, and budgets below the smallest spread get no note."""
    from sklearn.datasets import load_breast_cancer

    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec
    from harness.suites.adversarial.feature_space import mixed_scale_note

    frame = load_breast_cancer(as_frame=True).frame
    frame.to_csv(tmp_path / "cancer.csv", index=False)
    spec = {"name": "cancer", "source": "cancer.csv", "modality": "tabular"}
    task = load_task(TaskSpec(**spec, label_column="target"), base_dir=tmp_path)
    budgets = {"linf": [0.05, 0.1], "l2": [0.5, 1.0]}
    note = mixed_scale_note(task, budgets, "input")
    assert note is not None and note.startswith("settings: "), note
    # pandas: frame.std() gives 0.002646 and 569.357, so 0.5 / 0.002646 = 189 and 0.05 / 569 = 0.01%
    assert "from 0.00265 ('fractal dimension error') to 569.4 ('worst area')" in note, note
    assert "(l2 0.5: 189 and 0.09%; linf 0.05: 18.9 and 0.01%)" in note, note
    assert "eps_units: feature_range" in note
    assert mixed_scale_note(task, budgets, "feature_range") is None
    assert mixed_scale_note(task, {"linf": [0.001]}, "input") is None  # below every spread

    standard = frame.drop(columns="target")
    standard = (standard - standard.mean()) / standard.std()
    standard["target"] = frame["target"]
    standard.to_csv(tmp_path / "standard.csv", index=False)
    spec = {"name": "standard", "source": "standard.csv", "modality": "tabular"}
    task = load_task(TaskSpec(**spec, label_column="target"), base_dir=tmp_path)
    assert mixed_scale_note(task, budgets, "input") is None


class _Standardised(nn.Module):
    """A logistic regression behind its own standardisation (raw features in, logits out)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.register_buffer("mu", x.mean(0))
        self.register_buffer("sd", x.std(0))
        self.lin = nn.Linear(x.shape[1], 2)
        opt = torch.optim.Adam(self.lin.parameters(), 0.05)
        for _ in range(200):
            opt.zero_grad()
            nn.functional.cross_entropy(self(x), y).backward()
            opt.step()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin((x - self.mu) / self.sd)


def test_gradient_attacks_keep_their_iterates_in_each_features_box(tmp_path: Path) -> None:
    """Breast cancer's raw features, whose ranges (the task's per-feature box) are far narrower
    than the default L-inf budget for some (fractal dimension error spans 0.03): the model sees
    its inputs clipped into the box, so an iterate outside it sat where the gradient is 0, and the
    feature that mattered most never moved back. APGD-CE, APGD-T and PGD each left 24-36 of 169
    samples of a linear model unbroken, which the exact optimum (each feature to the end of its
    budget that lowers the margin) breaks; fast then flagged the honest model
    `gradient_obfuscation` (Square broke 7 more). The attacks now keep every iterate inside each
    feature's box: each breaks what the optimum breaks, and no flag is raised."""
    from sklearn.datasets import load_breast_cancer

    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec

    frame = load_breast_cancer(as_frame=True).frame.sample(frac=1.0, random_state=0)
    frame.iloc[:400].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[400:].to_csv(tmp_path / "test.csv", index=False)
    spec = TaskSpec(
        name="cancer",
        source="test.csv",
        train_source="train.csv",
        modality="tabular",
        label_column="target",
    )
    task = load_task(spec, base_dir=tmp_path)
    train = frame.iloc[:400]
    xt = torch.as_tensor(train.drop(columns="target").to_numpy(np.float32))
    model = _Standardised(xt, torch.as_tensor(train["target"].to_numpy())).eval()

    x = task.all_inputs().reshape(len(task), -1)
    y = torch.as_tensor(frame.iloc[400:]["target"].to_numpy())
    box = task.feature_box()
    assert box is not None
    low, high = (torch.as_tensor(b, dtype=torch.float64) for b in box)
    eps = 0.05
    with torch.no_grad():  # the exact L-inf optimum of a linear model in the box, in float64
        w = (model.lin.weight / model.sd).double()
        down = (w[1 - y] - w[y]).sign()
        xd = x.double()
        ends = torch.where(down > 0, torch.minimum(xd + eps, high), torch.maximum(xd - eps, low))
        optimum = int((model(ends.float()).argmax(1) == y).sum())
    assert optimum <= 1
    for attack in ("linf_apgd_ce", "linf_apgd_t", "linf_pgd"):
        config = {"attacks": [attack], "epsilons": {"linf": [eps]}, "checks": False}
        out = evaluate(
            model, task=task, suites={"adversarial": config}, device="cpu", bootstrap_resamples=0
        ).results["adversarial"]
        (head,) = [m for m in out.metrics if m.key.startswith("robust_acc[attack=ensemble")]
        assert round(head.value * len(task)) == optimum, (attack, head.value)
    config = {"preset": "fast", "epsilons": {"linf": [eps]}}
    out = evaluate(
        model, task=task, suites={"adversarial": config}, device="cpu", bootstrap_resamples=0
    ).results["adversarial"]
    assert out.artifacts["flags"] == [], [c for c in out.artifacts["checks"] if c["raised"]]
