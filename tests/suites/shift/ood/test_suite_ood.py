"""OOD detection inside the shift suite: every detector on every set and tag, from one forward
pass per batch; the fit subset; absent detectors with their reason; bad input as one line."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from harness.core.errors import DatasetError
from harness.core.suite import RunContext
from harness.data.builtin import digits
from harness.suites.shift import ShiftSuite
from harness.suites.shift.config import DEFAULT_DETECTORS
from harness.suites.shift.ood.detectors import column_of
from tests.suites.shift.small_tasks import image_task

CONFIG = {
    "corruptions": [],
    "max_samples": 80,
    "ood_sets": [
        {"generated": "uniform_noise", "n": 40},
        {"generated": "gaussian_noise", "n": 30},
        {"task": "digits-shifted", "tag": "near"},
    ],
    "ood": {"fit_samples": 200},
}


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.body = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU()
        )
        self.fc = torch.nn.Linear(32, 10)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x))


def _adapter():  # noqa: ANN202
    from harness.adapters.torch_module import TorchModuleAdapter

    return TorchModuleAdapter.from_module(_Net(), name="net", input_shape=(1, 8, 8))


@pytest.fixture(scope="module")
def result():  # noqa: ANN201
    return ShiftSuite(CONFIG).run(_adapter(), digits(), RunContext(seed=2, bootstrap_resamples=50))


def _records(result, metric: str):  # noqa: ANN001, ANN202
    return {(r.condition, r.context["score"]): r for r in result.metrics if r.metric == metric}


def test_every_detector_on_every_set_and_tag(result) -> None:
    auroc = _records(result, "ood_auroc")
    sets = ["ood=uniform_noise", "ood=gaussian_noise", "ood=digits-shifted"]
    for detector in DEFAULT_DETECTORS:
        for condition in [*sets, "ood_mean=near", "ood_mean=far"]:
            record = auroc[(condition, detector)]
            if detector == "she":
                # this random network predicts only classes that have no correctly classified
                # fit sample, which SHE scores 0: one score for every sample ranks nothing
                assert record.value is None, condition
                assert condition.startswith("ood_mean") or "the same score" in (record.note or "")
                continue
            assert record.value is not None and 0 <= record.value <= 1, (condition, detector)
        if detector != "she":
            assert auroc[("ood=uniform_noise", detector)].ci is not None
    far = [auroc[(s, "knn")].value for s in sets[:2]]
    assert auroc[("ood_mean=far", "knn")].value == pytest.approx(np.mean(far))
    assert auroc[("ood_mean=near", "knn")].value == auroc[("ood=digits-shifted", "knn")].value
    artifact = result.artifacts["ood"]
    assert artifact["fit"]["n"] == 200 and artifact["features"] and not artifact["absent"]


def test_metrics_equal_sklearn_on_the_stored_scores(result) -> None:
    frame = result.table.frame
    clean = frame[frame.condition == "clean"]
    noise = frame[frame.condition == "ood=uniform_noise"]
    for detector in ("knn", "vim", "mahalanobis", "neg_entropy"):
        column = column_of(detector)
        sign = -1.0 if detector == "neg_entropy" else 1.0
        s = sign * np.r_[clean[column].to_numpy(float), noise[column].to_numpy(float)]
        y = np.r_[np.ones(len(clean)), np.zeros(len(noise))]
        got = {m: _records(result, m)[("ood=uniform_noise", detector)].value for m in
               ("ood_auroc", "ood_aupr", "ood_aupr_out")}  # fmt: skip
        assert got["ood_auroc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert got["ood_aupr"] == pytest.approx(average_precision_score(y, s), abs=1e-12)
        assert got["ood_aupr_out"] == pytest.approx(average_precision_score(1 - y, -s), abs=1e-12)


def test_a_labelled_ood_set_of_the_tasks_classes_gets_a_note(result) -> None:
    assert any("'digits-shifted' is labelled with 10 of task 'digits'" in n for n in result.notes)


def test_features_come_from_the_clean_pass_no_second_forward() -> None:
    calls = {"logits": 0, "features": 0}
    adapter = _adapter()
    logits, features = adapter.logits, adapter.features

    def count_logits(x):  # noqa: ANN001, ANN202
        calls["logits"] += 1
        return logits(x)

    def count_features(x):  # noqa: ANN001, ANN202
        calls["features"] += 1
        return features(x)

    adapter.logits = count_logits  # type: ignore[method-assign]
    adapter.features = count_features  # type: ignore[method-assign]
    config = {"corruptions": [], "max_samples": 80, "ood": {"fit_samples": 100},
              "ood_sets": [{"generated": "uniform_noise", "n": 40}]}  # fmt: skip
    ShiftSuite(config).run(adapter, digits(), RunContext(seed=0, batch_size=256))
    # one batch each: the fit subset, the clean rows, the OOD set; no logits-only pass but the
    # batch-dependence probe's three calls on 64 clean inputs (suites/shift/batch_dependence.py)
    assert calls == {"logits": 3, "features": 3}


def test_models_without_features_get_logit_detectors_and_the_reason() -> None:
    from harness.adapters.python_callable import CallableAdapter  # noqa: F401  (a black-box adapter)
    from harness.core.adapter import AdapterHooks, Capabilities, InputSpec

    net = _Net()

    class BlackBox(AdapterHooks):
        name = "blackbox"
        input_spec = InputSpec(shape=(1, 8, 8))
        capabilities = Capabilities(gradients=False)
        device = torch.device("cpu")

        def logits(self, x):  # noqa: ANN001, ANN202
            with torch.no_grad():
                return net(x)

        def module(self):  # noqa: ANN202
            raise NotImplementedError

        def describe(self):  # noqa: ANN202
            return {}

        def identity(self) -> str:
            return "blackbox"

    config = {**CONFIG, "ood": {"detectors": "all", "fit_samples": 50}}
    result = ShiftSuite(config).run(BlackBox(), digits(), RunContext(seed=0))
    absent = result.artifacts["ood"]["absent"]
    assert set(absent) == {
        "odin",
        "mahalanobis",
        "rmd",
        "knn",
        "she",
        "vim",
        "react",
        "ash",
        "dice",
    }
    assert "gives no penultimate features" in absent["knn"] and "gradients" in absent["odin"]
    assert any(n.startswith("OOD detectors mahalanobis, rmd, knn, she, vim") for n in result.notes)
    scores = {r.context["score"] for r in result.metrics if r.metric == "ood_auroc"}
    assert scores == {"msp", "energy", "max_logit", "neg_entropy", "gen"}


def test_fit_set_of_one_sample_and_no_train_split_are_reasons() -> None:
    task = digits()
    one = type(task)(**{**task.__dict__, "train": task.train.select([0])})
    result = ShiftSuite({**CONFIG, "ood_sets": CONFIG["ood_sets"][:1]}).run(
        _adapter(), one, RunContext(seed=0)
    )
    assert "has 1 sample(s); fitting needs at least 2" in result.artifacts["ood"]["absent"]["knn"]
    none = image_task("tiny", 30)
    result = ShiftSuite({**CONFIG, "ood_sets": CONFIG["ood_sets"][:1]}).run(
        _adapter(), none, RunContext(seed=0)
    )
    reason = result.artifacts["ood"]["absent"]["mahalanobis"]
    # a folder with train.csv beside test.csv gives none unless the spec names it: say how
    assert "has no train split to fit on" in reason and "train_split" in reason


def test_singular_covariance_is_shrunk_and_said() -> None:
    """64 fit samples of 32 features with 10 classes leave a within-class covariance of rank
    < 32: shrunk (Ledoit-Wolf), a note, and finite scores."""
    config = {**CONFIG, "ood_sets": CONFIG["ood_sets"][:1], "ood": {"fit_samples": 20}}
    result = ShiftSuite(config).run(_adapter(), digits(), RunContext(seed=0))
    assert any("singular or nearly so" in n and "Ledoit-Wolf" in n for n in result.notes)
    values = [r.value for r in result.metrics if r.context.get("score") == "mahalanobis"]
    assert values and all(v is not None and np.isfinite(v) for v in values)


def test_an_ood_set_of_another_shape_is_one_line() -> None:
    config = {"corruptions": [], "ood_sets": [{"task": "mnist-unseen", "tag": "near"}]}
    with pytest.raises(DatasetError, match=r"OOD set 'mnist-unseen' has input shape \(1, 28, 28\)"):
        ShiftSuite(config).run(_adapter(), digits(), RunContext(seed=0))


def test_fit_subset_reads_a_selected_train_split_in_its_own_order() -> None:
    """A train split that is itself a selection (an index mapping over a larger table) is fitted
    on the rows it holds: the subset equals the one drawn from the same rows stored whole."""
    from dataclasses import replace

    from harness.suites.shift.ood.detectors import fit_task

    task = digits()
    assert task.train is not None
    rows = list(range(len(task.train) - 1, 200, -3))  # reversed, every third
    selected = replace(task, train=task.train.select(rows))
    whole = replace(task, train=task.train.select(rows).flatten_indices())
    ctx = RunContext(seed=4)
    a, b = fit_task(selected, 150, ctx), fit_task(whole, 150, ctx)
    assert a is not None and b is not None and len(a) == 150
    assert a.sample_ids == b.sample_ids
    assert set(a.sample_ids) <= {str(i) for i in task.train.select(rows)["sample_id"]}
    for x, y in zip(a.batches(64), b.batches(64), strict=True):
        assert isinstance(x.inputs, torch.Tensor) and isinstance(y.inputs, torch.Tensor)
        assert torch.equal(x.inputs, y.inputs) and torch.equal(x.labels, y.labels)


def test_near_and_far_means_have_a_paired_form(result) -> None:  # noqa: ANN001
    """Each OOD row carries its set's tag, so a comparison of two runs' near / far means is
    paired (both recomputed on the same resamples), not read off their intervals."""
    from harness.analysis.paired_forms import Resampled, per_sample
    from harness.stats.detection import OOD_TAG

    frame = result.table.frame
    tags = frame[frame["condition"].str.startswith("ood=")].groupby("condition")[OOD_TAG].unique()
    assert {c: list(v) for c, v in tags.items()} == {
        "ood=uniform_noise": ["far"], "ood=gaussian_noise": ["far"], "ood=digits-shifted": ["near"]
    }  # fmt: skip
    means = [
        r for r in result.metrics if r.condition.startswith("ood_mean=") and r.value is not None
    ]
    assert {r.metric for r in means} == {
        "ood_auroc", "ood_aupr", "ood_aupr_out", "ood_fpr_at_95_tpr"
    }  # fmt: skip
    for r in means:  # per_sample returns a form only when it reproduces the record's value
        assert isinstance(per_sample(r, result.table), Resampled), r.key


def _features_adapter(change):  # noqa: ANN001, ANN202
    """The test net, its features passed through `change` (its logits as they are)."""
    from dataclasses import replace

    adapter = _adapter()
    features = adapter.features

    def changed(x):  # noqa: ANN001, ANN202
        out = features(x)
        return replace(out, features=change(out.features), weight=None, bias=None)

    adapter.features = changed  # type: ignore[method-assign]
    return adapter


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda z: torch.where(torch.arange(len(z))[:, None] % 7 == 0, torch.nan, z),
            r"its features hold NaN or inf values on 29 of the 200 fit samples \('digits \(train\)'\)",
        ),
        (
            lambda z: z.double() * 1e200,
            r"its features on the fit samples reach \S+e\+200, where a squared norm overflows",
        ),
    ],
)
def test_fit_features_that_cannot_be_fitted_leave_the_feature_detectors_out(
    change,
    reason: str,  # noqa: ANN001
) -> None:
    """NaN features failed the job with a LinAlgError traceback from Mahalanobis' covariance
    (KNN scored every input NaN); features whose squared norm overflows gave every input the same
    KNN score (its normalised features all 0), an AUROC of 0.5 measured on nothing."""
    config = {**CONFIG, "ood_sets": CONFIG["ood_sets"][:1]}
    result = ShiftSuite(config).run(_features_adapter(change), digits(), RunContext(seed=0))
    absent = result.artifacts["ood"]["absent"]
    assert {"mahalanobis", "rmd", "knn", "she"} <= set(absent)
    assert all(re.search(reason, absent[d]) for d in ("mahalanobis", "knn"))
    scores = {r.context["score"] for r in result.metrics if r.metric == "ood_auroc"}
    assert scores and not scores & {"mahalanobis", "rmd", "knn", "she"}


def test_nan_logits_on_the_fit_samples_are_one_line() -> None:
    from harness.core.errors import ModelOutputError

    class NaNOnTrain(_Net):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = super().forward(x)
            return out * torch.nan if len(x) > 80 else out  # the fit batches are larger

    from harness.adapters.torch_module import TorchModuleAdapter

    adapter = TorchModuleAdapter.from_module(NaNOnTrain(), name="nan", input_shape=(1, 8, 8))
    config = {**CONFIG, "ood_sets": CONFIG["ood_sets"][:1]}
    with pytest.raises(ModelOutputError, match=r"model 'nan' returned NaN or inf logits for 200"):
        ShiftSuite(config).run(adapter, digits(), RunContext(seed=0))


def test_a_value_without_interval_says_why(result) -> None:  # noqa: ANN001
    """An OOD set of one sample (a loaded set can have one) has an AUROC, the share of test
    samples ranked below it, but no interval: the record says so instead of a bare number."""
    from harness.suites.shift.ood.metrics import ScoredSet, set_metrics

    clean = {"sample_id": [f"t{i}" for i in range(5)], "msp": [0.9, 0.8, 0.7, 0.95, 0.6]}
    one = ScoredSet("single", "far", {"sample_id": ["o0"], "msp": [0.65]})
    records = set_metrics(one, clean, ["msp"], RunContext(seed=0), "msp")
    auroc = next(r for r in records if r.metric == "ood_auroc")
    assert auroc.value == pytest.approx(0.8) and auroc.ci is None
    assert "no interval: 5 test and 1 OOD sample(s) in 'single'" in (auroc.note or "")
    per_set = [r for (c, _), r in _records(result, "ood_auroc").items() if c.startswith("ood=")]
    assert per_set and not any("no interval" in (r.note or "") for r in per_set)
