"""`throughput` suite: honest speed, latency and memory measurements on CPU and GPU.

The suite class (and torch) loads on first use of `ThroughputSuite`: the results side imports the
package's torch-free `board` module without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.suites.throughput.suite import ThroughputSuite

__all__ = ["ThroughputSuite"]


def __getattr__(name: str) -> Any:
    if name == "ThroughputSuite":
        from harness.suites.throughput.suite import ThroughputSuite

        return ThroughputSuite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
