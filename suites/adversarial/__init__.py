"""`adversarial` suite: attack ensembles, eps sweeps, per-sample worst case and validity checks."""

from harness.suites.adversarial.suite import AdversarialSuite

__all__ = ["AdversarialSuite"]
