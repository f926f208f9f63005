"""`fairness` suite: group metrics and disparities with intervals (see docs/fairness.md).

The suite class (and torch) loads on first use of `FairnessSuite`: the results side imports the
package's torch-free `board` module without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.suites.fairness.suite import FairnessSuite

__all__ = ["FairnessSuite"]


def __getattr__(name: str) -> Any:
    if name == "FairnessSuite":
        from harness.suites.fairness.suite import FairnessSuite

        return FairnessSuite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
