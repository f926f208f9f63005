"""`limit` draws a seeded label-stratified sample (never the first N rows), the same for every model."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from harness.config.plan import build_plan
from harness.config.spec import RunSpec, parse_spec_text
from harness.config.tasks.builtin import digits
from harness.run.api import evaluate
from harness.run.executors.work import load_task as plan_task


def test_subset_is_stratified_seeded_and_in_task_order() -> None:
    task = digits()
    # sort the task by class, as an image folder is: the first 100 rows hold 2 classes at most
    by_class = task.data.select(np.argsort(task.labels, kind="stable"))
    ordered = replace(task, data=by_class)
    assert len(set(ordered.labels[:100])) <= 2
    sub = ordered.subset(100, seed=0)
    counts = Counter(sub.labels.tolist())
    assert len(counts) == 10 and max(counts.values()) - min(counts.values()) <= 1
    assert sub.limit == 100 and len(sub) == 100
    positions = [ordered.sample_ids.index(s) for s in sub.sample_ids]
    assert positions == sorted(positions)  # the task's order is kept
    assert ordered.subset(100, seed=0).sample_ids == sub.sample_ids  # reproducible
    assert ordered.subset(100, seed=1).sample_ids != sub.sample_ids  # seeded
    assert set(task.subset(100, seed=0).sample_ids) == set(sub.sample_ids)  # order-independent
    assert sub.fingerprint != task.fingerprint
    assert task.subset(None, seed=0) is task and task.subset(10_000, seed=0) is task


def test_spec_limit_gives_every_model_the_same_stratified_rows(tmp_path: Path) -> None:
    spec: RunSpec = parse_spec_text(
        "seed: 3\nlimit: 50\ntasks: [digits]\nmodels: [digits-mlp, digits-cnn]\n"
        "suites: {accuracy: {}}\n",
        source="s.yaml",
    )
    plan = build_plan(spec, base_dir=tmp_path)
    task = plan_task(plan, "digits")
    assert task.sample_ids == digits().subset(50, seed=3, purpose="limit").sample_ids
    assert len(set(task.labels.tolist())) == 10


def test_evaluate_limit_uses_the_same_subset() -> None:
    out = evaluate("digits-mlp", task="digits", limit=40, seed=2, bootstrap_resamples=0)
    table = out.results["accuracy"].table
    assert table is not None
    ids = set(table.frame["sample_id"])
    assert ids == set(digits().subset(40, seed=2, purpose="limit").sample_ids)
