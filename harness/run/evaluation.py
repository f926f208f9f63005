"""What `harness.evaluate` computed, as data: each suite's result on one model and one task, and
how it was computed.

`EvaluationResult` (harness/run/api.py) adds the views users read (`table`, `metrics`...) and
`save`, which writes this record as a run folder (harness/run/api_store.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.core.suite import Suite, SuiteResult
from harness.core.task import Task


@dataclass(frozen=True)
class Evaluation:
    """Per-suite results of one model on one task, and the reason each skipped suite gave."""

    model: str
    task: str
    results: dict[str, SuiteResult] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    # what `save` records beside the results (None on a result built by hand)
    provenance: Provenance | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, eq=False)
class Provenance:
    """How an `EvaluationResult` was computed: what its job records and manifest hold."""

    task: Task  # as evaluated (after `limit`); its summary and fingerprint are read on save
    model_identity: str
    model_description: dict[str, Any]
    model_origin: str
    suites: dict[str, Suite]
    seconds: dict[str, float]
    seed: int
    device: str
    batch_size: int
    bootstrap_resamples: int
    started: str
    finished: str
    # per suite, the prints of what its jobs read beside the task (`Suite.input_fingerprints`),
    # taken when the evaluation ends for data in memory (a training split is a view of the
    # caller's tensor: hashed on save, after an in-place change, the key described other data);
    # None: read on save
    input_fingerprints: dict[str, dict[str, str]] | None = None
