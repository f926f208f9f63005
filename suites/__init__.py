"""Built-in suites: name -> lazy "module:attr" reference (see harness.core.registry).

`BUILTIN_SUITES` names each suite's class; `BUILTIN_SUITE_BOARDS` its torch-free board
(`harness.core.suite_board.SuiteBoard`: metric labels and report figures), which the results side
reads without importing the suite.
"""

BUILTIN_SUITES: dict[str, str] = {
    "accuracy": "harness.suites.accuracy:AccuracySuite",
    "adversarial": "harness.suites.adversarial.suite:AdversarialSuite",
    "fairness": "harness.suites.fairness.suite:FairnessSuite",
    "shift": "harness.suites.shift.suite:ShiftSuite",
    "throughput": "harness.suites.throughput.suite:ThroughputSuite",
}

BUILTIN_SUITE_BOARDS: dict[str, str] = {
    "accuracy": "harness.suites.accuracy_board:BOARD",
    "adversarial": "harness.suites.adversarial.board:BOARD",
    "fairness": "harness.suites.fairness.board:BOARD",
    "shift": "harness.suites.shift.board:BOARD",
    "throughput": "harness.suites.throughput.board:BOARD",
}
