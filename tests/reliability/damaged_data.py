"""Task data that is not what it claims, built on demand for the bad-input catalogue.

Image folders with a damaged image, and CIFAR-10-C style folders (`labels.npy` + one
`<corruption>.npy` per corruption, 5 severities stacked) with a damaged or inconsistent file.
`DATA_FILES[name](folder, name)` writes the folder `folder/name`; every generator is seeded and
small (8x8 grey images, 10 labels per severity).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

PER_SEVERITY = 10  # labels per severity: 50 rows in every file


def _png(seed: int) -> bytes:
    pixels = (np.random.default_rng(seed).random((8, 8)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _image_folder(root: Path, per_class: int = 6) -> None:
    for label in range(2):
        (root / str(label)).mkdir(parents=True)
        for i in range(per_class):
            (root / str(label) / f"{i}.png").write_bytes(_png(label * 100 + i))


def images_one_not_an_image(folder: Path, name: str) -> None:
    """`1/3.png` holds a PNG signature and then garbage."""
    _image_folder(folder / name)
    (folder / name / "1" / "3.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")


def images_first_not_an_image(folder: Path, name: str) -> None:
    """The first image in sample order (the one whose mode and shape set the task's) is garbage."""
    _image_folder(folder / name)
    (folder / name / "0" / "0.png").write_bytes(b"GIF89a not really")


def images_truncated_png(folder: Path, name: str) -> None:
    """`1/2.png` cut in its pixel data: PIL identifies it, then fails to decode it."""
    _image_folder(folder / name)
    path = folder / name / "1" / "2.png"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])


def images_good(folder: Path, name: str) -> None:
    """A sound `<class>/<image>` folder (for specs that misdescribe it)."""
    _image_folder(folder / name)


def images_empty_file(folder: Path, name: str) -> None:
    _image_folder(folder / name)
    (folder / name / "0" / "4.png").write_bytes(b"")


def imagenet_c_damaged_image(folder: Path, name: str) -> None:
    """An ImageNet-C layout (`<corruption>/<severity>/<class>/<image>`), one image garbage."""
    for corruption in ("fog", "snow"):
        for severity in (1, 2):
            _image_folder(folder / name / corruption / str(severity), per_class=2)
    (folder / name / "snow" / "2" / "1" / "1.png").write_bytes(b"junk")


def _cifar_c(root: Path) -> None:
    root.mkdir()
    rng = np.random.default_rng(0)
    np.save(root / "labels.npy", np.tile(np.arange(PER_SEVERITY), 5).astype(np.int64))
    for corruption in ("fog", "gaussian_noise"):
        stack = (rng.random((5 * PER_SEVERITY, 8, 8, 1)) * 255).astype(np.uint8)
        np.save(root / f"{corruption}.npy", stack)


def cifar_c_truncated(folder: Path, name: str) -> None:
    _cifar_c(folder / name)
    with (folder / name / "fog.npy").open("r+b") as f:
        f.truncate(300)


def cifar_c_empty_npy(folder: Path, name: str) -> None:
    _cifar_c(folder / name)
    (folder / name / "fog.npy").write_bytes(b"")


def cifar_c_not_npy(folder: Path, name: str) -> None:
    _cifar_c(folder / name)
    (folder / name / "fog.npy").write_bytes(b"<html>rate limited</html>\n" * 20)


def cifar_c_pickled(folder: Path, name: str) -> None:
    """An object array: loading it would unpickle (run code)."""
    _cifar_c(folder / name)
    objects = np.array([{"x": i} for i in range(5 * PER_SEVERITY)], dtype=object)
    np.save(folder / name / "fog.npy", objects, allow_pickle=True)


def cifar_c_missing_rows(folder: Path, name: str) -> None:
    """fog.npy holds 40 images for 50 labels (a severity missing)."""
    _cifar_c(folder / name)
    short = np.zeros((4 * PER_SEVERITY, 8, 8, 1), dtype=np.uint8)
    np.save(folder / name / "fog.npy", short)


def cifar_c_claims_huge(folder: Path, name: str) -> None:
    """A 1 KB file whose header claims 10^12 images: refused from its size, nothing allocated."""
    _cifar_c(folder / name)
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (1000000000000, 32, 32, 3), }"
    header += " " * (127 - 10 - len(header)) + "\n"
    raw = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")
    (folder / name / "fog.npy").write_bytes(raw + b"\0" * 1024)


def cifar_c_mixed_shapes(folder: Path, name: str) -> None:
    _cifar_c(folder / name)
    np.save(folder / name / "fog.npy", np.zeros((5 * PER_SEVERITY, 16, 16, 1), dtype=np.uint8))


def cifar_c_float_labels(folder: Path, name: str) -> None:
    _cifar_c(folder / name)
    np.save(folder / name / "labels.npy", np.zeros(5 * PER_SEVERITY))


def cifar_c_truncated_labels(folder: Path, name: str) -> None:
    _cifar_c(folder / name)
    with (folder / name / "labels.npy").open("r+b") as f:
        f.truncate(200)


def cifar_c_no_labels(folder: Path, name: str) -> None:
    _cifar_c(folder / name)
    (folder / name / "labels.npy").unlink()


def cifar_c_only_labels(folder: Path, name: str) -> None:
    _cifar_c(folder / name)
    for corruption in ("fog", "gaussian_noise"):
        (folder / name / f"{corruption}.npy").unlink()


def cifar_c_strings(folder: Path, name: str) -> None:
    _cifar_c(folder / name)
    np.save(folder / name / "fog.npy", np.full((5 * PER_SEVERITY, 8, 8), "x"))


def cifar_c_good(folder: Path, name: str) -> None:
    _cifar_c(folder / name)


DATA_FILES: dict[str, Callable[[Path, str], None]] = {
    f.__name__.replace("_", "-"): f
    for f in (
        images_one_not_an_image,
        images_first_not_an_image,
        images_truncated_png,
        images_empty_file,
        images_good,
        imagenet_c_damaged_image,
        cifar_c_truncated,
        cifar_c_empty_npy,
        cifar_c_not_npy,
        cifar_c_pickled,
        cifar_c_missing_rows,
        cifar_c_claims_huge,
        cifar_c_mixed_shapes,
        cifar_c_float_labels,
        cifar_c_truncated_labels,
        cifar_c_no_labels,
        cifar_c_only_labels,
        cifar_c_strings,
        cifar_c_good,
    )
}
