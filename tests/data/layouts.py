"""Small datasets on disk in every layout the task loader reads (tests only)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def image_folder(
    root: Path, classes: dict[str, int], *, size: tuple[int, int] = (6, 5), seed: int = 0
) -> dict[str, np.ndarray]:
    """`root/<class>/<i>.png`, RGB; returns relative path -> HWC uint8 array."""
    gen = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for cls, count in classes.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            array = gen.integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(array).save(root / cls / f"{i}.png")
            out[f"{cls}/{i}.png"] = array
    return out


def cifar_c(
    root: Path, corruptions: tuple[str, ...], *, per_severity: int = 4, seed: int = 0
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """CIFAR-10-C layout with tiny 8x8 images: labels.npy + <corruption>.npy (5 severities)."""
    gen = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    labels = np.tile(gen.integers(0, 3, per_severity), 5).astype(np.uint8)
    np.save(root / "labels.npy", labels)
    stacks = {}
    for name in corruptions:
        stacks[name] = gen.integers(0, 256, (5 * per_severity, 8, 8, 3), dtype=np.uint8)
        np.save(root / f"{name}.npy", stacks[name])
    return labels, stacks


def imagenet_c(root: Path, corruptions: tuple[str, ...], severities: tuple[int, ...]) -> None:
    """ImageNet-C layout: <corruption>/<severity>/<class>/<image> with two classes."""
    for c_index, name in enumerate(corruptions):
        for severity in severities:
            image_folder(
                root / name / str(severity),
                {"n01": 2, "n02": 1},
                size=(7, 7),
                seed=100 * c_index + severity,
            )


def validate_error_line(tmp_path: Path, task: str, capsys: pytest.CaptureFixture[str]) -> str:
    """`harness validate` on a spec with one inline task (YAML flow text): it exits 2, and the
    one `error:` line it printed, without a traceback."""
    from harness.cli.main import main

    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(f"tasks: [{task}]\nmodels: [digits-mlp]\nsuites: {{accuracy: {{}}}}\n")
    assert main(["validate", str(spec_path)]) == 2
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert "Traceback" not in err
    return line
