"""docs/adversarial.md's quickstart table of the digits models is the committed baseline's: each
cell's value and interval from the job's metrics.json, the job time from its job.json."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "adversarial.md"
BASELINE = ROOT / "results" / "baselines" / "quickstart"
ROW = re.compile(
    r"^\| (digits-[a-z-]+) \| (\S+ \[\S+, \S+\]) \| (\S+ \[\S+, \S+\]) \| (\S+ \[\S+, \S+\]) "
    r"\| none \| ([\d.]+) s \|$",
    flags=re.M,
)


def _job(model: str) -> Path:
    (folder,) = BASELINE.glob(f"runs/*/jobs/{model}--digits--adversarial--*")
    return folder


def _cell(record: dict[str, Any]) -> str:
    low, high = record["ci"]
    return f"{record['value']:.3f} [{low:.3f}, {high:.3f}]"


def test_quickstart_digits_table_is_the_committed_baseline() -> None:
    rows = ROW.findall(PAGE.read_text(encoding="utf-8"))
    assert [row[0] for row in rows] == ["digits-cnn", "digits-cnn-adv", "digits-mlp"]
    for model, clean, robust_005, robust_01, seconds in rows:
        job = _job(model)
        records = json.loads((job / "metrics.json").read_text())
        by_condition = {
            r["condition"]: r for r in records if r["metric"] in ("clean_acc", "robust_acc")
        }
        assert clean == _cell(by_condition["clean"]), model
        assert robust_005 == _cell(by_condition["attack=ensemble/norm=linf/eps=0.05"]), model
        assert robust_01 == _cell(by_condition["attack=ensemble/norm=linf/eps=0.1"]), model
        stored = json.loads((job / "job.json").read_text())["seconds"]
        assert seconds == f"{stored:.1f}", (model, seconds, stored)
