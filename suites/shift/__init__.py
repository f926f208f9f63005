"""Distribution-shift suite: image corruptions, dataset shift and OOD detection."""

from harness.suites.shift.suite import ShiftSuite

__all__ = ["ShiftSuite"]
