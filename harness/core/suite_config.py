"""`SuiteConfig`: the base of every suite's pydantic config (torch-free).

A suite validates its spec section into its config model when it is built (`Suite.config_model`),
and the results side reads a stored config back through the same model where it needs a value
of it (`SuiteBoard.config`), so a default is written once, in the model.
"""

from __future__ import annotations

from pydantic import ConfigDict

from harness.core.validation import KnownKeys


class SuiteConfig(KnownKeys):
    """Base for suite configs: unknown keys are errors (naming the closest key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
