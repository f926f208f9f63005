"""What a spec runs as code when it runs: model factories, callables, pickles, remote code.

A spec is as trusted as a Python script: `factory: os:system` with the right `factory_args` runs
a shell command under `harness run`. `harness validate` lists every such place (and imports none
of them: a plan names its factories as strings). Adapters say what their config runs through an
optional classmethod `code_uses(config) -> list[str]`; a third-party adapter without it is listed
as running its own code; zoo models run the harness's own code and are not listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.config.plan import Plan
from harness.core.registry import Registry


@dataclass(frozen=True)
class CodeUse:
    """One place where running the spec imports or executes code the spec names."""

    model: str
    what: str

    def line(self) -> str:
        return f"model {self.model}: {self.what}"


def code_uses(plan: Plan, adapters: Registry) -> list[CodeUse]:
    """Every place the plan's models run code named by the spec, in model order (`adapters`: the
    registry the plan was built with, which says where each adapter kind comes from)."""
    registry = adapters
    uses: list[CodeUse] = []
    for name, model in plan.models.items():
        if model.origin == "zoo" or model.origin.startswith("variant of"):
            continue  # the harness's own zoo code; a variant runs its parent's code (listed)
        hook: Callable[..., list[str]] | None = getattr(model.adapter_cls, "code_uses", None)
        if hook is not None:
            uses += [CodeUse(name, what) for what in hook(model.config)]
            continue
        kind = model.spec.adapter
        origin = registry.entry(kind).origin if kind in registry else "unknown"
        if origin != "builtin":
            uses.append(CodeUse(name, f"adapter {kind!r} ({origin}) runs its own code"))
    return uses
