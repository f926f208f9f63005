"""Built-in tasks: name -> lazy "module:attr" of a zero-argument function returning a `Task`."""

from __future__ import annotations

from harness.registry import Registry

BUILTIN_TASKS: dict[str, str] = {
    "digits": "harness.builtin_tasks:digits",
    "diabetes": "harness.builtin_tasks:diabetes",
    "digits-shifted": "harness.builtin_tasks:digits_shifted",
}


def task_registry() -> Registry:
    return Registry("task", BUILTIN_TASKS, "harness.tasks")
