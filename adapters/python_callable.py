"""Any Python callable as a black-box model: `"package.module:function"` returning scores.

The callable gets a batch (a float32 numpy array, a torch tensor, or a list of strings for text)
and returns an array of shape (batch, classes) holding `probabilities` or `logits`, as the spec
says. A factory form (`factory: true`) calls the target once with `args` to get the predictor.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import inspect
import pickle
import sys
import sysconfig
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from harness.adapters.base import AdapterBase
from harness.adapters.score_outputs import to_logits
from harness.adapters.torch_module import module_sha256, tensor_bytes
from harness.core.adapter import Capabilities, InputSpec
from harness.core.errors import ModelCallError, ModelLoadError, ModelOutputError
from harness.core.hashing import file_sha256
from harness.core.model_calls import calling_model
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
    outputs: Literal["probabilities", "logits", "binary_logit"] = "logits"
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
        # a callable whose outputs nobody declared (a bare function held in memory: "memory";
        # a spec entry without `outputs`: "spec"): taken as logits, and a batch that looks
        # like probabilities is refused, in the words of where it came from
        self._undeclared: Literal["memory", "spec"] | None = None

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
                with calling_model(name, f"the call of its factory {config.callable!r}"):
                    fn = target(**config.args)
            except ModelCallError as err:
                if isinstance(err.__cause__, TypeError):  # most likely the args do not fit
                    raise ModelLoadError(
                        f"model {name!r}: {config.callable!r} rejected args {config.args}: "
                        f"{err.__cause__}"
                    ) from err.__cause__
                raise
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
        adapter = cls(name, fn, config=config, device=device, description=description)
        # a spec that leaves `outputs` out reads the scores as logits: probability rows are
        # refused, as for a bare function (softmax of them would skew ECE, NLL and Brier)
        adapter._undeclared = None if "outputs" in config.model_fields_set else "spec"
        return adapter

    def logits(self, inputs: torch.Tensor | list[str]) -> torch.Tensor:
        if isinstance(inputs, torch.Tensor):
            n = len(inputs)
            batch: Any = inputs.detach().cpu()
            if self._config.input_format == "numpy":
                batch = batch.numpy()
        else:
            n, batch = len(inputs), list(inputs)
        raw = self._fn(batch)
        if self._undeclared:
            _refuse_probabilities(raw, self.name, in_memory=self._undeclared == "memory")
        return self.on_device(to_logits(raw, outputs=self._config.outputs, n=n, model=self.name))


def _refuse_probabilities(raw: Any, model: str, *, in_memory: bool = True) -> None:
    """A callable whose outputs nobody declared is read as logits: refuse rows that are
    probability vectors (softmax of them keeps the argmax but not the calibration, so ECE, NLL
    and Brier would be wrong without a sign). A spec's entry (`in_memory` False), read as logits
    by default all along, is refused only when a score lies strictly between 0 and 1: a rule
    scoring 0 or 1 per class gives one-hot rows that are logits as often as not."""
    try:
        array = np.asarray(raw.detach().cpu() if isinstance(raw, torch.Tensor) else raw, float)
    except Exception:  # a meta or nested tensor too: to_logits names what is wrong with it
        return
    if array.ndim != 2 or array.size == 0 or not np.isfinite(array).all():
        return
    if array.min() >= 0 and array.max() <= 1 and np.allclose(array.sum(axis=1), 1, atol=1e-4):
        if not in_memory:  # a spec's entry
            if not ((array > 0) & (array < 1)).any():
                return
            raise ModelOutputError(
                f"model {model!r}: the callable returned rows that are probability vectors, and "
                "a callable entry without outputs is read as returning logits; say which: set "
                "outputs: probabilities on the model (or outputs: logits)"
            )
        raise ModelOutputError(
            f"model {model!r}: the function returned rows that are probability vectors, and a "
            "function passed as it is is read as returning logits; say which: "
            "harness.evaluate(harness.callable_model(fn, outputs='probabilities'), ...) (or "
            "outputs='logits')"
        )


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


@dataclass(frozen=True)
class CallableModel:
    """A Python callable held in memory, for `harness.evaluate` (`harness.callable_model`):
    what the `callable` adapter needs to know that a bare function cannot say. `outputs` None:
    a bare function, taken to return logits; a batch whose rows look like probability vectors
    (every score in [0, 1], each row summing to 1) is then refused, since read as logits it
    would give the right accuracy but wrong ECE, NLL and Brier score."""

    fn: Callable[..., Any]
    outputs: Literal["probabilities", "logits", "binary_logit"] | None = None
    input_format: Literal["numpy", "torch"] = "numpy"
    name: str | None = None

    def adapter(
        self,
        *,
        modality: Literal["image", "tabular", "text"],
        bounds: tuple[float, float] | None,
        input_shape: tuple[int, ...] | None,
        device: torch.device,
    ) -> CallableAdapter:
        """The `callable` adapter of `fn` on a task of `modality`: the same input spec, output
        checks and black-box capabilities as a spec's `adapter: callable`; identified by the
        function's code and by what it refers to (`callable_fingerprint`)."""
        reference = _reference(self.fn)
        name = self.name or _short_name(self.fn)
        config = CallableConfig.model_construct(
            callable=reference,
            factory=False,
            args={},
            outputs=self.outputs or "logits",
            input_format=self.input_format,
            input_shape=list(input_shape) if input_shape else None,
            bounds=bounds,
            modality=modality,
        )
        description = {
            "adapter": CallableAdapter.kind,
            "callable": reference,
            "in_memory": True,
            "outputs": self.outputs or "logits (undeclared)",
            "input_format": self.input_format,
            "callable_sha256": callable_fingerprint(self.fn, name),
        }
        adapter = CallableAdapter(
            name, self.fn, config=config, device=device, description=description
        )
        adapter._undeclared = "memory" if self.outputs is None else None
        return adapter


def _library_code(fn: types.FunctionType) -> bool:
    """A function of an installed package or the standard library (numpy, scikit-learn, torch,
    the harness): named, not followed into its globals. User code (a script, a notebook, the
    project's own modules) is followed."""
    top = (fn.__module__ or "").split(".")[0]
    if top in ("torch", "harness", "numpy", "builtins"):
        return True
    module = sys.modules.get(fn.__module__ or "")
    file = getattr(module, "__file__", None)
    if file is None:
        return False  # __main__ of an interactive session, a notebook
    path = Path(file).resolve()
    if "site-packages" in path.parts or "dist-packages" in path.parts:
        return True
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    return path.is_relative_to(stdlib)


def _short_name(fn: Any) -> str:
    """A function's own name (`predict`, `<lambda>`); a callable object's class name."""
    if isinstance(fn, functools.partial):
        return _short_name(fn.func)
    if inspect.isfunction(fn) or inspect.ismethod(fn):
        return str(fn.__name__)
    return type(fn).__name__


def _reference(fn: Any) -> str:
    """`module:qualname` of a function, or of a callable object's class."""
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else type(fn)
    module = getattr(target, "__module__", None) or "?"
    return f"{module}:{getattr(target, '__qualname__', type(fn).__name__)}"


def callable_fingerprint(fn: Any, name: str, *, containers: bool = True) -> str:
    """sha256 of what decides a callable's outputs: its code (bytecode and constants, nested
    functions too), defaults, closure cells and the globals its code names, the callable
    object's state. Arrays, tensors and modules are hashed by their values; other objects by
    their pickle. A refit model or new weights in a global or closure is another model, never
    saved over the first one's results (as an estimator's fitted state is its identity). What
    cannot be pickled is refused in one line: its results could not be told apart.
    `containers=False` counts a dict, list, set or deque by its type alone, and an object by
    its attributes rather than its pickle: a forward hook fills one with what it records on
    every forward pass, which is not what it computes."""
    h = hashlib.sha256()
    seen: set[int] = set()

    def feed(obj: Any, where: str) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
            h.update(repr(obj).encode())
        elif isinstance(obj, types.ModuleType):
            h.update(f"module {obj.__name__}".encode())
        elif not containers and isinstance(obj, (dict, list, set, collections.deque)):
            h.update(f"{type(obj).__qualname__} (its contents are not counted)".encode())
        elif isinstance(obj, functools.partial):
            feed(obj.func, where)
            feed(obj.args, where)
            arguments(obj.keywords, where)
        elif inspect.ismethod(obj):
            feed(obj.__func__, where)
            feed(obj.__self__, where)
        elif inspect.isfunction(obj) and _library_code(obj):
            h.update(f"{obj.__module__}.{obj.__qualname__}".encode())  # its version decides
        elif inspect.isfunction(obj):
            hash_function(obj)
        elif inspect.isclass(obj) or inspect.isbuiltin(obj) or inspect.isroutine(obj):
            h.update(f"{getattr(obj, '__module__', '')}.{obj.__qualname__}".encode())
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                feed(item, where)
        elif isinstance(obj, dict):
            for key, item in obj.items():
                feed(key, where)
                feed(item, where)
        elif isinstance(obj, np.ndarray):
            h.update(f"{obj.dtype}{obj.shape}".encode() + np.ascontiguousarray(obj).tobytes())
        elif isinstance(obj, torch.Tensor):
            h.update(f"{tuple(obj.shape)}".encode() + tensor_bytes(obj))
        elif isinstance(obj, torch.nn.Module):  # as `from_module` identifies one
            h.update(module_sha256(obj).encode())
        elif not containers and isinstance(getattr(obj, "__dict__", None), dict):
            # a hook object by its class and attributes, whose containers count by type alone
            h.update(f"{type(obj).__module__}.{type(obj).__qualname__}".encode())
            for key, item in sorted(vars(obj).items()):
                feed(key, where)
                feed(item, f"{where}.{key}")
        else:
            try:
                h.update(pickle.dumps(obj, protocol=4))
            except Exception as err:  # noqa: BLE001 - any pickling failure: refused in one line
                raise ModelLoadError(
                    f"model {name!r}: {where} is a {type(obj).__name__} that cannot be pickled "
                    f"({type(err).__name__}), so results of this callable could not be told "
                    "apart from another version's; make it importable and pass a spec mapping "
                    "{'adapter': 'callable', 'callable': 'module:function', 'outputs': ...}, "
                    "or write an adapter (docs/adapters.md)"
                ) from None

    def arguments(given: dict[str, Any] | None, where: str) -> None:
        # keyword arguments (a partial's, keyword-only defaults) by their values even where
        # containers count by type: they are settings of what it computes, not what it records
        if given is None:  # fed as before: the fingerprints of unchanged callables stay
            feed(given, where)
            return
        for key, item in given.items():
            feed(key, where)
            feed(item, where)

    def code(c: types.CodeType, scope: dict[str, Any], qualname: str) -> None:
        h.update(c.co_code)
        for const in c.co_consts:
            if isinstance(const, types.CodeType):
                code(const, scope, qualname)
            else:
                h.update(repr(const).encode())
        for global_name in c.co_names:
            h.update(global_name.encode())
            if global_name in scope:
                feed(scope[global_name], f"{global_name} (used by {qualname.rpartition('.')[2]})")

    def hash_function(f: types.FunctionType) -> None:
        h.update(f"{f.__module__}.{f.__qualname__}".encode())
        code(f.__code__, f.__globals__, f.__qualname__)
        feed(f.__defaults__, f"a default of {f.__qualname__}")
        arguments(f.__kwdefaults__, f"a default of {f.__qualname__}")
        for var, cell in zip(f.__code__.co_freevars, f.__closure__ or (), strict=False):
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell (a name assigned later)
                continue
            feed(contents, f"{var} (used by {f.__name__})")

    if inspect.isfunction(fn) or inspect.ismethod(fn) or isinstance(fn, functools.partial):
        feed(fn, name)
    else:  # a callable object: its class's __call__ and its own state
        feed(type(fn).__call__, name)
        feed(fn, f"the {type(fn).__name__} object")
    return h.hexdigest()
