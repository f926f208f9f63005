"""Applying a corruption to a batch: the input checks, parameter resolution, and the call (in
chunks on the CPU, in inference mode, returning an ordinary tensor)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import torch

from harness.suites.shift.image_corruptions.params import Regime, resolve_params
from harness.suites.shift.image_corruptions.registry import IMPLEMENTATIONS, check_name_severity

MIN_SIDE = 8
"""The smallest height and width `corrupt` takes (the filters' and the CIFAR table's floor)."""


def corrupt(
    images: torch.Tensor,
    name: str,
    severity: int,
    seeds: torch.Tensor,
    *,
    regime: Regime | None = None,
    scale: float | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply corruption ``name`` at ``severity`` (1..5) to a batch of images.

    Args:
        images: float32 ``(B, C, H, W)`` in [0, 1] with C in {1, 3} and H, W >= 8, on any device.
        name: one of `CORRUPTIONS`.
        severity: 1..5.
        seeds: int64 ``(B,)``, one seed per sample (derive it from run seed, sample id, corruption
            and severity); the only source of randomness.
        regime, scale: override the size rule of `resolve_params` (for experiments and tests).
        out: a float32 tensor of the images' shape, standard contiguous layout, on their device
            and not overlapping them, that the result is written into (float32 images only): a
            buffer recycled from an earlier call. On the CPU a fresh output of 32 MB or more is
            mapped and faulted in afresh by every call, which at the shift suite's 256-image
            step at 224 px cost as much as a cheap corruption itself (`ShiftSuite._perturbed`).

    Returns:
        A new tensor (on ``out``'s memory when given) with the same shape, dtype and device,
        clipped to [0, 1], in the standard contiguous layout.
    """
    check_name_severity(name, severity)
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a 4-D (B, C, H, W) tensor, got shape {shape}")
    b, c, h, w = images.shape
    if c not in (1, 3):
        raise ValueError(
            f"images must have 1 or 3 channels (B, C, H, W), got shape {tuple(images.shape)}"
        )
    if h < MIN_SIDE or w < MIN_SIDE:
        raise ValueError(
            f"images must be at least {MIN_SIDE}x{MIN_SIDE}, got shape {tuple(images.shape)}"
        )
    if not images.dtype.is_floating_point:
        raise ValueError(f"images must be floating point in [0, 1], got dtype {images.dtype}")
    seeds = torch.as_tensor(seeds)
    if seeds.dtype != torch.int64 or seeds.shape != (b,):
        raise ValueError(
            f"seeds must be an int64 tensor of shape ({b},), got {seeds.dtype} {tuple(seeds.shape)}"
        )
    seeds = seeds.to(images.device)
    if out is not None:
        _check_out(out, images)
    params = resolve_params(name, int(severity), h, w, regime=regime, scale=scale)
    x = images.to(torch.float32)
    if b == 0:
        return images.clone()
    # Inference mode: no autograd bookkeeping (nor version counters) on the hundreds of small ops
    # some corruptions run, a tenth of the sweep at 32 px. The result leaves it as an ordinary
    # tensor (`_ordinary`) that callers can change in place or feed to autograd.
    with torch.inference_mode():
        k = _chunk_samples(x, name)
        if k >= b:
            result = IMPLEMENTATIONS[name](x, params, seeds)
            if out is not None:
                torch.clamp(result, 0.0, 1.0, out=out)
            elif result.untyped_storage().data_ptr() == images.untyped_storage().data_ptr():
                out = result.clone().clamp_(0.0, 1.0)  # never clamp the caller's images in place
            else:
                out = result.clamp_(0.0, 1.0)
        else:
            if out is None:
                out = torch.empty_like(x, memory_format=torch.contiguous_format)
            for i in range(0, b, k):
                part = IMPLEMENTATIONS[name](x[i : i + k], params, seeds[i : i + k])
                # Clipped into its place in one pass, while the chunk is still in the caches
                # (the same values as a copy, then a clamp of the whole output).
                torch.clamp(part, 0.0, 1.0, out=out[i : i + k])
    out = _ordinary(out)
    return out if out.dtype == images.dtype else out.to(images.dtype)


def _check_out(out: torch.Tensor, images: torch.Tensor) -> None:
    """`corrupt`'s ``out`` must be `fits_out` for the images."""
    if not fits_out(out, images):
        raise ValueError(
            f"out must be a contiguous float32 tensor of the float32 images' shape "
            f"{tuple(images.shape)} on {images.device}, not overlapping them; got {out.dtype} "
            f"{tuple(out.shape)} with strides {out.stride()} on {out.device} "
            f"(images: {images.dtype})"
        )


def fits_out(out: torch.Tensor, images: torch.Tensor) -> bool:
    """Whether `corrupt` can write its result on ``images`` into ``out``: both float32 (B, C, H,
    W) of one shape and device, ``out`` in the standard contiguous layout and not overlapping
    the images."""
    if images.dim() != 4 or out.shape != images.shape:
        return False
    b, c, h, w = images.shape
    if (
        images.dtype != torch.float32
        or out.dtype != torch.float32
        or out.device != images.device
        or out.stride() != (c * h * w, h * w, w, 1)
    ):
        return False
    start, end = out.data_ptr(), out.data_ptr() + out.numel() * out.element_size()
    first = images.data_ptr()
    span = 1 + sum((n - 1) * st for n, st in zip(images.shape, images.stride(), strict=True))
    return not (start < first + span * images.element_size() and first < end)


CPU_CHUNK_ELEMENTS = 1 << 20
"""On the CPU a batch is corrupted in chunks of at most this many values (4 MiB of float32; at
least one image per chunk): six 224 px RGB images, 341 at 32 px. Every corruption treats each
sample alone (tested), so chunks change no value; they keep each step's temporaries in the
caches and small enough to be reused rather than mapped and faulted in afresh. Measured at
224 px, one thread: the whole sweep took 0.45x the time of one call per batch of 64, and six
corruptions 0.24x at the shift suite's 256-image step (`benchmarks/ab_corruptions.py`,
docs/corruptions.md). Accelerators get the whole batch; `LARGE_CHUNKS` use larger chunks,
`UNCHUNKED` none."""


LARGE_CHUNKS: Mapping[str, int] = MappingProxyType({"defocus_blur": 1 << 21, "spatter": 1 << 22})
"""Corruptions chunked by more values than `CPU_CHUNK_ELEMENTS`: defocus blur's large disks go
through batched FFTs, and spatter's distance transform runs a loop of small steps over the
image rows, so both want more images per call than the rest, but not a whole large batch.
Defocus blur: 2**21 values (8 MiB of float32, 13 images at 224 px, 682 at 32 px); spatter: 2**22
(27 and 1,365). Measured on 256 photo crops at 224 px, one thread (ms per image at severities
1 / 3 / 5): spatter 5.6 / 7.4 / 1.7 in one call against 2.8-3.3 / 3.0-3.3 / 1.2-1.3 in chunks
of 13-32 images; defocus blur 1.5 / 1.1 / 1.8 against 0.9 / 0.9 / 1.5. Spatter over its five
severities in chunks of 2**22 against 2**21: 0.88x the time with 16 images at 224 px (one call
instead of two of 8), 0.92x with 64, 0.91x with 256, the same with 1,024 at 32 px. At 32 px
defocus blur was fastest in chunks of 256-512 images (the whole batch of 1,024 was 1.2-2.5x
slower at severity 5)."""

UNCHUNKED = frozenset({"jpeg_compression"})
"""Corruptions given the whole CPU batch: JPEG already runs image by image (libjpeg through
Pillow) with its conversions in cache-sized groups and one output of the batch's size, so
chunks would only add a copy of every chunk into the output: 0.94-0.96x the time without them
at 224 px (16 and 48 images, one thread, interleaved)."""


def _chunk_samples(x: torch.Tensor, name: str) -> int:
    """How many samples of ``x`` to corrupt per call (all of them off the CPU and for
    `UNCHUNKED`). The chunks of a batch are made equal in size (16 images in chunks of at most
    13: two of 8, not 13 and 3), so none is a small remainder that pays a call's fixed costs for
    few images."""
    b = x.shape[0]
    if x.device.type != "cpu" or name in UNCHUNKED:
        return b
    limit = LARGE_CHUNKS.get(name, CPU_CHUNK_ELEMENTS)
    k = max(1, limit // max(1, x[0].numel()))
    if k >= b:
        return b
    chunks = -(-b // k)
    return -(-b // chunks)


def _ordinary(out: torch.Tensor) -> torch.Tensor:
    """``out`` (made in inference mode) as an ordinary tensor in the standard (B, C, H, W) layout.

    Inference tensors cannot be changed in place outside inference mode nor saved by autograd,
    so callers get an ordinary tensor on the same storage (no copy, and no second output of the
    batch's size to allocate and fault in). The standard
    layout is enforced because a model's convolution may run another kernel, with other
    roundings, on channels-last strides: motion blur of one-channel images once returned such
    strides (which `is_contiguous()` accepts when C = 1) and moved logits by ~1e-6; such a
    result is copied instead, as is one that holds on to a larger storage.
    """
    b, c, h, w = out.shape
    standard = out.stride() == (c * h * w, h * w, w, 1) and out.storage_offset() == 0
    if not standard or out.untyped_storage().nbytes() != out.numel() * out.element_size():
        return out.clone(memory_format=torch.contiguous_format)  # outside inference mode
    plain = torch.empty(0, dtype=out.dtype, device=out.device)
    try:
        return plain.set_(out.untyped_storage(), 0, out.shape, out.stride())
    except RuntimeError:  # a torch that refuses to share an inference tensor's storage
        return out.clone()
