"""Hugging Face image classifiers (`AutoModelForImageClassification`) as white-box adapters.

The image processor's scale, resize, centre crop, channel order and normalisation (and the own
rules of the ConvNeXt, LeViT, PoolFormer, Perceiver, MobileViT and EfficientNet processors) are
folded into the adapter as torch ops (`hf_image_preprocess`, checked against the processor when the
model is built), so suites feed raw images in [0, 1] of the task's shape and gradients flow from
the logits back to those raw pixels (attacks work in input space). Grayscale tasks are repeated to
three channels when the model expects RGB.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, Field

from harness.adapters.base import NetworkAdapter
from harness.adapters.hf_image_preprocess import (
    ImagePreprocess,
    check_against_processor,
    preprocess_from,
)
from harness.adapters.hf_source import (
    HFSourceConfig,
    HFSourceHooks,
    check_labels,
    held_origin,
    import_transformers,
    label_indices,
    label_names,
    load_pretrained,
    loaded_origin,
    resolve_source,
)
from harness.adapters.model_files import shown_path
from harness.core.adapter import InputSpec
from harness.core.errors import ModelLoadError, ModelOutputError
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


class HFImageAdapter(HFSourceHooks, NetworkAdapter):
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
        if local is not None and not any(
            (local / file).is_file()
            for file in ("preprocessor_config.json", "processor_config.json")
        ):
            raise ModelLoadError(
                f"model {name!r}: {local} has no preprocessor_config.json (the image processor: "
                "the resize, pixel scale and normalisation the model was trained with); save it "
                "next to the model with processor.save_pretrained(folder)"
            )
        processor = load_pretrained(
            lambda: tf.AutoImageProcessor.from_pretrained(source, **kw),
            source=source,
            local=local,
            name=name,
            what="an image processor",
        )
        shown = source if local is None else shown_path(local, base_dir)
        origin = loaded_origin(
            model, name=name, source=source, local=local, shown=shown, revision=config.revision
        )
        return cls._assemble(
            name,
            model,
            processor,
            origin,
            device=device,
            input_shape=config.input_shape,
            bounds=config.bounds,
            label_map=config.label_map,
            features_layer=config.features_layer,
        )

    @classmethod
    def from_objects(
        cls,
        model: Any,
        processor: Any,
        *,
        name: str,
        device: torch.device | str = "cpu",
        input_shape: list[int] | None = None,
        label_map: list[str] | None = None,
    ) -> HFImageAdapter:
        """A transformers image classifier and its image processor held in memory (Python API:
        `harness.evaluate(model, image_processor=...)`): the processor rebuilt in front of the
        model as a saved folder's is, the same checks; its identity hashes the weights, the
        config and the processor's settings in place of the folder's files."""
        if not hasattr(processor, "to_dict") or not callable(processor):
            raise ModelLoadError(
                f"model {name!r}: image_processor is a {type(processor).__name__}, not a "
                "transformers image processor (AutoImageProcessor.from_pretrained(...))"
            )
        settings = json.dumps(processor.to_dict(), sort_keys=True, default=str)
        origin = held_origin(
            model,
            name=name,
            given="an image processor",
            kind="image classifier",
            processor_sha256=hashlib.sha256(settings.encode()).hexdigest(),
        )
        return cls._assemble(
            name,
            model,
            processor,
            origin,
            device=torch.device(device),
            input_shape=input_shape,
            bounds=(0.0, 1.0),
            label_map=label_map,
            features_layer=None,
        )

    @classmethod
    def _assemble(
        cls,
        name: str,
        model: Any,
        processor: Any,
        origin: dict[str, Any],
        *,
        device: torch.device,
        input_shape: list[int] | None,
        bounds: tuple[float, float],
        label_map: list[str] | None,
        features_layer: str | None,
    ) -> HFImageAdapter:
        """The adapter of a loaded model and image processor; `origin`: where they came from
        (path, revision, file hashes, or the hashes of objects held in memory)."""
        channels = int(getattr(model.config, "num_channels", 3))
        labels = label_names(model.config)
        keep = label_indices(labels, label_map, name=name)
        try:
            pre = preprocess_from(processor, channels)
        except ModelLoadError as err:
            raise ModelLoadError(f"model {name!r}: {err}") from None
        shape = input_shape
        probe = (shape[-2], shape[-1]) if shape and len(shape) == 3 else None
        mismatch = (
            check_against_processor(processor, pre, probe, name=name, channels=channels)
            if channels in (1, 3)
            else None
        )
        network = _Classifier(model, pre, keep)
        description = {
            "adapter": cls.kind,
            "path": origin["path"],
            "revision": origin["revision"],
            "architecture": type(model).__name__,
            # its code: transformers' (or remote) modeling files, hashed
            "source_sha256": source_sha256([model]),
            "parameters": sum(p.numel() for p in model.parameters()),
            "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
            "labels": labels,
            "label_map": label_map,
            "files_sha256": origin["files_sha256"],
            "preprocess": {
                "size": network.pre.size,
                "shortest_edge": network.pre.shortest_edge,
                "crop": network.pre.crop,
                "channels": channels,
                "interpolation": pre.mode,
                "scale": pre.scale,
                "flip_channels": pre.flip_channels,
                # largest pixel difference from the processor on a probe image (of its range)
                "processor_mismatch": None if mismatch is None else round(mismatch, 4),
            },
        }
        # the later rules' settings, named only where set (older descriptions keep their identity)
        if pre.offset is not None:
            description["preprocess"]["offset"] = pre.offset
        if pre.crop_first is not None:
            description["preprocess"]["crop_before_resize"] = pre.crop_first
        for key in ("weights_sha256", "config_sha256", "processor_sha256"):  # held in memory
            if key in origin:
                description[key] = origin[key]
        if features_layer is not None:
            description["features_layer"] = features_layer
        spec = InputSpec(
            shape=tuple(input_shape) if input_shape else None,
            bounds=bounds,
            modality="image",
        )
        return cls(
            name,
            network,
            device=device,
            input_spec=spec,
            model_labels=labels,
            label_map=label_map,
            description=description,
            features_layer=features_layer,
            keep=keep,
        )

    def check_task(self, task: Task) -> None:
        """Refuse a task whose class names do not match the model's labels (or label_map)."""
        check_labels(self.model_labels, self._label_map, task, name=self.name)
        channels = self._description["preprocess"]["channels"]
        given = task.input_shape[0] if len(task.input_shape) == 3 else None
        if given is not None and given != channels and not (given == 1 and channels == 3):
            raise ModelOutputError(
                f"model {self.name!r} takes {channels} channel{'s' if channels != 1 else ''} "
                f"(config.json num_channels {channels}) but the images of task {task.name!r} "
                f"have {given}"
                + (f"; declare channels: {channels} on the task" if channels in (1, 3) else "")
            )

    def identity_ignores(self) -> tuple[str, ...]:
        hashed = bool(self._description["files_sha256"])  # else the hub id + revision name it
        return ("path",) if hashed else ()
