"""The shift suite's jobs as a board's cross-model metrics read them: the config and the records.

`ShiftBoardConfig` is the part of a stored `shift` suite config the board reads (the mCE
baseline and corruption set, the effective-robustness testbed, the configured shifted tasks and
OOD sets); `ShiftRecords` is one model's `clean_acc`, `corruption_acc[corruption=c/severity=s]`
(as top-1 errors), `corruption_error` None for not applicable, and `shift_acc[shifted=t]`
records. Nothing here needs torch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from harness.core.corruption_names import BENCHMARK_CORRUPTIONS
from harness.core.metric_record import MetricRecord

SUITE = "shift"
CI_METHOD = "percentile bootstrap over sample ids (paired across models), 95%"
_CELL = re.compile(r"^corruption=(?P<c>[^/]+)/severity=(?P<s>\d+)$")
HELD_OUT_CORRUPTIONS: tuple[str, ...] = ("speckle_noise", "gaussian_blur", "spatter", "saturate")


class ShiftBoardConfig(BaseModel):
    """The part of a stored `shift` suite config that the board reads."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    mce_baseline: str | None = None  # the model whose errors normalise mCE
    mce_corruptions: str | list[str] = "benchmark"  # "benchmark" (15), "all" (19) or names
    effective_robustness_testbed: list[str] | None = None  # None: the board's non-variants
    # entries as stored (a list for every task, or {task: [entries]}): `not_run_notes` reads
    # them, and takes anything else for no entries (a board is never refused for them)
    shifted_tasks: Any = None
    ood_sets: Any = None

    def corruption_set(self) -> tuple[str, tuple[str, ...]]:
        """A label for the mCE corruption set, and its names."""
        if self.mce_corruptions == "benchmark":
            return "15 ImageNet-C benchmark corruptions", BENCHMARK_CORRUPTIONS
        if self.mce_corruptions == "all":
            return "19 corruptions (benchmark and held-out)", (
                *BENCHMARK_CORRUPTIONS,
                *HELD_OUT_CORRUPTIONS,
            )
        names = tuple(self.mce_corruptions)
        return f"{len(names)} configured corruptions", names


def board_config(configs: Sequence[Mapping[str, Any]]) -> ShiftBoardConfig:
    """The board's shift config: the first one that names an mCE baseline, else the first."""
    parsed = [ShiftBoardConfig.model_validate(c) for c in configs]
    return next((c for c in parsed if c.mce_baseline), parsed[0] if parsed else ShiftBoardConfig())


@dataclass(frozen=True)
class ShiftRecords:
    """What one model's `shift` job reported, in the shape the cross-model metrics need."""

    clean_acc: float | None
    n: int
    corruption_error: dict[tuple[str, int], float]  # (corruption, severity) -> top-1 error
    shift_acc: dict[str, float] = field(default_factory=dict)  # shifted task -> accuracy
    not_applicable: tuple[str, ...] = ()  # corruptions that do nothing on the task
    shift_n: dict[str, int] = field(default_factory=dict)  # shifted task -> its sample count

    @classmethod
    def from_records(cls, records: Sequence[MetricRecord]) -> ShiftRecords:
        clean, n, errors, shifted, skipped = None, 0, {}, {}, []
        shifted_n: dict[str, int] = {}
        for r in records:
            if r.metric == "corruption_error" and r.value is None:
                if (r.note or "").startswith("not applicable"):
                    skipped.append(r.condition.removeprefix("corruption="))
            elif r.value is None:
                continue
            elif r.metric == "clean_acc":
                clean, n = r.value, r.n
            elif r.metric == "corruption_acc" and (m := _CELL.match(r.condition)):
                errors[(m["c"], int(m["s"]))] = 1.0 - r.value
                n = n or r.n
            elif r.metric == "shift_acc" and r.condition.startswith("shifted="):
                shifted[r.condition.removeprefix("shifted=")] = r.value
                shifted_n[r.condition.removeprefix("shifted=")] = r.n
        return cls(
            clean_acc=clean,
            n=n,
            corruption_error=errors,
            shift_acc=shifted,
            not_applicable=tuple(skipped),
            shift_n=shifted_n,
        )
