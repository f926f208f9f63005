"""Evaluation mode for networks that hold saved programs (TorchScript, torch.export).

`nn.Module.eval()` switches dropout and batch norm off in a module that reads `self.training`
(a scripted module too). A trace (`torch.jit.trace`) or a torch.export program instead keeps
the mode its model was in when it was saved as constants of its graph, and an exported
program's module refuses `.eval()`: `to_eval` puts what it can in eval mode and
`refuse_training_ops` refuses a network whose saved graph still runs dropout, rrelu or batch norm
in training mode.
"""

from __future__ import annotations

from typing import Any

import torch

from harness.core.errors import ModelLoadError

# operations that behave differently in training mode, with the position of their `training`
# argument: dropout draws a random mask (unless its p, the argument before, is 0; a stacked
# recurrent layer's between its layers, `_RECURRENT`), rrelu random slopes, batch norm normalises with the batch's own statistics (instance norm that keeps running
# statistics: with each input's own). An in-place form (`dropout_`,
# `nn.Dropout(inplace=True)`) is looked up by its name without the trailing underscore.
_TRAINING_ARG = {
    "dropout": 2,
    "feature_dropout": 2,
    "alpha_dropout": 2,
    "feature_alpha_dropout": 2,
    "native_dropout": 2,
    "rrelu": 3,
    "rrelu_with_noise": 4,  # rrelu in a decomposed program (the core ATen set)
    "rrelu_with_noise_functional": 4,
    "batch_norm": 5,
    "native_batch_norm": 5,
    "_native_batch_norm_legit": 5,
    "_native_batch_norm_legit_functional": 5,
    "cudnn_batch_norm": 5,
    "miopen_batch_norm": 5,
    # its `use_input_stats` (training mode with running statistics, as batch norm's flag)
    "instance_norm": 5,
}
_BATCH_NORM_INDEX = 5  # a batch (instance) norm's training flag; its running mean, variance: 3, 4
# recurrent layers (`nn.LSTM`, `nn.GRU`, `nn.RNN`) drop out between stacked layers in training
# mode; their arguments run (..., has_biases, num_layers, dropout, train, ...) from has_biases,
# the 4th argument for a padded input and the 5th for a packed sequence
_RECURRENT = frozenset({"lstm", "gru", "rnn_tanh", "rnn_relu"})


def _op_name(op: str) -> str:
    """An operation's name, an in-place form's (`dropout_`) as its own (`dropout`)."""
    return op.removesuffix("_") if op.removesuffix("_") in _TRAINING_ARG else op


def _no_running_stats(args: list[Any], index: int | None) -> bool:
    """Whether a batch or instance norm (`args` its arguments, None where not a constant) has
    no running mean or variance (`track_running_stats=False`): it then runs with training True
    in eval mode too, as its module does, whatever mode the program was saved in."""
    return index == _BATCH_NORM_INDEX and args[3] is None and args[4] is None


def _recurrent_dropout(args: list[Any]) -> bool:
    """Whether a recurrent op (`args` its arguments, None where not a constant) drops out: train
    True with a dropout above 0 between more than one layer (one layer has nothing to drop)."""
    start = 3 if isinstance(args[3], bool) else 4  # has_biases: a padded input's, else packed
    if len(args) < start + 4:
        return False
    layers, p, train = args[start + 1], args[start + 2], args[start + 3]
    return (
        train is True
        and isinstance(p, int | float)
        and p > 0
        and isinstance(layers, int)
        and layers > 1
    )


def _jit_training_ops(block: Any) -> list[str]:
    """TorchScript ops of `block` (nested blocks included) whose training flag is a constant
    True: a trace of a model in training mode (a scripted module reads `self.training`)."""
    found: list[str] = []
    for node in block.nodes():
        op = _op_name(node.kind().removeprefix("aten::"))
        index = _TRAINING_ARG.get(op) if node.kind().startswith("aten::") else None
        inputs = list(node.inputs())
        if index is not None and index < len(inputs):
            constant = [
                i.toIValue() if i.node().kind() == "prim::Constant" else None for i in inputs
            ]
            # a None running mean/variance is a constant None (not a value only known later)
            given = [
                None if i.node().kind() == "prim::Constant" and v is None else i
                for i, v in zip(inputs, constant, strict=True)
            ]
            if constant[index] is True and not (
                (index == 2 and constant[1] == 0) or _no_running_stats(given, index)
            ):
                found.append(op)
        elif op in _RECURRENT and node.kind().startswith("aten::") and len(inputs) > 3:
            constant = [
                i.toIValue() if i.node().kind() == "prim::Constant" else None for i in inputs
            ]
            if _recurrent_dropout(constant):
                found.append(op)
        for inner in node.blocks():
            found += _jit_training_ops(inner)
    return found


def _fx_training_ops(program: torch.nn.Module) -> list[str]:
    """torch.export ops (of every graph the program holds) called with training True."""
    found: list[str] = []
    for module in program.modules():
        if isinstance(module, torch.jit.ScriptModule):  # its `graph` is TorchScript's, built
            continue  # on each access: read by `_script_training_ops`
        graph = getattr(module, "graph", None)
        if not isinstance(graph, torch.fx.Graph):
            continue
        for node in graph.nodes:
            schema = getattr(node.target, "_schema", None)
            if node.op != "call_function" or schema is None:
                continue
            op = _op_name(str(schema.name).removeprefix("aten::"))
            index = _TRAINING_ARG.get(op)
            args = node.args
            training = index is not None and index < len(args) and args[index] is True
            # dropout with p 0: no change; batch norm without running statistics: none either
            recurrent = op in _RECURRENT and len(args) > 3 and _recurrent_dropout(list(args))
            if recurrent or (
                training
                and not ((index == 2 and args[1] == 0) or _no_running_stats(list(args), index))
            ):
                found.append(op)
    return found


def _script_training_ops(network: torch.nn.Module) -> list[str]:
    """The training-mode ops of every outermost TorchScript module `network` holds (itself
    included): an inner one's code is inlined in its parent's graph, so it is read once."""
    found: list[str] = []
    inside: list[str] = []  # names of the script modules already read, as prefixes
    for name, module in network.named_modules():
        if not isinstance(module, torch.jit.ScriptModule):
            continue
        if any(p == "" or name == p or name.startswith(p + ".") for p in inside):
            continue
        try:
            graph = module.inlined_graph
        except (RuntimeError, AttributeError):  # no forward method (AttributeError): the
            continue  # modules inside it, which the network may call, are read on their own
        inside.append(name)
        found += _jit_training_ops(graph)
    return found


def refuse_training_ops(network: torch.nn.Module, *, name: str, what: str) -> None:
    """Refuse a network holding a program saved while its model was in training mode (`what`
    names it: the file, or the module): a trace or a torch.export program keeps dropout and
    batch norm in training mode as constants, which `.eval()` does not change, so its outputs
    would be random (dropout) or depend on the other inputs of the batch (batch norm); every
    number would be that of another model (a 0.97 digits model scored 0.88)."""
    found = _script_training_ops(network) + _fx_training_ops(network)
    if found:
        ops = ", ".join(sorted(set(found)))
        raise ModelLoadError(
            f"model {name!r}: {what} runs {ops} in training mode (it was traced or "
            "exported while the model was in training mode, and the saved graph keeps that, so "
            "its outputs are random or normalised by the inputs' own statistics, not the saved "
            "ones); call model.eval() "
            "before torch.jit.trace / torch.export.export and save it again"
        )


class FixedMode(torch.nn.Module):
    """Holds a network that refuses `.train()` / `.eval()` (a torch.export program's module):
    its own mode is a flag, passed to nothing, so suites may call `.eval()` on it."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network
        self.training = False

    def train(self, mode: bool = True) -> FixedMode:
        self.training = mode
        return self

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.network(*args, **kwargs)


def to_eval(network: torch.nn.Module) -> torch.nn.Module:
    """`network.eval()`; a network holding a torch.export program's module (whose `eval` and
    `train` raise NotImplementedError) has every module's `training` flag cleared and is
    held in a `FixedMode`."""
    try:
        return network.eval()
    except NotImplementedError:
        for module in network.modules():
            module.training = False
        return FixedMode(network)
