"""Hugging Face image classifiers (`AutoModelForImageClassification`) as white-box adapters.

The image processor's resize, centre crop and normalisation are folded into the adapter as torch
ops, so suites feed raw images in [0, 1] of the task's shape and gradients flow from the logits
back to those raw pixels (attacks work in input space). Grayscale tasks are repeated to three
channels when the model expects RGB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from pydantic import BaseModel, Field

from harness.adapters.base import NetworkAdapter
from harness.adapters.hf_source import (
    HFSourceConfig,
    check_labels,
    import_transformers,
    label_indices,
    label_names,
    load_pretrained,
    remote_code_uses,
    resolve_source,
    source_files,
)
from harness.core.adapter import InputSpec
from harness.core.model_code import source_sha256
from harness.core.task import Task


class HFImageConfig(HFSourceConfig):
    """Model spec fields for `adapter: hf-image`."""

    input_shape: list[int] | None = Field(default=None, description="raw image shape C,H,W")
    bounds: tuple[float, float] = (0.0, 1.0)
    features_layer: str | None = Field(
        default=None,
        description="module whose input is the penultimate features (default: the classifier "
        "head's last nn.Linear, which reads the pooled hidden state)",
    )


class ImagePreprocess(torch.nn.Module):
    """Differentiable stand-in for the image processor: resize, centre crop, normalise."""

    def __init__(
        self,
        *,
        size: tuple[int, int] | None,
        shortest_edge: int | None,
        crop: tuple[int, int] | None,
        mean: list[float] | None,
        std: list[float] | None,
        channels: int,
    ) -> None:
        super().__init__()
        self.size = size
        self.shortest_edge = shortest_edge
        self.crop = crop
        self.channels = channels
        if mean is not None and std is not None:
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        else:
            self.mean = None
            self.std = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1 and self.channels == 3:
            x = x.expand(-1, 3, -1, -1)
        h, w = x.shape[-2:]
        target = self.size
        if target is None and self.shortest_edge is not None:
            scale = self.shortest_edge / min(h, w)
            target = (max(1, round(h * scale)), max(1, round(w * scale)))
        if target is not None and tuple(target) != (h, w):
            x = F.interpolate(x, size=target, mode="bilinear", align_corners=False, antialias=True)
        if self.crop is not None:
            ch, cw = self.crop
            top = max(0, (x.shape[-2] - ch) // 2)
            left = max(0, (x.shape[-1] - cw) // 2)
            x = x[..., top : top + ch, left : left + cw]
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return x


class _Classifier(torch.nn.Module):
    def __init__(
        self, model: torch.nn.Module, pre: ImagePreprocess, keep: list[int] | None
    ) -> None:
        super().__init__()
        self.pre = pre
        self.model = model
        self.keep = keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values=self.pre(x)).logits
        return out[:, self.keep] if self.keep is not None else out


def _hw(value: Any) -> tuple[tuple[int, int] | None, int | None]:
    """(height, width) or shortest edge from a processor `size`/`crop_size` entry."""
    if value is None:
        return None, None
    if isinstance(value, int):
        return (value, value), None
    if not isinstance(value, dict):
        value = {k: getattr(value, k, None) for k in ("height", "width", "shortest_edge")}
    if value.get("height") and value.get("width"):
        return (int(value["height"]), int(value["width"])), None
    if value.get("shortest_edge"):
        return None, int(value["shortest_edge"])
    return None, None


def preprocess_from(processor: Any, channels: int) -> ImagePreprocess:
    """Translate an image processor's settings (inputs already rescaled to [0, 1])."""
    size, edge = (
        _hw(getattr(processor, "size", None))
        if getattr(processor, "do_resize", True)
        else (None, None)
    )
    crop = None
    if getattr(processor, "do_center_crop", False):
        crop, _ = _hw(getattr(processor, "crop_size", None))
    normalize = getattr(processor, "do_normalize", True)
    mean = getattr(processor, "image_mean", None) if normalize else None
    std = getattr(processor, "image_std", None) if normalize else None
    if mean is not None and std is not None and not isinstance(mean, list | tuple):
        mean, std = [float(mean)] * channels, [float(std)] * channels
    return ImagePreprocess(
        size=size,
        shortest_edge=edge,
        crop=crop,
        mean=list(mean) if mean is not None else None,
        std=list(std) if std is not None else None,
        channels=channels,
    )


class HFImageAdapter(NetworkAdapter):
    """A transformers image classifier with its preprocessing inside: white-box, batched."""

    kind: ClassVar[str] = "hf-image"
    config_model: ClassVar[type[BaseModel]] = HFImageConfig

    def __init__(
        self,
        name: str,
        network: torch.nn.Module,
        *,
        device: torch.device,
        input_spec: InputSpec,
        model_labels: list[str],
        label_map: list[str] | None,
        description: dict[str, Any],
        features_layer: str | None = None,
        keep: list[int] | None = None,
    ) -> None:
        assert isinstance(network, _Classifier)
        super().__init__(
            name,
            network,
            device=device,
            input_spec=input_spec,
            description=description,
            features_layer=features_layer,
            features_root=network.model,
            keep=keep,
        )
        self.model_labels = model_labels
        self._label_map = label_map

    @classmethod
    def code_uses(cls, config: BaseModel) -> list[str]:
        return remote_code_uses(config)

    @classmethod
    def build(
        cls, *, name: str, config: BaseModel, device: torch.device, base_dir: Path
    ) -> HFImageAdapter:
        assert isinstance(config, HFImageConfig)
        tf = import_transformers("the hf-image adapter")
        source, local = resolve_source(config, name=name, base_dir=base_dir)
        kw = {"revision": config.revision, "trust_remote_code": config.trust_remote_code}
        model = load_pretrained(
            lambda: tf.AutoModelForImageClassification.from_pretrained(source, **kw),
            source=source,
            local=local,
            name=name,
            what="an image classifier",
        )
        processor = load_pretrained(
            lambda: tf.AutoImageProcessor.from_pretrained(source, **kw),
            source=source,
            local=local,
            name=name,
            what="an image processor",
        )
        channels = int(getattr(model.config, "num_channels", 3))
        labels = label_names(model.config)
        keep = label_indices(labels, config.label_map, name=name)
        network = _Classifier(model, preprocess_from(processor, channels), keep)
        files = source_files(local, model)
        description = {
            "adapter": cls.kind,
            "path": source,
            "revision": config.revision,
            "architecture": type(model).__name__,
            # its code: transformers' (or remote) modeling files, hashed
            "source_sha256": source_sha256([model]),
            "parameters": sum(p.numel() for p in model.parameters()),
            "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
            "labels": labels,
            "label_map": config.label_map,
            "files_sha256": files,
            "preprocess": {
                "size": network.pre.size,
                "shortest_edge": network.pre.shortest_edge,
                "crop": network.pre.crop,
                "channels": channels,
            },
        }
        if config.features_layer is not None:
            description["features_layer"] = config.features_layer
        spec = InputSpec(
            shape=tuple(config.input_shape) if config.input_shape else None,
            bounds=config.bounds,
            modality="image",
        )
        return cls(
            name,
            network,
            device=device,
            input_spec=spec,
            model_labels=labels,
            label_map=config.label_map,
            description=description,
            features_layer=config.features_layer,
            keep=keep,
        )

    def check_task(self, task: Task) -> None:
        """Refuse a task whose class names do not match the model's labels (or label_map)."""
        check_labels(self.model_labels, self._label_map, task, name=self.name)

    def identity_ignores(self) -> tuple[str, ...]:
        hashed = bool(self._description["files_sha256"])  # else the hub id + revision name it
        return ("path",) if hashed else ()
