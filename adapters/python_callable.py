"""Any Python callable as a black-box model: `"package.module:function"` returning scores.

The callable gets a batch (a float32 numpy array, a torch tensor, or a list of strings for text)
and returns an array of shape (batch, classes) holding `probabilities` or `logits`, as the spec
says. A factory form (`factory: true`) calls the target once with `args` to get the predictor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import torch
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from harness.adapters.base import AdapterBase
from harness.adapters.score_outputs import to_logits
from harness.core.adapter import Capabilities, InputSpec
from harness.core.errors import ModelLoadError
from harness.core.model_code import source_sha256
from harness.core.registry import check_reference, load_target


class CallableConfig(BaseModel):
    """Model spec fields for `adapter: callable`."""

    model_config = ConfigDict(extra="forbid")
    callable: Annotated[str, AfterValidator(check_reference)] = Field(
        description="'package.module:function' taking a batch"
    )
    factory: bool = Field(default=False, description="call the target with `args` to get it")
    args: dict[str, Any] = Field(default_factory=dict)
    outputs: Literal["probabilities", "logits"] = "logits"
    input_format: Literal["numpy", "torch"] = "numpy"
    input_shape: list[int] | None = None
    bounds: tuple[float, float] | None = None  # the inputs it takes; None: the task's
    modality: Literal["image", "tabular", "text"] = "tabular"


class CallableAdapter(AdapterBase):
    """A function from a batch to probabilities or logits: black-box, batched, CPU."""

    kind: ClassVar[str] = "callable"
    config_model: ClassVar[type[BaseModel]] = CallableConfig
    location_keys: ClassVar[tuple[str, ...]] = ()  # the import path names the code

    def __init__(
        self,
        name: str,
        fn: Any,
        *,
        config: CallableConfig,
        device: torch.device,
        description: dict[str, Any],
    ) -> None:
        text = config.modality == "text"
        super().__init__(
            name,
            device=device,
            input_spec=InputSpec(
                shape=tuple(config.input_shape) if config.input_shape else None,
                dtype="str" if text else "float32",
                bounds=None if text else config.bounds,
                modality=config.modality,
            ),
            capabilities=Capabilities(gradients=False, batching=True, devices=("cpu",)),
            description=description,
        )
        self._fn = fn
        self._config = config

    @classmethod
    def code_uses(cls, config: BaseModel) -> list[str]:
        """The callable is imported and called (harness validate lists it)."""
        assert isinstance(config, CallableConfig)
        return [f"callable {config.callable} is imported and called"]

    @classmethod
    def build(
        cls, *, name: str, config: BaseModel, device: torch.device, base_dir: Path
    ) -> CallableAdapter:
        assert isinstance(config, CallableConfig)
        target = load_target(config.callable)
        fn = target
        if config.factory:
            try:
                fn = target(**config.args)
            except TypeError as err:
                raise ModelLoadError(
                    f"model {name!r}: {config.callable!r} rejected args {config.args}: {err}"
                ) from err
        elif config.args:
            raise ModelLoadError(f"model {name!r}: args are only used with factory: true")
        if not callable(fn):
            raise ModelLoadError(
                f"model {name!r}: {config.callable!r} gave {type(fn).__name__}, not a callable"
            )
        description = {
            "adapter": cls.kind,
            "callable": config.callable,
            "factory": config.factory,
            "args": config.args,
            "outputs": config.outputs,
            "input_format": config.input_format,  # numpy or torch: the callable may differ
            # the files defining the callable (and what its factory returned): an edit misses
            "source_sha256": source_sha256([target, fn] if config.factory else [target]),
        }
        return cls(name, fn, config=config, device=device, description=description)

    def logits(self, inputs: torch.Tensor | list[str]) -> torch.Tensor:
        if isinstance(inputs, torch.Tensor):
            n = len(inputs)
            batch: Any = inputs.detach().cpu()
            if self._config.input_format == "numpy":
                batch = batch.numpy()
        else:
            n, batch = len(inputs), list(inputs)
        raw = self._fn(batch)
        return self.on_device(to_logits(raw, outputs=self._config.outputs, n=n, model=self.name))
