"""Each setting of the shift suite's OOD detection reaches the detector it configures.

A key of `suites.shift` (`ood.knn_k`, `energy_temperature`, ...) read as a spec gives it gives
exactly the scores of its detector built with that value (the detectors themselves are checked
against pytorch-ood in test_reference.py) and not the default's; in a run, it moves that
detector's stored score column and no other."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from harness.core.suite import RunContext
from harness.data.builtin import digits
from harness.suites.shift import ShiftSuite
from harness.suites.shift.config import ShiftConfig
from harness.suites.shift.ood import feature_detectors as fd
from harness.suites.shift.ood import head_detectors as hd
from harness.suites.shift.ood import logit_detectors as ld
from harness.suites.shift.ood.base import Detector, Outputs
from harness.suites.shift.ood.detectors import Bank, column_of, make
from harness.suites.shift.ood.odin import odin_scores
from tests.suites.shift.ood.test_reference import _data
from tests.suites.shift.ood.test_suite_ood import _adapter

# key of suites.shift.ood -> (detector, a value other than the default, that detector built with it)
SETTINGS: dict[str, tuple[str, Any, Callable[[], Detector]]] = {
    "knn_k": ("knn", 7, lambda: fd.KNN(7)),
    "react_percentile": ("react", 80.0, lambda: hd.ReAct(80.0)),
    "ash_percentile": ("ash", 70.0, lambda: hd.ASH(70.0)),
    "dice_sparsity": ("dice", 50.0, lambda: hd.DICE(50.0)),
    "vim_dim": ("vim", 5, lambda: hd.ViM(5)),
    "gen_gamma": ("gen", 0.5, lambda: ld.GEN(0.5, 100)),
    "gen_top": ("gen", 3, lambda: ld.GEN(0.1, 3)),
}


def _scores(detector: Detector, seed: int = 3) -> np.ndarray:
    fit, test = _data(seed)
    detector.fit(fit)
    return np.asarray(detector.score(test))


@pytest.mark.parametrize("key", list(SETTINGS))
def test_an_ood_setting_configures_its_detector(key: str) -> None:
    name, value, direct = SETTINGS[key]
    cfg = ShiftConfig.model_validate({"ood": {key: value}})
    configured = _scores(make(name, cfg.ood, cfg.energy_temperature))
    np.testing.assert_array_equal(configured, _scores(direct()))
    default = ShiftConfig()
    assert not np.allclose(configured, _scores(make(name, default.ood, 1.0)))


def test_energy_temperature_configures_the_energy_score() -> None:
    cfg = ShiftConfig.model_validate({"energy_temperature": 2.0})
    configured = _scores(make("energy", cfg.ood, cfg.energy_temperature))
    np.testing.assert_array_equal(configured, _scores(ld.Energy(2.0)))
    assert not np.allclose(configured, _scores(ld.Energy(1.0)))


def test_odin_temperature_and_epsilon_configure_odin() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    )
    x = 0.1 + 0.8 * torch.rand(12, 1, 4, 4)
    adapter = SimpleNamespace(module=lambda: net, device=torch.device("cpu"))
    task = SimpleNamespace(bounds=(0.0, 1.0))

    def bank_scores(ood: dict[str, Any]) -> np.ndarray:
        cfg = ShiftConfig.model_validate(
            {"ood": {"detectors": ["odin"], "headline": "odin", **ood}}
        ).ood
        bank = Bank(detectors={"odin": make("odin", cfg, 1.0)}, odin=cfg)
        out = Outputs(logits=net(x).double())
        ctx = RunContext(batch_size=5)
        return bank.scores(adapter, task, x, out, ctx)[column_of("odin")]  # type: ignore[arg-type]

    def direct_scores(temperature: float, epsilon: float) -> np.ndarray:
        # in the bank's batches of 5: a CPU's float32 kernels may round a batch of 12 otherwise
        batches = [
            odin_scores(net, part, temperature=temperature, epsilon=epsilon, bounds=(0.0, 1.0))
            for part in x.split(5)
        ]
        return np.concatenate(batches)

    configured = bank_scores({"odin_temperature": 10.0, "odin_epsilon": 0.01})
    direct = direct_scores(10.0, 0.01)
    np.testing.assert_allclose(configured, direct, rtol=1e-12)
    default = direct_scores(1000.0, 0.0014)
    np.testing.assert_allclose(bank_scores({}), default, rtol=1e-12)
    # each key moves the scores (epsilon at temperature 10: at 1000 the softmax is nearly flat)
    assert not np.allclose(bank_scores({"odin_temperature": 10.0}), default)
    assert not np.allclose(bank_scores({"odin_temperature": 10.0}), configured)


def test_in_a_run_each_setting_moves_its_own_score_column_only() -> None:
    base = {
        "corruptions": [],
        "max_samples": 60,
        "ood_sets": [{"generated": "uniform_noise", "n": 30}],
    }
    settings = {key: value for key, (_, value, _) in SETTINGS.items()}
    settings |= {"odin_temperature": 10.0, "odin_epsilon": 0.01}

    def clean_rows(energy_temperature: float, ood: dict[str, Any]) -> Any:
        config = {
            **base,
            "energy_temperature": energy_temperature,
            "ood": {"detectors": "all", "fit_samples": 100, **ood},
        }
        result = ShiftSuite(config).run(_adapter(), digits(), RunContext(seed=0))
        frame = result.table.frame
        return frame[frame.condition == "clean"].set_index("sample_id").sort_index()

    default, changed = clean_rows(1.0, {}), clean_rows(2.0, settings)
    moved = {column_of(name) for name, _, _ in SETTINGS.values()} | {"energy", column_of("odin")}
    unmoved = {column_of(n) for n in ("msp", "max_logit", "neg_entropy", "mahalanobis", "rmd")}
    assert moved.isdisjoint(unmoved) and list(default.index) == list(changed.index)
    for column in sorted(moved):
        assert not np.allclose(default[column], changed[column]), column
    for column in sorted(unmoved):
        np.testing.assert_array_equal(default[column], changed[column], err_msg=column)


def test_a_list_of_sets_under_ood_points_to_ood_sets() -> None:
    """`ood:` takes the detectors' settings; a list of OOD sets written there gets one sentence
    saying where sets go (it was the validation library's 'a valid dictionary or instance of
    OODConfig')."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as err:
        ShiftConfig.model_validate({"ood": [{"name": "x", "source": "x.csv"}]})
    message = err.value.errors()[0]["msg"]
    assert "a mapping such as {detectors: [energy, knn]} (OOD sets go under ood_sets)" in message
    assert ShiftConfig.model_validate({"ood": {"knn_k": 3}}).ood.knn_k == 3


def test_an_empty_ood_key_says_to_leave_it_out() -> None:
    """`ood:` with nothing after it (YAML null) got the validation library's 'a valid dictionary
    or instance of OODConfig'; it now says what the key takes and how to get the defaults."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as err:
        ShiftConfig.model_validate({"ood": None})
    message = err.value.errors()[0]["msg"]
    assert "takes the OOD detectors' settings" in message
    assert "leave the key out for the default detectors" in message


@pytest.mark.parametrize("eps", [1.0, 2.0, 14.0])
def test_an_odin_epsilon_of_the_whole_range_is_refused(eps: float) -> None:
    """`odin_epsilon` is a share of the input range: at 1 or more every input value is pushed to
    a bound, so ODIN scores the signs of the gradient, not the input (2 gave AUROC 0.217 on
    uniform noise, below chance, with nothing saying the setting was the cause; 14 is 0.0014
    with the decimal point lost)."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as err:
        ShiftConfig.model_validate({"ood": {"odin_epsilon": eps}})
    message = err.value.errors()[0]["msg"]
    assert "share of the input range" in message
    assert ShiftConfig.model_validate({"ood": {"odin_epsilon": 0.5}}).ood.odin_epsilon == 0.5


def test_odin_steps_each_tabular_feature_by_a_share_of_its_own_range() -> None:
    """`odin_epsilon` is a share of the input range: on a tabular task whose features have their
    own ranges (`feature_bounds`) ODIN stepped every feature by a share of the global box and
    clamped it there, so a feature of range 0.01 moved by 14% of its range (and could leave it)."""
    from dataclasses import replace

    from harness.data.builtin import diabetes
    from harness.suites.shift.ood.detectors import odin_box
    from harness.suites.shift.ood.odin import odin_inputs

    task = diabetes()
    ranges = ((0.0, 0.01),) + ((0.0, 1.0),) * (task.input_shape[0] - 1)
    task = replace(task, feature_bounds=ranges)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(task.input_shape[0], 2))
    x = torch.rand(8, task.input_shape[0]) * 0.5 + 0.25
    x[:, 0] = 0.005
    moved = odin_inputs(net, x, temperature=1000.0, epsilon=0.1, bounds=odin_box(task))
    step = (moved - x).abs()
    assert torch.allclose(step[:, 0], torch.full((8,), 0.1 * 0.01), atol=1e-7)
    assert torch.allclose(step[:, 1:], torch.full_like(step[:, 1:], 0.1), atol=1e-6)
    assert bool((moved[:, 0] >= 0).all() and (moved[:, 0] <= 0.01).all())
    adapter = SimpleNamespace(module=lambda: net, device=torch.device("cpu"))
    cfg = ShiftConfig.model_validate(
        {"ood": {"detectors": ["odin"], "headline": "odin", "odin_epsilon": 0.1}}
    ).ood
    bank = Bank(detectors={"odin": make("odin", cfg, 1.0)}, odin=cfg)
    got = bank.scores(adapter, task, x, Outputs(logits=net(x).double()), RunContext(batch_size=5))  # type: ignore[arg-type]
    direct = odin_scores(net, x, temperature=1000.0, epsilon=0.1, bounds=odin_box(task))
    # batches of 5 against one of 8: float32 rounding of the products only
    np.testing.assert_allclose(got[column_of("odin")], direct, rtol=1e-9)
