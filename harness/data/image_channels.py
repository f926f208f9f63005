"""An image task's input channels known without decoding an image, for the plan's check of a
model's `input_shape` (harness/config/model_fit.py).

Every image of a task is converted to one mode: the declared `channels` (or RGB for
`transform: imagenet-eval`), else its first image's, grey (1 channel) for the grey PIL modes
(`GREY_MODES`) and RGB (3) for every other (image_decoders.mode_for). An image folder's first
image is the first file of its first class folder (the listing the loader makes), whose mode PIL
reads from the file's header without decoding its pixels.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from harness.core.errors import DatasetError
from harness.data.image_transform import IMAGENET_EVAL
from harness.data.task_spec import TaskSpec

GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def declared_channels(spec: TaskSpec) -> int | None:
    """The channels every image is converted to by the spec: `channels`, or 3 for
    `transform: imagenet-eval` (None: the first image's)."""
    return spec.channels or (3 if spec.transform == IMAGENET_EVAL else None)


def folder_channels(spec: TaskSpec, root: Path, labeled: bool) -> tuple[int, str] | None:
    """(channels, how they are known) of an image folder task: declared, else its first
    image's mode read from the header; None when the folder cannot be listed or the image
    opened (the load says why)."""
    declared = declared_channels(spec)
    if declared is not None:
        how = f"channels: {spec.channels}" if spec.channels else f"transform: {spec.transform}"
        return declared, how
    from harness.data.image_folders import list_labeled, list_unlabeled

    where = f"task {spec.name!r}: source {root}"
    try:
        listing = list_labeled(root, where) if labeled else list_unlabeled(root, where)
        first = root / listing.paths[0]
        with Image.open(first) as image:
            mode = image.mode
    except (OSError, DatasetError, UnidentifiedImageError, ValueError):
        return None
    channels = 1 if mode in GREY_MODES else 3
    kind = "grey" if channels == 1 else "RGB"
    return channels, f"its first image {first} is {kind} (PIL mode {mode})"
