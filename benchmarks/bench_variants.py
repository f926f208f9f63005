"""Size, speed and accuracy of each quickstart variant against its parent, on this machine.

Speed is samples/s of `adapter.logits` on the whole digits test split, parent and variant timed
interleaved in one process (A/B, B/A, ...), reported as variant/parent ratios: absolute CPU
times on shared machines vary several-fold between processes. Run: `python benchmarks/bench_variants.py`.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch

from harness.cli.main import quickstart_spec_path
from harness.config.planner import build_plan
from harness.config.spec import load_spec
from harness.run.model_adapter import build_model_adapter
from harness.run.plugins import installed_plugins

ROUNDS = 15
CALLS = 10  # logits calls per timing (one call on the MLP is well under a millisecond)


def _rate(adapter, x: torch.Tensor) -> float:  # noqa: ANN001
    start = time.perf_counter()
    for _ in range(CALLS):
        adapter.logits(x)
    return CALLS * len(x) / (time.perf_counter() - start)


def main() -> None:
    spec_path = quickstart_spec_path()
    plan = build_plan(
        load_spec(spec_path), base_dir=Path(spec_path).parent, plugins=installed_plugins()
    )
    task = plan.tasks["digits"].load()
    x, y = task.all_inputs(), torch.as_tensor(task.labels)
    device = torch.device("cpu")
    build = {
        n: build_model_adapter(mp, device=device, base_dir=plan.base_dir)
        for n, mp in plan.models.items()
    }
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, digits n={len(x)}, {ROUNDS} interleaved rounds"
    )
    print(
        f"{'variant':<22} {'size B':>8} {'x parent':>8} {'acc':>6} {'parent':>6} {'speed x parent (median [min, max])':>36}"
    )
    for name, variant in build.items():
        desc = variant.describe()
        if "parent" not in desc:
            continue
        parent = build[desc["parent"]]
        acc = float((variant.logits(x).argmax(1) == y).float().mean())
        pacc = float((parent.logits(x).argmax(1) == y).float().mean())
        for _ in range(3):  # warm-up
            _rate(parent, x), _rate(variant, x)
        ratios = []
        for r in range(ROUNDS):
            pair = (parent, variant) if r % 2 == 0 else (variant, parent)
            rates = {id(a): _rate(a, x) for a in pair}
            ratios.append(rates[id(variant)] / rates[id(parent)])
        size = desc["size_bytes"] / desc["parent_size_bytes"]
        spread = f"{statistics.median(ratios):.2f} [{min(ratios):.2f}, {max(ratios):.2f}]"
        print(
            f"{name:<22} {desc['size_bytes']:>8} {size:>8.2f} {acc:>6.3f} {pacc:>6.3f} {spread:>36}"
        )


if __name__ == "__main__":
    main()
