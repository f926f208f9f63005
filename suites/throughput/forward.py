"""The callable that is timed: one forward pass of one batch under one condition.

Torch-module adapters are timed on `adapter.module()` under `torch.inference_mode()`, with
autocast for fp16/bf16, channels_last weights and inputs, or `torch.compile`. Other adapters are
timed through `adapter.logits`. In copy mode `device` the batch is staged on the device first; in
copy mode `host` it stays in (pinned) host memory and the copy is part of every timed call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch

from harness.core.adapter import ModelAdapter
from harness.suites.throughput.conditions import AUTOCAST_DTYPES, Condition

Samples = torch.Tensor | list[str]


def make_batch(samples: Samples, batch_size: int) -> Samples:
    """`batch_size` inputs: the task's first samples, repeated in order when there are fewer."""
    n = len(samples)
    if isinstance(samples, torch.Tensor):
        return samples[torch.arange(batch_size) % n].contiguous()
    return [samples[i % n] for i in range(batch_size)]


def uses_module(adapter: ModelAdapter, samples: Samples) -> bool:
    """Whether the suite times `adapter.module()` (tensor inputs, torch module available)."""
    return bool(adapter.capabilities.gradients) and isinstance(samples, torch.Tensor)


@contextlib.contextmanager
def prepared_forward(
    adapter: ModelAdapter, batch: Samples, cond: Condition, device: torch.device
) -> Iterator[Callable[[], object]]:
    """Yield the timed callable; restores the module's memory format afterwards."""
    if isinstance(batch, torch.Tensor):
        if cond.variant == "channels_last":
            batch = batch.contiguous(memory_format=torch.channels_last)
        if cond.copy_mode == "device":
            batch = batch.to(device)
        elif device.type == "cuda":
            batch = batch.pin_memory()
    if not uses_module(adapter, batch):
        x_any = batch

        def call_logits() -> object:
            return adapter.logits(x_any)

        yield call_logits
        return
    assert isinstance(batch, torch.Tensor)
    x = batch
    net = adapter.module()
    if cond.variant == "channels_last":
        net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs lack it
    runner: Callable[[torch.Tensor], object] = (
        torch.compile(net) if cond.variant == "compile" else net
    )
    dtype = AUTOCAST_DTYPES.get(cond.precision)
    stage = cond.copy_mode == "host"

    def call_module() -> object:
        autocast = (
            torch.autocast(device_type=device.type, dtype=dtype)
            if dtype is not None
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            return runner(x.to(device, non_blocking=True) if stage else x)

    try:
        yield call_module
    finally:
        if cond.variant == "channels_last":
            net.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]  # as above
