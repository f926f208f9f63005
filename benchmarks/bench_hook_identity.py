"""CPU time of a module's identity (`TorchModuleAdapter.from_module(...).identity()`) with and
without a forward hook on each of its layers that is a method of the model (feature extraction
as it is often written), against one digest of its parameters.

Run (from the repository root):
    PYTHONPATH=. python benchmarks/bench_hook_identity.py [--layers 16] [--width 1024]
"""

from __future__ import annotations

import argparse
import time

import torch

from harness.adapters.torch_module import TorchModuleAdapter, state_sha256


class Net(torch.nn.Module):
    def __init__(self, layers: int, width: int, hooks: bool) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(torch.nn.Linear(width, width) for _ in range(layers))
        self.features: dict[int, torch.Tensor] = {}
        if hooks:
            for layer in self.layers:
                layer.register_forward_hook(self._keep)

    def _keep(self, module: torch.nn.Module, inputs: object, output: torch.Tensor) -> None:
        self.features[id(module)] = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--width", type=int, default=1024)
    args = parser.parse_args()
    for hooks in (False, True):
        model = Net(args.layers, args.width, hooks)
        start = time.process_time()
        TorchModuleAdapter.from_module(model, name="m").identity()
        print(f"hooks={hooks!s:5} identity {time.process_time() - start:.2f} s CPU")
    start = time.process_time()
    state_sha256(model)
    print(f"one state_sha256     {time.process_time() - start:.2f} s CPU")


if __name__ == "__main__":
    main()
