"""The CIFAR-10-C spatter (water, severities 1-3) pipeline with OpenCV, for strength comparisons.

Written from the steps of `make_cifar_c.py` (Hendrycks & Dietterich): a thresholded, blurred
noise layer; Canny edges; an L2 (5x5 mask) distance transform truncated at 20; box blurs,
histogram equalisation and an emboss filter with 8-bit saturation; the result scales a pale
turquoise layer added to the image. Needs `cv2` and scikit-image (the test skips without them).
"""

from __future__ import annotations

import numpy as np

CIFAR_WATER = (
    (0.62, 0.1, 0.7, 0.7, 0.5),
    (0.65, 0.1, 0.8, 0.7, 0.5),
    (0.65, 0.3, 1.0, 0.69, 0.5),
)


def water_spatter(image: np.ndarray, severity: int, gen: np.random.Generator) -> np.ndarray:
    """Water spatter on an (H, W, 3) image in [0, 1]; returns the corrupted image in [0, 1]."""
    import cv2
    from skimage.filters import gaussian

    loc, scale, sigma, threshold, intensity = CIFAR_WATER[severity - 1]
    layer = gaussian(gen.normal(loc, scale, size=image.shape[:2]), sigma=sigma)
    layer[layer < threshold] = 0
    layer8 = (layer * 255).astype(np.uint8)
    dist = cv2.distanceTransform(255 - cv2.Canny(layer8, 50, 150), cv2.DIST_L2, 5)
    _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
    dist = cv2.equalizeHist(cv2.blur(dist, (3, 3)).astype(np.uint8))
    emboss = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    dist = cv2.blur(cv2.filter2D(dist, cv2.CV_8U, emboss), (3, 3)).astype(np.float32)
    m = layer8 * dist
    peak = m.max()
    m = m / peak * intensity if peak > 0 else m  # the script divides by 0 on an empty layer
    colour = np.array([175, 238, 238], dtype=np.float32) / 255.0
    return np.clip(image + m[..., None] * colour, 0, 1)
