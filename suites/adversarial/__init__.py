"""`adversarial` suite: attack ensembles, eps sweeps, per-sample worst case and validity checks.

The suite class (and torch) loads on first use of `AdversarialSuite`: the results side imports the
package's torch-free `board` module without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.suites.adversarial.suite import AdversarialSuite

__all__ = ["AdversarialSuite"]


def __getattr__(name: str) -> Any:
    if name == "AdversarialSuite":
        from harness.suites.adversarial.suite import AdversarialSuite

        return AdversarialSuite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
