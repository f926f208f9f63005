"""`throughput` suite: honest speed, latency and memory measurements on CPU and GPU."""

from harness.suites.throughput.suite import ThroughputSuite

__all__ = ["ThroughputSuite"]
