"""`throughput` suite: honest speed, latency and memory measurements on CPU and GPU."""

from suites.throughput.suite import ThroughputSuite

__all__ = ["ThroughputSuite"]
