"""Build a plan's model into its adapter: the one place the runner, workers, API and parity do it.

The registered adapter kind validates nothing more here (the plan did); it loads the weights or
files on `device`. A third-party adapter that implements only some optional hooks gets the
defaults for the rest (`harness.core.adapter.with_default_hooks`), so everything downstream
calls the hooks as plain attributes.
"""

from __future__ import annotations

from pathlib import Path

import torch

from harness.config.plan import ModelPlan
from harness.core.adapter import ModelAdapter, with_default_hooks


def build_model_adapter(model: ModelPlan, *, device: torch.device, base_dir: Path) -> ModelAdapter:
    """The adapter of `model` on `device`; spec paths resolve against `base_dir`."""
    adapter = model.adapter_cls.build(
        name=model.spec.name, config=model.config, device=device, base_dir=base_dir
    )
    return with_default_hooks(adapter)
