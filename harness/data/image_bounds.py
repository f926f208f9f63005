"""The bounds of images that decode to [0, 1] by their own full scale (torch-free: `harness
validate` checks them from a folder's layout or a `.npy` header, the loader from the decoder).

Encoded files (8-bit values / 255, 16-bit / 65535) and uint8 / uint16 arrays always decode to
[0, 1]; a task that declares other `bounds` for them would state a false range for every input,
and the suites act on it: the corruptions map the bounds to [0, 1] and back (`bounds: [0, 255]`
turned brightness and noise into chance accuracy), attacks clip to them, generated OOD noise
fills them.
"""

from __future__ import annotations

import numpy as np

from harness.core.errors import DatasetError

UNIT_BOUNDS = (0.0, 1.0)
# stored integer images are divided by their full scale (other numbers are read as they are)
FULL_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def check_unit_bounds(task: str, bounds: tuple[float, float] | None, stored: str) -> None:
    """Refuse declared `bounds` other than [0, 1] for images that decode to [0, 1]; `stored`
    says what they are (encoded image files, uint8 arrays...)."""
    if bounds is None or tuple(bounds) == UNIT_BOUNDS:
        return
    raise DatasetError(
        f"task {task!r}: bounds {list(bounds)} do not fit its images: {stored} decode to [0, 1] "
        "(8-bit values / 255, 16-bit / 65535); drop bounds (a model that takes another range "
        "declares normalize: on the model)"
    )
