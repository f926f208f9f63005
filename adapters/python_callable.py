"""Any Python callable as a black-box model: `"package.module:function"` returning scores.

The callable gets a batch (a float32 numpy array, a torch tensor, or a list of strings for text)
and returns an array of shape (batch, classes) holding `probabilities` or `logits`, as the spec
says. A factory form (`factory: true`) calls the target once with `args` to get the predictor.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import torch
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from harness.adapters.base import AdapterBase
from harness.adapters.score_outputs import to_logits
from harness.core.adapter import Capabilities, InputSpec
from harness.core.errors import ModelLoadError
from harness.core.hashing import file_sha256
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
    def planned_gradients(cls, config: BaseModel) -> bool | None:
        return False  # any callable: no autograd

    @classmethod
    def build(
        cls, *, name: str, config: BaseModel, device: torch.device, base_dir: Path
    ) -> CallableAdapter:
        assert isinstance(config, CallableConfig)
        target = load_target(config.callable)
        fn = target
        # before the factory runs (it may change the working folder or the files)
        arg_files = _named_files(config.args, base_dir) if config.factory else {}
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
        if arg_files:  # the files the factory's args name (its weights): new contents miss
            description["args_files_sha256"] = arg_files
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


def _named_files(args: Any, base_dir: Path) -> dict[str, str]:
    """sha256 of every file a factory arg names (a string, at any depth of lists and mappings,
    that is the path of a regular file as the callable would open it: from the working folder,
    else from the spec's folder), keyed by the arg's text. A factory that loads its weights
    from a file then misses the cache when the file changes, not only when its name does.
    Folders are not hashed (an arg such as "." would hash the whole project)."""
    out: dict[str, str] = {}
    for text in _strings(args):
        if text in out or not text.strip() or "\0" in text:
            continue
        for path in (Path(text).expanduser(), base_dir / Path(text).expanduser()):
            try:
                if path.is_file():
                    out[text] = file_sha256(path)
                    break
            except (OSError, ValueError):  # a name too long for a path, no permission, ...
                continue
    return dict(sorted(out.items()))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
