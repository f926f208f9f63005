"""Distribution-shift suite: image corruptions, dataset shift and OOD detection.

The suite class (and torch) loads on first use of `ShiftSuite`: the results side imports the
package's torch-free `board` module without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.suites.shift.suite import ShiftSuite

__all__ = ["ShiftSuite"]


def __getattr__(name: str) -> Any:
    if name == "ShiftSuite":
        from harness.suites.shift.suite import ShiftSuite

        return ShiftSuite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
