"""The callable that is timed: one forward pass of one batch under one condition.

Torch-module adapters are timed on `adapter.module()` under `torch.inference_mode()`, with
autocast for fp16/bf16, channels_last weights and inputs, or `torch.compile`. Other adapters are
timed through `adapter.logits`. In copy mode `device` the batch is staged on the device first; in
copy mode `host` it stays in (pinned) host memory and the copy is part of every timed call.

Every timed call sees the same batch. After the rounds, `TimedForward.use_fresh` switches the
same prepared callable (the same compiled module, the same layout) to inputs it has not seen
(`fresh_batch`, other ones for each call), for the check that a model does not answer the
repeated batch from a cache (`measure.FRESH_CALLS`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch

from harness.core.adapter import ModelAdapter
from harness.core.errors import ModelOutputError
from harness.suites.throughput.conditions import AUTOCAST_DTYPES, Condition

Samples = torch.Tensor | list[str]


def make_batch(samples: Samples, batch_size: int) -> Samples:
    """`batch_size` inputs: the task's first samples, repeated in order when there are fewer."""
    n = len(samples)
    if isinstance(samples, torch.Tensor):
        return samples[torch.arange(batch_size) % n].contiguous()
    return [samples[i % n] for i in range(batch_size)]


FRESH_SCALE = 2.0**-20
"""`fresh_batch` scales floating inputs by 1 - step x this: every non-zero value changes in its
last bits and no value becomes subnormal (a step toward the next float would turn each 0 into
a subnormal, and arithmetic on subnormals is several times slower on most CPUs). Toward zero,
then clamped to the batch's own range, so no value leaves the task's bounds (scaled by 1 + step
x this, a pixel at 1.0 became 1.000001, and a model checking its bounds [0, 1] failed)."""


def fresh_batch(batch: Samples, step: int = 1) -> Samples:
    """The batch as inputs the model has not seen, at the same cost for a model that computes;
    each `step` (1, 2, ...) gives other inputs: floating tensors scaled by 1 - step x
    `FRESH_SCALE` within the batch's range (`fresh_range`), other tensors with their rows
    rotated by `step`, texts with their words rotated by `step` and `step` trailing spaces
    (`fresh_text`)."""
    if isinstance(batch, list):
        return [fresh_text(t, step) for t in batch]
    if batch.is_floating_point():
        return (batch * fresh_factor(step)).clamp_(*fresh_range(batch))
    return batch.roll(step, 0)


def fresh_text(text: str, step: int) -> str:
    """The text's words rotated by `step` (the same words: the same tokens to compute, in
    another order), then `step` trailing spaces (a text of one word differs by them alone).
    Trailing spaces alone, which tokenizers drop, left a cache keyed on the tokens (a server's
    response or prefix cache) answering every fresh call."""
    words = text.split()
    if len(words) > 1:
        turn = step % len(words)
        text = " ".join(words[turn:] + words[:turn])
    return text + " " * step


def fresh_factor(step: int) -> float:
    return 1.0 - step * FRESH_SCALE


def fresh_range(batch: torch.Tensor) -> tuple[float, float]:
    """The batch's smallest and largest value that is not NaN (a missing value stays NaN, an
    infinite one infinite): fresh values are kept within them. Read in chunks of rows, so no
    copy of a large batch is made."""
    low, high = float("inf"), float("-inf")
    for chunk in batch.reshape(len(batch), -1).split(1024) if batch.dim() else [batch]:
        values = chunk[~chunk.isnan()]
        if values.numel():
            low, high = min(low, float(values.amin())), max(high, float(values.amax()))
    return (low, high) if low <= high else (0.0, 0.0)


def check_rows(out: object, batch: int, *, model: str) -> None:
    """Refuse a forward pass that returned logits for fewer (or more) rows than its batch: the
    timing never reads the output, so a module that computes only the first rows of a large
    batch would be timed as that many times faster. `adapter.logits` checks its own output;
    this is for the module's forward pass. An output that is no tensor is left alone."""
    logits = _logits_of(out)
    if not isinstance(logits, torch.Tensor) or logits.dim() == 0 or logits.shape[0] == batch:
        return
    raise ModelOutputError(
        f"model {model!r} returned {logits.shape[0]} rows for a batch of {batch} "
        f"input{'s' if batch != 1 else ''} in the throughput suite's forward pass; a classifier "
        "returns one row per input, and timing fewer rows than the batch would overstate its "
        "speed"
    )


def _logits_of(out: object) -> object:
    """A forward pass's logits: the output, or its `.logits` (a Hugging Face output object)."""
    return out.logits if not isinstance(out, torch.Tensor) and hasattr(out, "logits") else out


def uses_module(adapter: ModelAdapter, samples: Samples) -> bool:
    """Whether the suite times `adapter.module()` (tensor inputs, torch module available)."""
    return bool(adapter.capabilities.gradients) and isinstance(samples, torch.Tensor)


FRESH_GAP_BYTES = 4096
"""Bytes between the fresh batches in their shared buffer (`TimedForward.use_fresh`): each one
starts at another address, aligned as a page is."""


class TimedForward:
    """One forward pass of the condition's batch per call; after `use_fresh`, of a fresh one.
    `stage` puts a batch where the condition times it (layout, device or pinned host memory)."""

    def __init__(
        self,
        call: Callable[[Samples], object],
        batch: Samples,
        stage: Callable[[Samples], Samples],
    ) -> None:
        self._call, self._stage, self._raw = call, stage, batch
        self._batch = stage(batch)
        # the condition's first output, kept to be read after the timing (no sync in a call)
        self.first_output: torch.Tensor | None = None
        self._kept: list[Samples] = []
        self._slots: list[torch.Tensor] = []
        self._range = (0.0, 0.0)

    def __call__(self) -> object:
        return self._call(self._batch)

    def keep_first(self, out: object) -> None:
        """Keep the logits of the condition's first call (`nonfinite_rows` reads them later)."""
        if self.first_output is not None:
            return
        logits = _logits_of(out)
        if isinstance(logits, torch.Tensor) and logits.dim() > 0:
            self.first_output = logits.detach()

    def nonfinite_rows(self) -> int | None:
        """Rows of the first call's logits holding a NaN or inf (None: no tensor output)."""
        out = self.first_output
        if out is None or not out.is_floating_point():
            return None
        return int((~torch.isfinite(out.reshape(len(out), -1))).any(1).sum())

    def use_fresh(self, step: int) -> None:
        """From now on, call on `fresh_batch(batch, step)`, staged as the batch was.

        Every fresh batch is kept until the check ends, each at its own address (slots of one
        shared buffer, `FRESH_GAP_BYTES` apart, made while the timed batch is alive): released,
        the next one got the same `id` and data address, and a model memoising by either
        answered it from its cache (4 of 5 fresh calls)."""
        staged, raw = self._batch, self._raw
        if not isinstance(raw, torch.Tensor) or not isinstance(staged, torch.Tensor):
            self._batch = raw  # the staged batch is released first
            self._batch = self._stage(fresh_batch(raw, step))
            self._kept.append(self._batch)
            return
        if not self._slots:  # made while the staged batch lives: another id and address
            gap = -(-FRESH_GAP_BYTES // staged.element_size())
            buffer = torch.empty(
                staged.numel() + gap * FRESH_SLOTS,
                dtype=staged.dtype,
                device=staged.device,
                pin_memory=staged.is_pinned(),
            )
            self._slots = [
                buffer.as_strided(staged.shape, staged.stride(), storage_offset=gap * k)
                for k in range(FRESH_SLOTS)
            ]
            self._range = fresh_range(raw) if raw.is_floating_point() else (0.0, 0.0)
        del staged
        self._batch = raw  # the staged batch is released
        slot = self._slots[step % FRESH_SLOTS]
        if raw.is_floating_point():  # fresh_batch's values, without a second host copy
            slot.copy_(raw)
            slot.mul_(fresh_factor(step)).clamp_(*self._range)
        else:
            slot.copy_(raw.roll(step, 0))  # fresh_batch of a tensor that is not floating
        self._batch = slot

    def use_repeated(self) -> None:
        """Back to the timed batch (staged again), for the calls between the fresh ones that
        tell a machine slow at that moment from a cache (`timing.cached_outputs`). The fresh
        batches stay where they are: a staged copy takes an address of its own."""
        self._batch = self._stage(self._raw)


FRESH_SLOTS = 8
"""Slots of the fresh buffer: at least the fresh calls the check makes (`measure.FRESH_CALLS`)."""


def _staging(cond: Condition, device: torch.device) -> Callable[[Samples], Samples]:
    def stage(batch: Samples) -> Samples:
        if isinstance(batch, torch.Tensor):
            if cond.variant == "channels_last":
                batch = batch.contiguous(memory_format=torch.channels_last)
            if cond.copy_mode == "device":
                batch = batch.to(device)
            elif device.type == "cuda":
                batch = batch.pin_memory()
        return batch

    return stage


@contextlib.contextmanager
def prepared_forward(
    adapter: ModelAdapter, batch: Samples, cond: Condition, device: torch.device
) -> Iterator[TimedForward]:
    """Yield the timed callable; restores the module's memory format afterwards."""
    stage = _staging(cond, device)
    if not uses_module(adapter, batch):

        def call_logits(x: Samples) -> object:
            out = adapter.logits(x)
            timed.keep_first(out)
            return out

        timed = TimedForward(call_logits, batch, stage)
        yield timed
        return
    net = adapter.module()
    if cond.variant == "channels_last":
        net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs lack it
    runner: Callable[[torch.Tensor], object] = (
        torch.compile(net) if cond.variant == "compile" else net
    )
    dtype = AUTOCAST_DTYPES.get(cond.precision)
    host = cond.copy_mode == "host"

    checked = False

    def call_module(x: Samples) -> object:
        nonlocal checked
        assert isinstance(x, torch.Tensor)
        autocast = (
            torch.autocast(device_type=device.type, dtype=dtype)
            if dtype is not None
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            out = runner(x.to(device, non_blocking=True) if host else x)
        if not checked:  # the first call of the condition only: nothing added to timed calls
            check_rows(out, len(x), model=adapter.name)
            module_timed.keep_first(out)
            checked = True
        return out

    module_timed = TimedForward(call_module, batch, stage)
    try:
        yield module_timed
    finally:
        if cond.variant == "channels_last":
            net.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]  # as above
