"""`fairness` suite: group metrics and disparities with intervals (see docs/fairness.md)."""

from harness.suites.fairness.suite import FairnessSuite

__all__ = ["FairnessSuite"]
