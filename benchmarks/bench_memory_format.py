"""Benchmark: the quickstart's biggest avoidable cost, mnist-cnn in NCHW versus channels-last.

A profile of one quickstart run (`python -m cProfile -m harness run`, OMP_NUM_THREADS unset; the
mnist jobs are about half of its time) puts about 70% of the wall time in the models' own work:
`torch.max_pool2d`, `torch.conv2d` and the backward pass of the attacks, one thread each, while the
runner, job store, job cache and thread setup together take a few percent. The zoo's CNNs run in
torch's default NCHW layout, where CPU max-pooling is not vectorised (the zoo's MaxPool2x2 now
avoids that kernel in passes without gradients: docs/throughput.md; the rows "NCHW
nn.MaxPool2d" time the former architecture, with torch's pool everywhere, for that comparison).
This script times the mnist-cnn architecture (zoo/architectures.py, random weights: the layout,
not the values, sets the cost) forward and forward+backward at the quickstart's batch size, NCHW
and channels-last interleaved round by round in one process, one thread, and reports the ratios
and the largest difference in logits (channels-last runs other kernels: the last bits may move,
so adopting it is a change that can move numbers and would need a suite version bump). Run from
the repository root:

    OMP_NUM_THREADS=1 python benchmarks/bench_memory_format.py [--rounds 5] [--batch 256]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torch import nn  # noqa: E402

from harness.zoo.architectures import MaxPool2x2, mnist_cnn  # noqa: E402


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Seconds per call (median of `repeats` calls) after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    nchw = mnist_cnn().eval()
    nhwc = mnist_cnn().eval()
    nhwc.load_state_dict(nchw.state_dict())
    nhwc = nhwc.to(memory_format=torch.channels_last)
    torch_pool = mnist_cnn().eval()  # the architecture before MaxPool2x2
    torch_pool.load_state_dict(nchw.state_dict())
    for i, layer in enumerate(torch_pool):
        if isinstance(layer, MaxPool2x2):
            torch_pool[i] = nn.MaxPool2d(2)
    x = torch.rand(args.batch, 1, 28, 28)
    x_cl = x.contiguous(memory_format=torch.channels_last)

    def forward(model: torch.nn.Module, inputs: torch.Tensor) -> Callable[[], object]:
        def run() -> object:
            with torch.no_grad():
                return model(inputs)

        return run

    def backward(model: torch.nn.Module, inputs: torch.Tensor) -> Callable[[], object]:
        def run() -> object:
            xi = inputs.clone().requires_grad_(True)
            model(xi).logsumexp(dim=1).sum().backward()
            return xi.grad

        return run

    with torch.no_grad():
        diff = (nchw(x) - nhwc(x_cl)).abs().max().item()
    got: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for name, fn in [
            ("forward NCHW", forward(nchw, x)),
            ("forward channels-last", forward(nhwc, x_cl)),
            ("fwd+bwd NCHW", backward(nchw, x)),
            ("fwd+bwd channels-last", backward(nhwc, x_cl)),
            ("forward NCHW nn.MaxPool2d", forward(torch_pool, x)),
            ("fwd+bwd NCHW nn.MaxPool2d", backward(torch_pool, x)),
        ]:
            got.setdefault(name, []).append(timed(fn, args.repeats))
        print(f"round {r + 1}: " + "  ".join(f"{k} {v[-1] * 1e3:.1f} ms" for k, v in got.items()))
    med = {k: statistics.median(v) for k, v in got.items()}
    print()
    for kind in ("forward", "fwd+bwd"):
        ratio = med[f"{kind} NCHW"] / med[f"{kind} channels-last"]
        print(
            f"{kind:<8} NCHW {med[f'{kind} NCHW'] * 1e3:7.1f} ms  channels-last "
            f"{med[f'{kind} channels-last'] * 1e3:7.1f} ms  NCHW / channels-last {ratio:.2f}x"
        )
        ratio = med[f"{kind} NCHW"] / med[f"{kind} NCHW nn.MaxPool2d"]
        print(f"{kind:<8} NCHW with MaxPool2x2 / with nn.MaxPool2d {ratio:.2f}x")
    print(f"largest logit difference between the layouts: {diff:.2e}")
    with torch.no_grad():
        same = torch.equal(nchw(x), torch_pool(x))
    print(f"logits with MaxPool2x2 equal those with nn.MaxPool2d: {same}")


if __name__ == "__main__":
    main()
