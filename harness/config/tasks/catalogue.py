"""Built-in tasks: name -> lazy "module:attr" of a zero-argument function returning a `Task`."""

from __future__ import annotations

from harness.core.registry import Registry

BUILTIN_TASKS: dict[str, str] = {
    "digits": "harness.config.tasks.builtin:digits",
    "diabetes": "harness.config.tasks.builtin:diabetes",
    "digits-shifted": "harness.config.tasks.builtin:digits_shifted",
}


def task_registry() -> Registry:
    return Registry("task", BUILTIN_TASKS, "harness.tasks")
