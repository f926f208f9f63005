"""Built-in suites: name -> lazy "module:attr" reference (see harness.core.registry)."""

BUILTIN_SUITES: dict[str, str] = {
    "accuracy": "suites.accuracy:AccuracySuite",
    "adversarial": "suites.adversarial:AdversarialSuite",
    "fairness": "suites.fairness:FairnessSuite",
    "shift": "suites.shift:ShiftSuite",
    "throughput": "suites.throughput:ThroughputSuite",
}
