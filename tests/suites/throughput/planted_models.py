"""Planted models for the throughput tests (importable, so they pickle into a subprocess)."""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from harness.core.adapter import Capabilities, InputSpec


class SleepyLinear(nn.Module):
    """A Linear layer that sleeps `seconds` per call: the CPU stand-in for slow enqueued GPU work."""

    def __init__(self, seconds: float = 0.02, features: int = 10, classes: int = 2) -> None:
        super().__init__()
        self.seconds = seconds
        self.linear = nn.Linear(features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(self.seconds)
        return self.linear(x)


class _RaisesAbove(nn.Module):
    """A linear model that raises `error` for batches larger than `limit`."""

    error: type[Exception] = RuntimeError
    message = "batch {batch} > {limit}"

    def __init__(self, limit: int, features: int = 10, classes: int = 2) -> None:
        super().__init__()
        self.limit = limit
        self.linear = nn.Linear(features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.limit:
            raise self.error(self.message.format(batch=x.shape[0], limit=self.limit))
        return self.linear(x)


class OomAbove(_RaisesAbove):
    """Raises torch.OutOfMemoryError for batches larger than `limit` (a fake OOM)."""

    error = torch.OutOfMemoryError
    message = "fake out of memory: batch {batch} > {limit}"


class FailsAbove(_RaisesAbove):
    """Raises a RuntimeError for batches larger than `limit` (a model that takes one sample, or
    a few, at a time)."""

    message = "takes at most {limit} samples per call"


class FailsFromCall(nn.Module):
    """Raises a ValueError from its `first`-th call on (a remote backend that drops)."""

    def __init__(self, first: int, features: int = 10, classes: int = 2) -> None:
        super().__init__()
        self.first = first
        self.calls = 0
        self.linear = nn.Linear(features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls >= self.first:
            raise ValueError("transient backend hiccup")
        return self.linear(x)


class FirstRowsAbove(nn.Module):
    """Computes only the first `limit` rows of a larger batch and returns those `limit` rows
    (a model that truncates, or serves a fixed batch, whatever it is sent)."""

    def __init__(self, limit: int, features: int = 10, classes: int = 2) -> None:
        super().__init__()
        self.limit = limit
        self.linear = nn.Linear(features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x[: self.limit])


class ClockedModel(nn.Module):
    """Advances a fake clock by the next scheduled duration on each call, and counts calls."""

    def __init__(self, durations: list[float]) -> None:
        super().__init__()
        self.durations = list(durations)
        self.now = 0.0
        self.calls = 0
        self.linear = nn.Linear(10, 2)

    def clock(self) -> float:
        return self.now

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.now += self.durations[self.calls % len(self.durations)]
        self.calls += 1
        return self.linear(x)


class WordCountAdapter:
    """A text 'model' without a torch module: logits from word counts; counts tokens as words."""

    name = "words"
    input_spec = InputSpec(shape=None, bounds=None, modality="text")
    capabilities = Capabilities(gradients=False)
    device = torch.device("cpu")

    def logits(self, inputs: Any) -> torch.Tensor:
        lengths = torch.tensor([float(len(s.split())) for s in inputs])
        return torch.stack([lengths, -lengths], dim=1)

    def count_tokens(self, inputs: list[str]) -> int:
        return sum(len(s.split()) for s in inputs)

    def module(self) -> nn.Module:
        raise NotImplementedError("no torch module")

    def describe(self) -> dict[str, Any]:
        return {"adapter": "test"}

    def identity(self) -> str:
        return "words"


class TokenCachingAdapter(WordCountAdapter):
    """Answers a batch from a cache keyed by its tokens (whitespace-separated words), as a
    server's response or prefix cache keyed on token ids does; counts the batches it computed."""

    def __init__(self) -> None:
        self.seen: dict[tuple[tuple[str, ...], ...], torch.Tensor] = {}
        self.misses = 0

    def logits(self, inputs: Any) -> torch.Tensor:
        key = tuple(tuple(s.split()) for s in inputs)
        if key not in self.seen:
            self.misses += 1
            self.seen[key] = super().logits(inputs)
        return self.seen[key]


class CachingLinear(nn.Module):
    """Sleeps `seconds` on an input it has not seen, answers a repeated input from a cache: a
    model (or a remote endpoint with a response cache) that is fast only on repeated inputs."""

    def __init__(self, seconds: float = 0.01, features: int = 10, classes: int = 2) -> None:
        super().__init__()
        self.seconds = seconds
        self.linear = nn.Linear(features, classes)
        self.seen: dict[bytes, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = x.detach().cpu().numpy().tobytes()
        if key not in self.seen:
            time.sleep(self.seconds)
            self.seen[key] = self.linear(x)
        return self.seen[key]


class LastInputCachingLinear(nn.Module):
    """Sleeps `seconds` unless the input equals the previous call's, which it answers from a
    one-entry memo (a wrapper that skips recomputing an unchanged input)."""

    def __init__(self, seconds: float = 0.01, features: int = 10, classes: int = 2) -> None:
        super().__init__()
        self.seconds = seconds
        self.linear = nn.Linear(features, classes)
        self.last: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.last is not None and torch.equal(self.last[0], x):
            return self.last[1]
        time.sleep(self.seconds)
        self.last = (x.clone(), self.linear(x))
        return self.last[1]


class IdentityCachingLinear(nn.Module):
    """Answers an input from a cache keyed by its identity (`id(x)` or `x.data_ptr()`) without
    holding the input: a naive memo, and one a released input's successor (the same id or
    address) hits. Counts the calls it computed (`misses`) instead of sleeping."""

    def __init__(self, key: str = "id", features: int = 10, classes: int = 2) -> None:
        super().__init__()
        self.key = key
        self.linear = nn.Linear(features, classes)
        self.seen: dict[int, torch.Tensor] = {}
        self.misses = 0
        self.keys: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = id(x) if self.key == "id" else x.data_ptr()
        self.keys.append(key)
        if key not in self.seen:
            self.misses += 1
            self.seen[key] = self.linear(x.flatten(1))
        return self.seen[key]


class BoundsCheckingLinear(nn.Module):
    """Refuses inputs outside [0, 1], as a model that validates its declared bounds does."""

    def __init__(self, features: int = 10, classes: int = 2) -> None:
        super().__init__()
        self.linear = nn.Linear(features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.min() < 0 or x.max() > 1:
            raise ValueError(f"inputs must lie in [0, 1], got max {x.max().item()!r}")
        return self.linear(x)


def one_at_a_time_digits() -> nn.Module:
    """A digits model (flatten + linear) that takes one image per call (a factory)."""
    model = FailsAbove(limit=1, features=64, classes=10)
    return nn.Sequential(nn.Flatten(), model)


class FailsUnderAutocast(nn.Module):
    """Raises under CPU autocast (bf16) and runs in fp32: a kernel with no bf16 version."""

    def __init__(self, features: int = 10, classes: int = 2) -> None:
        super().__init__()
        self.linear = nn.Linear(features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_autocast_enabled("cpu"):
            raise RuntimeError("no bf16 kernel here")
        return self.linear(x)


class NaNAbove(nn.Module):
    """NaN logits for batches larger than `limit` (a half-precision overflow at large batches)."""

    def __init__(self, limit: int, features: int = 10, classes: int = 2) -> None:
        super().__init__()
        self.limit = limit
        self.linear = nn.Linear(features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x)
        return out * float("nan") if len(x) > self.limit else out
