"""The installed plugins, bound for the planner: the built-in suites, adapters and zoo models,
and the suites and adapters other packages register through the entry-point groups
`harness.suites` and `harness.adapters`.

They are bound here, above the spec side, which never imports a plugin (docs/architecture.md,
"Layer contracts"). Built-ins are `name -> "module:attr"` tables: a plugin's module is imported
only when its name is asked for.
"""

from __future__ import annotations

from harness.adapters import BUILTIN_ADAPTERS
from harness.config.plugins import Plugins
from harness.core.registry import Registry
from harness.suites import BUILTIN_SUITES
from harness.zoo import hub_model_spec, model_name, zoo_models


def suite_registry() -> Registry:
    return Registry("suite", BUILTIN_SUITES, "harness.suites")


def adapter_registry() -> Registry:
    return Registry("adapter", BUILTIN_ADAPTERS, "harness.adapters")


def installed_plugins() -> Plugins:
    """The suites, adapters and zoo a spec's names resolve to (entry points read now)."""
    return Plugins(
        suites=suite_registry(),
        adapters=adapter_registry(),
        zoo_models=zoo_models,
        hub_model_spec=hub_model_spec,
        hub_model_name=model_name,
    )
