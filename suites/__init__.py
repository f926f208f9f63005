"""Built-in suites: name -> lazy "module:attr" reference (see harness.registry)."""

BUILTIN_SUITES: dict[str, str] = {
    "accuracy": "suites.accuracy:AccuracySuite",
    "adversarial": "suites.adversarial:AdversarialSuite",
    "fairness": "suites.fairness:FairnessSuite",
    "throughput": "suites.throughput:ThroughputSuite",
}
