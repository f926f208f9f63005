"""A plain function goes into `harness.evaluate` as "any callable" promises: read as returning
logits (numpy or torch out), checked like a spec's `adapter: callable`, identified by its code
and what it refers to. `harness.evaluate(fn, ...)` was refused ("cannot evaluate a function")
and the hint asked for an importable `module:function` spec, which a notebook's function is not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import harness
from harness.core.errors import HarnessError, ModelLoadError, ModelOutputError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 4)).astype(np.float32)
W = RNG.normal(size=(4, 3)).astype(np.float32)
Y = (X @ W).argmax(1)
Y[:12] = (Y[:12] + 1) % 3  # 48 of 60 right
FAST = dict(device="cpu", bootstrap_resamples=0, name="toy", num_classes=3)


def linear(x: np.ndarray) -> np.ndarray:
    return x @ W


def test_a_plain_function_returning_logits_is_evaluated() -> None:
    got = harness.evaluate(linear, data=(X, Y), **FAST)
    assert got.model == "linear"
    assert got.metric("top1_acc").value == pytest.approx(48 / 60)
    assert got.metric("top1_acc").n == 60
    as_torch = harness.evaluate(lambda x: torch.from_numpy(x @ W), data=(X, Y), **FAST)
    assert as_torch.metric("nll").value == pytest.approx(got.metric("nll").value, rel=1e-6)


def test_the_wrapper_says_what_a_bare_function_cannot() -> None:
    def probs(x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x @ torch.from_numpy(W), dim=1)

    wrapped = harness.callable_model(probs, outputs="probabilities", input_format="torch")
    got = harness.evaluate(wrapped, data=(X, Y), **FAST)
    plain = harness.evaluate(linear, data=(X, Y), **FAST)
    assert got.metric("nll").value == pytest.approx(plain.metric("nll").value, rel=1e-4)
    # a bare function returning probabilities would have had its calibration misread: refused
    with pytest.raises(ModelOutputError, match=r"callable_model\(fn, outputs='probabilities'\)"):
        harness.evaluate(lambda x: probs(torch.from_numpy(x)).numpy(), data=(X, Y), **FAST)
    with pytest.raises(HarnessError, match=r"^callable_model: outputs 'scores'"):
        harness.callable_model(linear, outputs="scores")


def test_a_function_is_identified_by_its_code_and_what_it_refers_to(tmp_path: Path) -> None:
    weights = {"w": W.copy()}

    def from_dict(x: np.ndarray) -> np.ndarray:
        return x @ weights["w"]

    first = harness.evaluate(from_dict, data=(X, Y), **FAST)
    again = harness.evaluate(from_dict, data=(X, Y), **FAST)
    weights["w"] = W * -1.0  # new weights, same code: another model, not saved over the first
    other = harness.evaluate(from_dict, data=(X, Y), **FAST)
    assert first.save(tmp_path) == again.save(tmp_path)
    assert other.save(tmp_path) != first.save(tmp_path)


def test_a_function_whose_results_cannot_be_told_apart_is_refused_in_one_line() -> None:
    import threading

    lock = threading.Lock()

    def locked(x: np.ndarray) -> np.ndarray:
        with lock:
            return x @ W

    with pytest.raises(
        ModelLoadError, match=r"^model 'locked': lock \(used by .*locked\) is a lock"
    ):
        harness.evaluate(locked, data=(X, Y), **FAST)


def test_a_module_a_function_uses_is_identified_as_the_module_adapter_identifies_it() -> None:
    """A module reached from a function's globals or closure is hashed as `from_module` hashes a
    module held in memory: its parameters and buffers (quantized ones too: `.numpy()` of a
    qint8 tensor raised) and the plain attributes its forward reads (a temperature set on it
    kept the function's identity, and saving new results overwrote the old ones)."""
    from harness.adapters.python_callable import callable_fingerprint

    def using(module: torch.nn.Module) -> object:
        def fn(x: np.ndarray) -> np.ndarray:
            return module(torch.as_tensor(x)).detach().numpy()

        return fn

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3))
    quantized = torch.ao.quantization.quantize_dynamic(net, {torch.nn.Linear}, torch.qint8)
    assert callable_fingerprint(using(quantized), "q")  # hashed, not refused nor raised
    before = callable_fingerprint(using(net), "n")
    net.temperature = 2.0  # a plain attribute: not in the state dict
    assert callable_fingerprint(using(net), "n") != before


def test_top5_on_a_task_of_few_classes_says_why_it_is_absent() -> None:
    got = harness.evaluate(linear, data=(X, Y), **FAST)  # 3 classes: every label is in the top 5
    with pytest.raises(HarnessError, match="more than 5 classes"):
        got.metric("top5_acc")
