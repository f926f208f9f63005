"""OpenCV's Canny edge detector and its 5x5 chamfer L2 distance transform, batched in torch.

Spatter (water) runs `cv2.Canny(layer, 50, 150)` and `cv2.distanceTransform(..., DIST_L2, 5)`
on an 8-bit liquid layer; these follow OpenCV step by step, in exact integer arithmetic, so a
sample's edges and distances do not depend on its batch, the thread count or the device:

- `canny`: 3x3 Sobel gradients (border replicate), L1 magnitude, non-maximum suppression with
  OpenCV's fixed-point tangent test (tan 22.5 deg in Q15) and its tie rules, then hysteresis
  (weak pixels 8-connected to strong ones), computed as a fixed point of dilations.
- `chamfer_distance`: the distance to the nearest zero pixel along paths of the 5x5 chamfer mask
  (steps 1, 1.4 and 2.1969, float32 as OpenCV), inside the image, by OpenCV's two raster passes
  vectorised along rows (see the function), capped at ``cap``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

_TG22 = int(0.4142135623730950488016887242097 * (1 << 15) + 0.5)

# 5x5 chamfer steps (dy, dx, cost): OpenCV's DIST_L2 mask for maskSize 5.
_A, _B, _C = 1.0, 1.4, 2.1969
_STEPS = (
    *((dy, dx, _A) for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0))),
    *((dy, dx, _B) for dy, dx in ((1, 1), (1, -1), (-1, 1), (-1, -1))),
    *(
        (dy, dx, _C)
        for dy, dx in ((1, 2), (1, -2), (-1, 2), (-1, -2), (2, 1), (2, -1), (-2, 1), (-2, -1))
    ),
)


def _sobel(img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """3x3 Sobel dx, dy (int32: |d| <= 4 * 255, and the tangent tests below stay under 2**28)
    with replicated borders, as cv2.Sobel(..., BORDER_REPLICATE)."""
    p = F.pad(img.to(torch.int32), (1, 1, 1, 1), mode="replicate")
    h, w = img.shape[-2:]

    def at(dy: int, dx: int) -> torch.Tensor:
        return p[..., 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]

    dx = (at(-1, 1) + 2 * at(0, 1) + at(1, 1)) - (at(-1, -1) + 2 * at(0, -1) + at(1, -1))
    dy = (at(1, -1) + 2 * at(1, 0) + at(1, 1)) - (at(-1, -1) + 2 * at(-1, 0) + at(-1, 1))
    return dx, dy


def _neighbours(x: torch.Tensor, fill: float | int) -> tuple[torch.Tensor, Any]:
    """``x`` padded by 2 with ``fill``, and a function giving its view shifted by (dy, dx)."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (2, 2, 2, 2), value=fill)

    def at(dy: int, dx: int) -> torch.Tensor:
        return padded[..., 2 + dy : 2 + dy + h, 2 + dx : 2 + dx + w]

    return padded, at


def canny(img: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """Edges (bool, same shape) of integer-valued images (..., H, W), as cv2.Canny(img, low,
    high) with aperture 3 and the L1 gradient."""
    dx, dy = _sobel(img)
    m = dx.abs() + dy.abs()
    xs, ys = dx.abs(), dy.abs() << 15
    tg22x = xs * _TG22
    tg67x = tg22x + (xs << 16)
    horizontal = ys < tg22x
    vertical = ~horizontal & (ys > tg67x)
    diagonal = ~horizontal & ~vertical
    same_sign = (dx < 0) == (dy < 0)
    _, at = _neighbours(m, 0)
    diag_a = torch.where(same_sign, at(-1, -1), at(-1, 1))  # mag[-mapstep - s]
    diag_b = torch.where(same_sign, at(1, 1), at(1, -1))  # mag[+mapstep + s]
    peak = (
        (horizontal & (m > at(0, -1)) & (m >= at(0, 1)))
        | (vertical & (m > at(-1, 0)) & (m >= at(1, 0)))
        | (diagonal & (m > diag_a) & (m > diag_b))
    )
    candidate = peak & (m > low)
    edges = candidate & (m > high)
    while True:  # hysteresis: grow strong edges into 8-connected candidates until stable
        _, near = _neighbours(edges, False)
        grown = edges.clone()
        for oy in (-1, 0, 1):
            for ox in (-1, 0, 1):
                if oy or ox:
                    grown |= near(oy, ox)
        grown &= candidate
        if torch.equal(grown, edges):
            return edges
        edges = grown


def _scan_row(cand: torch.Tensor, offsets: torch.Tensor, reverse: bool) -> torch.Tensor:
    """``d[j] = min(cand[j], d[j -/+ 1] + 1)`` along the last dim, left to right (or right to
    left): ``min_k (cand[k] + |j - k|)`` as a running minimum of ``cand[k] -/+ k``."""
    if reverse:
        shifted = (cand + offsets).flip(-1)
        return torch.cummin(shifted, dim=-1).values.flip(-1) - offsets
    return torch.cummin(cand - offsets, dim=-1).values + offsets


def chamfer_distance(zero: torch.Tensor, cap: float) -> torch.Tensor:
    """Distance (float32) from each pixel to the nearest ``zero`` pixel (bool, (..., H, W)) along
    5x5-chamfer paths inside the image, as cv2.distanceTransform(..., DIST_L2, 5), capped.

    OpenCV's two raster passes, vectorised over the batch and along each row: the forward pass
    takes each row's minimum over its neighbours in the two rows above (steps 1.4, 1, 1.4; 2.1969
    for the knight moves), then the left-to-right chain of unit steps as a running minimum; the
    backward pass mirrors it. In float64 (the running minimum of ``cand - k`` is exact there),
    rounded to float32 at the end; OpenCV sums in float32, so a distance may differ from its in
    the last bit.
    """
    shape = zero.shape
    h, w = shape[-2:]
    big = 1e30
    dist = torch.where(zero, 0.0, big).to(torch.float64).reshape(-1, h, w)
    padded = F.pad(dist, (2, 2), value=big)  # (N, H, W + 4): columns outside are unreachable
    # Column-shifted views of the whole array, made once: col[k][:, i, j] is row i, column
    # j + k - 2 (a row is read only once final). One op per neighbour row instead of two.
    col = [padded[:, :, k : k + w] for k in range(5)]
    offsets = torch.arange(w, dtype=torch.float64, device=zero.device)
    for reverse, rows in ((False, range(h)), (True, range(h - 1, -1, -1))):
        step = 1 if reverse else -1  # where the rows already done lie
        for i in rows:
            cand = col[2][:, i]
            near, far = i + step, i + 2 * step
            if 0 <= near < h:
                best = torch.minimum(col[1][:, near], col[3][:, near]).add_(_B)
                best = torch.minimum(best, col[2][:, near] + _A)
                knight = torch.minimum(col[0][:, near], col[4][:, near])
                if 0 <= far < h:
                    knight = torch.minimum(knight, col[1][:, far])
                    knight = torch.minimum(knight, col[3][:, far])
                cand = torch.minimum(torch.minimum(cand, best), knight.add_(_C))
            col[2][:, i] = _scan_row(cand, offsets, reverse)
    return col[2].clamp(max=cap).to(torch.float32).reshape(shape)
