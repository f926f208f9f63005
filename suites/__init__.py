"""Built-in suites: name -> lazy "module:attr" reference (see harness.core.registry)."""

BUILTIN_SUITES: dict[str, str] = {
    "accuracy": "harness.suites.accuracy:AccuracySuite",
    "adversarial": "harness.suites.adversarial:AdversarialSuite",
    "fairness": "harness.suites.fairness:FairnessSuite",
    "shift": "harness.suites.shift:ShiftSuite",
    "throughput": "harness.suites.throughput:ThroughputSuite",
}
