"""Weather corruptions: snow, frost, fog, brightness, and the extra spatter (water or mud)."""

from __future__ import annotations

import math
from typing import Any

import torch

from harness.suites import counter_rng
from harness.suites.shift.image_corruptions.blur import clipped_zoom, motion_blur_layer
from harness.suites.shift.image_corruptions.colour import luma, via_rgb
from harness.suites.shift.image_corruptions.edges import canny, chamfer_distance
from harness.suites.shift.image_corruptions.filters import (
    depthwise,
    fixed_mean,
    gaussian,
    pad2d,
    separable,
)
from harness.suites.shift.image_corruptions.streams import (
    S_ANGLE,
    S_FRACTAL,
    S_NOISE,
    S_PICK,
    S_TEXTURE,
    per_sample_uniform,
)

# Per-channel (R, G, B) mean and standard deviation of the reference frost photos 1-5 (the ones
# its `np.random.randint(5)` can pick), measured once; the procedural frost matches these moments.
_FROST_PLATES: tuple[tuple[tuple[float, float, float], tuple[float, float, float]], ...] = (
    ((0.305, 0.585, 0.650), (0.106, 0.065, 0.060)),
    ((0.787, 0.805, 0.841), (0.084, 0.087, 0.089)),
    ((0.787, 0.805, 0.841), (0.084, 0.087, 0.089)),
    ((0.540, 0.599, 0.648), (0.112, 0.112, 0.117)),
    ((0.441, 0.484, 0.528), (0.174, 0.170, 0.163)),
)


def _plasma_fractal(seeds: torch.Tensor, mapsize: int, decay: float, stream: int) -> torch.Tensor:
    """Diamond-square height map in [0, 1], shape (B, M, M), as the reference `plasma_fractal`."""
    b = seeds.shape[0]
    m = torch.zeros(b, mapsize, mapsize, dtype=torch.float64, device=seeds.device)
    step = mapsize
    wibble = 100.0

    # All the levels' uniforms in one pass: level L draws three (2^L, 2^L) fields, in call order.
    draws = []
    for lvl in range(int(math.log2(mapsize))):
        side = 2**lvl  # mapsize // step
        draws += [((side, side), stream + 3 * lvl + j) for j in range(3)]
    uniforms = iter(counter_rng.uniform_many(seeds, draws))

    def wibbled_mean(a: torch.Tensor) -> torch.Tensor:
        u = next(uniforms).to(torch.float64)
        return a / 4 + wibble * (wibble * (2.0 * u - 1.0))

    while step >= 2:
        half = step // 2
        corner = m[:, 0:mapsize:step, 0:mapsize:step]
        sq = corner + torch.roll(corner, shifts=-1, dims=1)
        sq = sq + torch.roll(sq, shifts=-1, dims=2)
        m[:, half:mapsize:step, half:mapsize:step] = wibbled_mean(sq)
        dr = m[:, half:mapsize:step, half:mapsize:step]
        ul = m[:, 0:mapsize:step, 0:mapsize:step]
        lt = dr + torch.roll(dr, 1, dims=1) + ul + torch.roll(ul, -1, dims=2)
        m[:, 0:mapsize:step, half:mapsize:step] = wibbled_mean(lt)
        tt = dr + torch.roll(dr, 1, dims=2) + ul + torch.roll(ul, -1, dims=1)
        m[:, half:mapsize:step, 0:mapsize:step] = wibbled_mean(tt)
        step //= 2
        wibble /= decay
    m = m - m.amin(dim=(1, 2), keepdim=True)
    return (m / m.amax(dim=(1, 2), keepdim=True)).to(torch.float32)


def _next_pow2(n: int) -> int:
    return 1 if n <= 1 else 2 ** (n - 1).bit_length()


def fog(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Add a plasma fractal, then rescale by max / (max + strength)."""
    b, c, h, w = x.shape
    fractal = _plasma_fractal(seeds, _next_pow2(max(h, w)), p["decay"], S_FRACTAL)
    max_val = x.amax(dim=(1, 2, 3), keepdim=True)
    out = x + p["strength"] * fractal[:, None, :h, :w]
    return out * max_val / (max_val + p["strength"])


# Ice needles: 6 directions, 30 degrees apart over half the circle (each sample's crystals are
# then flipped at random, up-down and left-right, so that they grow any way: as in the photos,
# the crystals of one image share a general direction); a needle starts at a seed point with a
# random strength v and fades by 1 / _NEEDLE_LENGTH per pixel (so it is v * _NEEDLE_LENGTH
# long), at texture scale 1 (the reference photos' own resolution). Each needle is a blade: the
# pixel beside it across its direction carries _BLADE_SIDE of its value (a shaded side). Side
# branches (the barbs of a feather, as ice dendrites grow) start at a share _BRANCH_SHARE of the
# needles' pixels, 60 degrees (_SIXTY_DEGREES direction steps) to either side, with
# _BRANCH_GAIN of the value there, and fade _BRANCH_FADE times as fast.
_NEEDLE_ANGLES = tuple(math.pi * (k + 0.3) / 6 for k in range(6))
_SIXTY_DEGREES = 2  # steps of 30 degrees between _NEEDLE_ANGLES
_NEEDLE_LENGTH = 32.0
_NEEDLE_DENSITY = 0.03  # seed points per pixel at texture scale 1
_BLADE_SIDE = 0.8
_BRANCH_SHARE = 0.4
_BRANCH_GAIN = 0.85
_BRANCH_FADE = 4.0
_SHADING_WEIGHT = 0.7  # the plasma shading's weight at texture scale 1 (times the scale below)
_MODULATION = 0.8  # how much a second plasma thins the crystals out in places
_BLUR = 0.4  # the crystals' blur (pixels at texture scale 1)


def _grow(grown: torch.Tensor, length: float, angle: float) -> torch.Tensor:
    """Grow seed values (B, 1, H, W; -1 where no seed) into needles along ``angle`` in place: a
    max-plus convolution with a linear fade, computed by doubling. After the step with shift k,
    the value at p is the best ``v - t / length`` over seeds ``t < 2k`` pixels behind p."""
    h, w = grown.shape[-2:]
    k = 1
    while k < length:
        dy, dx = round(k * math.sin(angle)), round(k * math.cos(angle))
        # Pixels (y, x) whose pixel behind (y - dy, x - dx) lies inside the image take
        # max(own, behind - k / length); the others would see the -1 outside, which never wins
        # (every value is >= -1), so only that overlap is updated.
        if abs(dy) < h and abs(dx) < w:
            target = grown[..., _overlap(dy, h), _overlap(dx, w)]
            behind = grown[..., _overlap(-dy, h), _overlap(-dx, w)] - k / length  # a copy
            torch.maximum(target, behind, out=target)
        k *= 2
    return grown


def _overlap(shift: int, n: int) -> slice:
    """The indices i in 0..n-1 with i - shift also in 0..n-1."""
    return slice(max(shift, 0), n + min(shift, 0))


def _needles(seeds: torch.Tensor, h: int, w: int, scale: float) -> torch.Tensor:
    """Ice crystals (B, 1, H, W) in [0, 1]: sparse seed points, each grown into a straight blade
    that fades along one of 6 directions (direction and strength from the point's uniform), with
    side branches at +-60 degrees from some of its pixels; flipped at random per sample."""
    u = counter_rng.uniform(seeds, (1, h, w), S_TEXTURE + 60)
    branch_u = counter_rng.uniform(seeds, (1, h, w), S_TEXTURE + 61)
    density = min(0.5, _NEEDLE_DENSITY / max(scale, 1e-3) ** 2)
    length = max(1.5, _NEEDLE_LENGTH * scale)
    directions = len(_NEEDLE_ANGLES)
    share = (u / density) * directions  # seeds: [0, directions); integer part: the direction
    direction = share.floor()  # 0..directions-1 at seed points, more elsewhere
    strength = share.sub_(direction).mul_(0.65).add_(0.35)  # the fractional part, rescaled
    # Negative values stand for "nothing": they never win against a needle (values >= 0), grown
    # or not, and the final maximum with zeros drops them. Masks are applied by arithmetic (a
    # penalty of at least 2 sends any value below 0), which is faster here than masked fills.
    no_branch = (branch_u >= _BRANCH_SHARE).to(u.dtype).mul_(-2.0)  # 0 or -2
    out = torch.zeros_like(u)
    branches = [torch.full_like(u, -1.0) for _ in _NEEDLE_ANGLES]
    for a, angle in enumerate(_NEEDLE_ANGLES):
        # strength where direction == a; strength - 2 or less elsewhere
        seeded = torch.sub(direction, float(a)).abs_().mul_(-2.0).add_(strength)
        grown = _grow(seeded, length, angle)
        torch.maximum(out, grown, out=out)
        # The blade's side: the pixel one step across the direction.
        dy, dx = round(math.cos(angle)), -round(math.sin(angle))
        side = out[..., _overlap(dy, h), _overlap(dx, w)]
        torch.maximum(side, grown[..., _overlap(-dy, h), _overlap(-dx, w)] * _BLADE_SIDE, out=side)
        starts = grown.add_(no_branch).mul_(_BRANCH_GAIN)  # grown is done with
        for b in ((a + _SIXTY_DEGREES) % directions, (a - _SIXTY_DEGREES) % directions):
            torch.maximum(branches[b], starts, out=branches[b])
    for a, angle in enumerate(_NEEDLE_ANGLES):
        torch.maximum(out, _grow(branches[a], max(1.5, length / _BRANCH_FADE), angle), out=out)
    # Each sample's crystals flipped up-down and left-right at random (two bits of one draw).
    flips = counter_rng.randint(seeds, 0, 4, (1,), S_TEXTURE + 62)[:, 0].view(-1, 1, 1, 1)
    out = torch.where(flips % 2 == 1, out.flip(-2), out)
    return torch.where(flips >= 2, out.flip(-1), out)


def _smooth_plasma(
    seeds: torch.Tensor, side: int, factor: int, decay: float, stream: int
) -> torch.Tensor:
    """A plasma fractal (B, 1, side, side) drawn at ``side // factor`` and upsampled bilinearly."""
    small = _plasma_fractal(seeds, max(1, side // factor), decay, stream)[:, None]
    return torch.nn.functional.interpolate(
        small, size=(side, side), mode="bilinear", align_corners=False
    )


def _crystal_chunk(h: int, w: int, seeds: torch.Tensor) -> int:
    """Samples per `_needles` call: on the CPU about 2**17 pixels (two 224 px images), so each
    of its ~150 elementwise steps works in the caches (1.3x faster than six images at once);
    elsewhere all of them. Every sample is grown alone, so this changes no value."""
    if seeds.device.type != "cpu":
        return max(1, seeds.shape[0])
    return max(1, (1 << 17) // (h * w))


def _frost_texture(seeds: torch.Tensor, h: int, w: int, scale: float) -> torch.Tensor:
    """Procedural frost (B, 3, H, W) in [0, 1]: a stand-in for the reference's photos.

    Structure: ice crystals (`_needles`), lightly blurred and thinned out in places by a smooth
    plasma fractal, over a rough plasma fractal (the photos' large-scale shading), standardised
    per sample in a fixed summation order. Colour: one of the five reference plates is drawn per
    sample and its per-channel mean and standard deviation are imposed. ``scale`` is the
    texture's zoom (1: the photos' resolution, as ImageNet-C crops them; 0.2: CIFAR-10-C's
    downscaled photos), times the image-size factor.
    """
    side = _next_pow2(max(h, w))
    # Both plasma fields are smooth next to the crystals: drawn at half and a quarter of the
    # side and upsampled bilinearly (a full-size plasma costs more than all the crystals).
    shading = _smooth_plasma(seeds, side, 2, 1.6, S_TEXTURE)[..., :h, :w]
    thinning = _smooth_plasma(seeds, side, 4, 2.0, S_TEXTURE + 100)[..., :h, :w]
    crystals = torch.cat(
        [_needles(part, h, w, scale) for part in seeds.split(_crystal_chunk(h, w, seeds))]
    )
    if _BLUR * scale >= 0.3:
        crystals = gaussian(crystals, _BLUR * scale)
    crystals = crystals * (1.0 - _MODULATION + _MODULATION * thinning)
    tex = _SHADING_WEIGHT * min(1.0, scale) * shading + crystals
    tex = tex - fixed_mean(tex, 1)
    tex = tex / fixed_mean(tex * tex, 1).sqrt().clamp(min=1e-6)
    plates = torch.tensor(_FROST_PLATES, dtype=torch.float32, device=seeds.device)  # (5, 2, 3)
    pick = counter_rng.randint(seeds, 0, len(_FROST_PLATES), (1,), S_PICK)[:, 0]
    mean = plates[pick, 0][:, :, None, None]
    std = plates[pick, 1][:, :, None, None]
    return (mean + std * tex).clamp(0.0, 1.0)


@via_rgb
def frost(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """image_weight * x + frost_weight * frost texture (procedural, see `_frost_texture`)."""
    texture = _frost_texture(seeds, x.shape[2], x.shape[3], p["texture_scale"])
    return p["image_weight"] * x + p["frost_weight"] * texture


def snow(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Zoomed, thresholded, motion-blurred noise layer plus a brightened, greyed image."""
    b, c, h, w = x.shape
    layer = p["loc"] + p["std"] * counter_rng.normal(seeds, (1, h, w), S_NOISE)
    layer = clipped_zoom(layer, p["zoom"])
    layer = torch.where(layer < p["threshold"], torch.zeros_like(layer), layer).clamp(0.0, 1.0)
    angle = per_sample_uniform(seeds, S_ANGLE) * 90.0 - 135.0
    layer = motion_blur_layer(layer, p["radius"], p["sigma"], angle)
    layer = torch.round(layer * 255.0).clamp(0, 255) / 255.0
    gray = x if c == 1 else luma(x)
    mixed = p["mix"] * x + (1 - p["mix"]) * torch.maximum(x, gray * 1.5 + 0.5)
    return mixed + layer + torch.flip(layer, dims=(2, 3))


def _box3(x: torch.Tensor) -> torch.Tensor:
    """cv2.blur with a 3x3 box (border reflect101)."""
    k = torch.full((3,), 1.0 / 3.0, dtype=torch.float64)
    return separable(x, k, k, "reflect101")


def _equalize_hist(x: torch.Tensor) -> torch.Tensor:
    """cv2.equalizeHist per sample on integer-valued (B, 1, H, W) data in 0..255."""
    b = x.shape[0]
    v = x.reshape(b, -1).to(torch.int64)
    hist = torch.zeros(b, 256, dtype=torch.float64, device=x.device)
    hist.scatter_add_(1, v, torch.ones_like(v, dtype=torch.float64))
    total = v.shape[1]
    first = (hist > 0).to(torch.int64).argmax(dim=1)
    first_count = hist.gather(1, first[:, None])
    scale = 255.0 / (total - first_count).clamp(min=1.0)
    cum = hist.cumsum(dim=1) - first_count  # sum of bins after the first non-empty one
    lut = torch.round(cum * scale).clamp(0, 255)
    bins = torch.arange(256, device=x.device)[None, :]
    lut = torch.where(bins <= first[:, None], torch.zeros_like(lut), lut)
    constant = first_count[:, 0] == total
    lut = torch.where(constant[:, None], first[:, None].to(lut.dtype), lut)
    return lut.gather(1, v).reshape(x.shape).to(torch.float32)


@via_rgb
def spatter(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """Water drops (pale turquoise, edge-shaded) or mud (brown, opaque) from a thresholded field."""
    b, c, h, w = x.shape
    liquid = p["loc"] + p["std"] * counter_rng.normal(seeds, (1, h, w), S_NOISE)
    liquid = gaussian(liquid, p["sigma"])
    liquid = torch.where(liquid < p["threshold"], torch.zeros_like(liquid), liquid)
    if not p["mud"]:
        liquid8 = torch.floor(liquid * 255.0).clamp(0, 255)  # astype(uint8)
        edges = canny(liquid8, 50, 150)
        dist = chamfer_distance(edges, 20.0)
        dist = torch.floor(_box3(dist))  # float blur, then astype(uint8)
        dist = _equalize_hist(dist)
        ker = torch.tensor([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]]).to(x)
        dist = depthwise(pad2d(dist, 1, 1, "reflect101"), ker)
        dist = torch.round(dist).clamp(0, 255)  # CV_8U output saturates
        dist = torch.round(_box3(dist))  # cv2.blur of 8-bit data rounds to 8 bits
        m = liquid8 * dist
        m = m / m.amax(dim=(2, 3), keepdim=True).clamp(min=1e-12)
        m = m * p["intensity"]
        color = torch.tensor([175 / 255.0, 238 / 255.0, 238 / 255.0]).to(x)[None, :, None, None]
        return x + m * color
    m = (liquid > p["threshold"]).to(x.dtype)
    m = gaussian(m, p["mud_sigma"])
    m = torch.where(m < 0.8, torch.zeros_like(m), m)
    color = torch.tensor([63 / 255.0, 42 / 255.0, 20 / 255.0]).to(x)[None, :, None, None]
    return x * (1 - m) + color * m


def brightness(x: torch.Tensor, p: dict[str, Any], seeds: torch.Tensor) -> torch.Tensor:
    """HSV value + c (clipped) with hue and saturation kept: RGB scales by v' / v."""
    v = x.amax(dim=1, keepdim=True)
    v_new = (v + p["c"]).clamp(max=1.0)
    ratio = torch.where(v > 0, v_new / v.clamp(min=1e-12), torch.zeros_like(v))
    return torch.where(v > 0, x * ratio, v_new.expand_as(x))
