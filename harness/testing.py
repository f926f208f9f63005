"""`check_adapter(adapter, task)`: the public contract check for model adapters.

Plugin authors run it in their own tests; this project runs it over every registered adapter.
Each violation raises `AdapterContractError` with one line naming the adapter and the rule. The
required members are those of `harness.core.adapter.MinimalAdapter`; the optional hooks a plugin
defines are checked too, and the ones it leaves out get the harness's defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch

from harness.core.adapter import MinimalAdapter, ModelAdapter, Truncation, with_default_hooks
from harness.core.errors import HarnessError
from harness.core.task import Task

ATOL = 1e-4  # logits of the same inputs may differ by float noise across batch sizes


class AdapterContractError(AssertionError):
    """An adapter breaks the `ModelAdapter` contract (a bug in the adapter, not user input)."""


@dataclass(frozen=True)
class ContractReport:
    """What the check exercised, for the plugin author's log."""

    adapter: str
    task: str
    samples: int
    white_box: bool
    max_batch_difference: float


def _fail(adapter: object, rule: str) -> AdapterContractError:
    return AdapterContractError(f"adapter {getattr(adapter, 'name', adapter)!r}: {rule}")


def _logits(
    adapter: ModelAdapter, inputs: torch.Tensor | list[str], n: int, task: Task
) -> torch.Tensor:
    out = adapter.logits(inputs)
    if not isinstance(out, torch.Tensor):
        raise _fail(adapter, f"logits() returned {type(out).__name__}, not a torch.Tensor")
    if not out.dtype.is_floating_point:
        raise _fail(adapter, f"logits() returned dtype {out.dtype}; expected floating point")
    if tuple(out.shape) != (n, task.num_classes):
        raise _fail(
            adapter,
            f"logits() returned shape {tuple(out.shape)} for {n} samples of task {task.name!r}; "
            f"expected ({n}, {task.num_classes})",
        )
    if not torch.isfinite(out).all():
        raise _fail(adapter, "logits() returned NaN or inf")
    if out.requires_grad:
        raise _fail(adapter, "logits() returned a tensor that requires grad; run in inference mode")
    return out.detach().cpu().float()


def _check_members(adapter: object) -> None:
    for attr in ("name", "input_spec", "capabilities", "device"):
        if not hasattr(adapter, attr):
            raise _fail(adapter, f"has no attribute {attr!r}")
    if not isinstance(adapter, MinimalAdapter):
        raise _fail(adapter, "does not implement the MinimalAdapter protocol")


def _check_hooks(adapter: ModelAdapter) -> None:
    """The optional hooks, the plugin's own or the defaults: right types, callable."""
    reason = adapter.unavailable_reason
    if reason is not None and not isinstance(reason, str):
        raise _fail(adapter, f"unavailable_reason must be None or a str, got {reason!r}")
    if reason is not None:
        raise _fail(adapter, f"is unavailable ({reason}); check an adapter that can run")
    for hook in (adapter.check_task, adapter.count_tokens, adapter.truncation):
        if not callable(hook):
            raise _fail(adapter, f"{hook!r} is not a method; optional hooks must be callable")


def _check_static(adapter: ModelAdapter, task: Task) -> None:
    spec = adapter.input_spec
    if spec.modality != task.modality:
        raise _fail(adapter, f"input_spec.modality {spec.modality!r} but task is {task.modality!r}")
    if spec.shape is not None and task.modality != "text" and tuple(spec.shape) != task.input_shape:
        raise _fail(
            adapter, f"input_spec.shape {spec.shape} but task samples are {task.input_shape}"
        )
    if adapter.device.type not in adapter.capabilities.devices:
        raise _fail(
            adapter,
            f"runs on {adapter.device.type} but capabilities.devices is {adapter.capabilities.devices}",
        )
    describe = adapter.describe()
    if not isinstance(describe, dict):
        raise _fail(adapter, "describe() must return a dict")
    try:
        text = json.dumps(describe, sort_keys=True)
    except TypeError as err:
        raise _fail(adapter, f"describe() is not JSON-serialisable: {err}") from None
    if json.dumps(adapter.describe(), sort_keys=True) != text:
        raise _fail(adapter, "describe() changed between two calls")
    ident = adapter.identity()
    if not isinstance(ident, str) or len(ident) < 16:
        raise _fail(
            adapter, f"identity() must be a stable string of at least 16 chars, got {ident!r}"
        )
    if adapter.identity() != ident:
        raise _fail(adapter, "identity() changed between two calls")


def _check_gradients(adapter: ModelAdapter, inputs: torch.Tensor, expected: torch.Tensor) -> None:
    if not adapter.capabilities.gradients:
        try:
            adapter.module()
        except (HarnessError, NotImplementedError):
            return
        raise _fail(adapter, "capabilities.gradients is False but module() returned a module")
    module = adapter.module()
    if not isinstance(module, torch.nn.Module):
        raise _fail(adapter, f"module() returned {type(module).__name__}, not an nn.Module")
    trainable = [n for n, p in module.named_parameters() if p.requires_grad]
    if trainable:
        raise _fail(
            adapter, f"module() parameters require grad (e.g. {trainable[0]!r}); freeze them"
        )
    x = inputs.clone().to(adapter.device).requires_grad_(True)
    out = module(x)
    if not isinstance(out, torch.Tensor) or out.shape != expected.shape:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise _fail(
            adapter,
            f"module()(x) returned {shape}; logits(x) has shape {tuple(expected.shape)}, so module() differs from logits",
        )
    if not torch.allclose(out.detach().cpu().float(), expected, atol=ATOL, rtol=1e-3):
        diff = float((out.detach().cpu().float() - expected).abs().max())
        raise _fail(adapter, f"module()(x) differs from logits(x) by up to {diff:.3g}")
    out.sum().backward()
    if x.grad is None or not torch.isfinite(x.grad).all() or not x.grad.abs().sum() > 0:
        raise _fail(
            adapter, "capabilities.gradients is True but no finite, non-zero input gradient flows"
        )


def check_adapter(adapter: MinimalAdapter, task: Task, *, samples: int = 8) -> ContractReport:
    """Run the adapter contract on a seeded label-stratified sample of `samples` samples of `task`
    (every class represented where `samples` allows); raise on a violation."""
    _check_members(adapter)
    adapter = with_default_hooks(adapter)
    _check_hooks(adapter)
    _check_static(adapter, task)
    adapter.check_task(task)
    batch = next(task.subset(samples, seed=0, purpose="check_adapter").batches(samples))
    n = len(batch)
    first = _logits(adapter, batch.inputs, n, task)
    again = _logits(adapter, batch.inputs, n, task)
    if not torch.equal(first, again) and not torch.allclose(first, again, atol=ATOL):
        raise _fail(adapter, "logits() of the same inputs differ between calls (not deterministic)")
    part = max(1, n // 2)
    head = _logits(adapter, batch.inputs[:part], part, task)
    batch_diff = float((head - first[:part]).abs().max())
    if batch_diff > ATOL * max(1.0, float(first.abs().max())):
        raise _fail(
            adapter,
            f"logits() depend on the batch: sample rows differ by {batch_diff:.3g} at batch size {part} vs {n}",
        )
    if task.modality == "text":
        assert isinstance(batch.inputs, list)
        tokens = adapter.count_tokens(batch.inputs)
        if tokens is not None and (not isinstance(tokens, int) or tokens < n):
            raise _fail(
                adapter,
                f"count_tokens() returned {tokens!r} for {n} texts; expected None or an int >= {n}",
            )
        cut = adapter.truncation(batch.inputs)
        if cut is not None and (
            not isinstance(cut, Truncation) or cut.total != n or not 0 <= cut.count <= n
        ):
            raise _fail(
                adapter,
                f"truncation() returned {cut!r} for {n} texts; expected None or a Truncation "
                f"with total {n} and a count between 0 and {n}",
            )
    else:
        assert isinstance(batch.inputs, torch.Tensor)
        if task.bounds is not None:
            low, high = task.bounds
            corners = torch.stack(
                [torch.full(task.input_shape, low), torch.full(task.input_shape, high)]
            )
            _logits(adapter, corners, 2, task)  # the bounds themselves are valid inputs
        _check_gradients(adapter, batch.inputs, first)
    return ContractReport(
        adapter=adapter.name,
        task=task.name,
        samples=n,
        white_box=adapter.capabilities.gradients,
        max_batch_difference=batch_diff,
    )
