"""Bad input to the adversarial suite (issues 15, 17, 20): a clear line or a flag, never a crash
without a reason; subsets are seeded and stratified; black-box n counts attacked samples only;
decision attacks work in the model's own bounds; stored examples reach the job folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.cli.main import main
from harness.core.adapter import Capabilities
from harness.core.errors import ConfigError, ModelCallError, ModelOutputError
from harness.data import builtin as builtin_tasks
from harness.run.api import evaluate
from harness.store.run_store import read_job
from tests.suites.adversarial import models as M

FAST = {"preset": "fast", "epsilons": {"linf": [0.1]}}


@pytest.fixture(scope="module")
def digits():
    return builtin_tasks.digits().head(60)


def adapter(factory, name: str = "m", shape=(1, 8, 8), **kw) -> TorchModuleAdapter:
    return TorchModuleAdapter.from_module(factory(), name=name, input_shape=shape, **kw)


def run(model, task, config=FAST, **kw):
    out = evaluate(
        model, task=task, suites={"adversarial": config}, device="cpu", bootstrap_resamples=0, **kw
    )
    return out.results["adversarial"]


class _NoGrad(TorchModuleAdapter):
    def __init__(self, inner: TorchModuleAdapter) -> None:
        self.__dict__.update(inner.__dict__)
        self.capabilities = Capabilities(gradients=False)

    def module(self) -> torch.nn.Module:
        raise AssertionError("a black-box adapter's module() must not be called")


def test_logits_of_the_wrong_shape_under_attack_stop_with_one_line(digits) -> None:
    with pytest.raises(ModelOutputError) as err:
        run(adapter(M.wrong_shape_digits, "shifty"), digits)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("model 'shifty' returned ")
    assert "perturbed inputs under adversarial attack" in message  # the randomness probe's


def test_nan_under_perturbation_is_flagged_not_counted_with_the_presets(digits) -> None:
    res = run(adapter(M.nan_off_grid_digits), digits)
    assert "invalid_adversarials" in res.artifacts["flags"]
    frame = res.table.to_pandas()
    assert not frame[frame.condition != "clean"].attack_success.any()


def test_max_samples_is_a_stratified_subset_with_the_same_ids_for_every_model() -> None:
    task = builtin_tasks.digits()
    order = np.argsort(task.labels, kind="stable")  # a task sorted by class
    by_class = replace(task, name="digits-by-class", data=task.data.select(order.tolist()))
    config = {**FAST, "max_samples": 30, "checks": False}
    a = run(adapter(M.control_digits), by_class, config).table.to_pandas()
    b = run(adapter(M.saturated_digits), by_class, config).table.to_pandas()
    clean_a, clean_b = a[a.condition == "clean"], b[b.condition == "clean"]
    assert len(clean_a) == 30 and set(clean_a.label) == set(range(10))  # every class, 3 each
    assert list(clean_a.sample_id) == list(clean_b.sample_id)


def test_black_box_n_counts_attacked_samples_and_lists_the_rest(digits) -> None:
    config = {
        "attacks": ["linf_hopskipjump"],
        "epsilons": {"linf": [0.1]},
        "minimization_max_samples": 20,
        "params": {"linf_hopskipjump": {"steps": 2, "max_gradient_eval_steps": 20}},
    }
    res = run(_NoGrad(adapter(M.control_digits, "bb")), digits, config)
    head = next(m for m in res.metrics if m.headline)
    missed = res.artifacts["not_attacked"]["linf"]
    correct = sum(res.table.condition("clean")["correct"])
    assert head.n <= 20 and head.n + len(missed) >= correct  # never counted as robust
    assert len(missed) >= correct - 20
    assert any("were not attacked" in n for n in res.notes)
    assert "black-box" in head.note


def test_decision_attack_works_in_the_models_own_bounds() -> None:
    """Foolbox clips to [0, 1] whatever the bounds; a tabular model on (0, 4254) ran for half an
    hour. The attack now runs in the unit box and finishes at once."""
    task = builtin_tasks.diabetes()
    scale = 4254.0
    wide = task.data.map(lambda r: {"input": [v * scale for v in r["input"]]})
    task = replace(task, name="diabetes-wide", data=wide, bounds=(0.0, scale)).head(40)
    model = M.control_diabetes(scale)
    a = _NoGrad(
        TorchModuleAdapter.from_module(
            model, name="tab", input_shape=(10,), modality="tabular", bounds=(0.0, scale)
        )
    )
    config = {
        "attacks": ["l2_hopskipjump"],
        "epsilons": {"l2": [0.5 * scale]},
        "params": {"l2_hopskipjump": {"steps": 3, "max_gradient_eval_steps": 30}},
    }
    res = run(a, task, config)
    rows = res.table.condition("attack=l2_hopskipjump/eps=2127")
    assert rows.attack_success.any()
    assert (rows[rows.attack_success].perturbation_norm <= 0.5 * scale).all()


def test_examples_are_stored_in_the_job_folder(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: adv\nseed: 0\ndevice: cpu\nlimit: 80\nbootstrap_resamples: 0\ntasks: [digits]\n"
        "models:\n"
        "  - {name: control, factory: 'tests.suites.adversarial.models:control_digits', "
        "input_shape: [1, 8, 8]}\n"
        "suites:\n  adversarial: {preset: fast, epsilons: {linf: [0.1]}, examples: 5}\n"
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    (path,) = (tmp_path / "out" / "runs").glob("*/jobs/*adversarial*")
    job = read_job(path)
    assert "arrays.npz" in job.record.files  # checksummed like every other file
    arrays = job.arrays()
    meta = job.artifacts()["adversarial_examples"]
    assert arrays["adv_clean"].shape == arrays["adv_perturbed"].shape == (5, 1, 8, 8)
    assert arrays["adv_clean"].dtype == np.float32 and arrays["adv_label"].dtype == np.int64
    assert len(meta["sample_ids"]) == 5 and meta["norm"] == "linf" and meta["eps"] == 0.1
    assert meta["condition"] == "attack=ensemble/norm=linf/eps=0.1"
    delta = np.abs(arrays["adv_perturbed"] - arrays["adv_clean"]).reshape(5, -1).max(1)
    assert (delta <= 0.1 + 1e-6).all() and (
        arrays["adv_perturbed_pred"] != arrays["adv_label"]
    ).all()
    # anyone can re-verify them: the model misclassifies every stored perturbed input
    net = M.control_digits()
    with torch.no_grad():
        pred = net(torch.as_tensor(arrays["adv_perturbed"])).argmax(1).numpy()
    assert (pred == arrays["adv_perturbed_pred"]).all()


def test_a_model_that_edits_its_input_in_place_sees_copies(digits) -> None:
    """Nothing the model does to its input reaches an attack, the verifier or the next model:
    the numbers equal those of its out-of-place twin, and the task's inputs are untouched."""
    before = digits.all_inputs().clone()
    edits = run(adapter(M.edits_input_digits, "edits"), digits).table.to_pandas()
    twin = run(adapter(M.halves_digits, "twin"), digits).table.to_pandas()
    cols = ["sample_id", "condition", "prediction", "correct"]
    assert edits[cols].reset_index(drop=True).equals(twin[cols].reset_index(drop=True))
    assert torch.equal(digits.all_inputs(), before)


def test_an_in_place_edit_autograd_needs_is_one_line_naming_the_model_and_the_fix(digits) -> None:
    with pytest.raises(ModelCallError) as err:
        run(adapter(M.breaks_autograd_digits, "inplace"), digits)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("model 'inplace' modifies a tensor in place that autograd needs")
    assert "make that step of its forward pass out of place" in message


def test_a_model_built_under_inference_mode_is_one_line_and_given_back(digits) -> None:
    """Parameters loaded under torch.inference_mode() are inference tensors: autograd cannot
    differentiate through them (one line naming the model and the fix, not torch's advice to
    clone), and evaluate() gives the module back as it was (it raised a bare RuntimeError while
    restoring requires_grad, even after an accuracy job)."""
    state = M.control_digits().state_dict()
    with torch.inference_mode():
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
        model.load_state_dict(state)
    assert next(model.parameters()).is_inference()
    out = evaluate(model, task=digits, suites=["accuracy"], device="cpu", bootstrap_resamples=0)
    assert out.results["accuracy"].metrics[0].value > 0.8
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(ModelCallError, match=r"torch.inference_mode\(\).*outside torch"):
        run(model, digits)
    assert all(p.requires_grad for p in model.parameters())


def test_a_gradient_for_some_samples_only_is_flagged_not_a_crash(digits) -> None:
    res = run(adapter(M.some_rows_detached_digits), digits, {**FAST, "escalation_rounds": 0})
    zero = next(c for c in res.artifacts["checks"] if c["flag"] == "zero_gradients")
    assert zero["raised"] and 0 < zero["bad"] < zero["n"], zero
    assert "zero_gradients" in res.artifacts["flags"]


def test_an_unknown_preset_is_one_line(digits) -> None:
    with pytest.raises(ConfigError, match=r"unknown preset 'fastest'; did you mean 'fast'\?"):
        run(adapter(M.control_digits), digits, {"preset": "fastest"})


TARGETS_SPEC = """\
device: cpu
limit: 40
tasks: [{tasks}]
models: [digits-mlp]
suites:
  adversarial:
    attacks: [linf_apgd_t]
    params: {{linf_apgd_t: {{targets: {targets}}}}}
    epsilons: {{linf: [0.1]}}
"""


def test_more_targets_than_any_task_has_classes_is_refused_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`targets: 50` on digits (10 classes) and diabetes (2) ran 9 and 1 target classes and
    the job recorded 50; `harness validate` said the spec was valid."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(TARGETS_SPEC.format(tasks="digits, diabetes", targets=50))
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "suites.adversarial.params.linf_apgd_t.targets: 50 target classes" in err
    assert "'digits' 10" in err and "at most 9 would run" in err
    spec.write_text(TARGETS_SPEC.format(tasks="digits, diabetes", targets=9))
    assert main(["validate", str(spec)]) == 0  # 9 on digits, the k - 1 = 1 of diabetes


def test_the_artifacts_record_the_targets_that_ran() -> None:
    """A binary task runs 1 target class of the default 9 (an explicit 9 is refused there, as
    above): the job says so."""
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(24, 4, generator=gen), torch.arange(24) % 2
    model = torch.nn.Linear(4, 2)
    config = {
        "attacks": ["linf_apgd_t"],
        "params": {"linf_apgd_t": {"steps": 5}},
        "epsilons": {"linf": [0.1]},
        "checks": False,
    }
    result = run(model, (x, y), config, num_classes=2)
    assert result.artifacts["attacks"]["linf_apgd_t"]["params"]["targets"] == 9
    assert result.artifacts["attacks"]["linf_apgd_t"]["targets_run"] == 1


BUDGET_SPEC = """\
device: cpu
tasks: [{tasks}]
models: [digits-mlp]
suites:
  adversarial: {{epsilons: {epsilons}{units}}}
"""


@pytest.mark.parametrize(
    ("epsilons", "line"),
    [
        ("{linf: [1e6]}", "epsilons.linf: eps 1e+06 is at least the whole input range of task "),
        ("{linf: [0.1], l2: [8]}", "epsilons.l2: eps 8 is at least the whole input range of task "),
    ],
)
def test_a_budget_across_the_whole_input_range_is_refused_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], epsilons: str, line: str
) -> None:
    """`eps: 1e6` (a units mistake) passed validate and then failed every job with this line;
    digits' bounds ([0, 1]) and shape (1x8x8: largest L2 distance 8) are known before any job."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(BUDGET_SPEC.format(tasks="digits", epsilons=epsilons, units=""))
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and line + "'digits'" in err, err
    # budgets in feature-range units are the job's to check (against each feature's range)
    spec.write_text(
        BUDGET_SPEC.format(tasks="digits", epsilons=epsilons, units=", eps_units: feature_range")
    )
    assert main(["validate", str(spec)]) == 0, capsys.readouterr().err
