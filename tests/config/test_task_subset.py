"""`limit` draws a seeded label-stratified sample (never the first N rows), the same for every model."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from harness.config.planner import build_plan
from harness.config.spec import RunSpec, parse_spec_text
from harness.data.builtin import digits
from harness.run.api import evaluate
from harness.run.executors.work import load_task as plan_task
from harness.run.plugins import installed_plugins


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
    plan = build_plan(spec, base_dir=tmp_path, plugins=installed_plugins())
    task = plan_task(plan, "digits")
    assert task.sample_ids == digits().subset(50, seed=3, purpose="limit").sample_ids
    assert len(set(task.labels.tolist())) == 10


def test_evaluate_limit_uses_the_same_subset() -> None:
    out = evaluate("digits-mlp", task="digits", limit=40, seed=2, bootstrap_resamples=0)
    table = out.results["accuracy"].table
    assert table is not None
    ids = set(table.frame["sample_id"])
    assert ids == set(digits().subset(40, seed=2, purpose="limit").sample_ids)


def test_limit_on_corruption_cells_counts_source_images(tmp_path: Path) -> None:
    """`--limit 7` on 15 cells kept 7 rows in all (7 cells, one label; other cells vanished).
    It now draws 7 source images, label-stratified, and keeps every cell of them."""
    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec
    from tests.data.layouts import cifar_c

    labels, _ = cifar_c(tmp_path / "c10c", ("fog", "snow", "contrast"), per_severity=12)
    task = load_task(
        TaskSpec(name="c", source="c10c", modality="image"), base_dir=tmp_path
    )  # 3 corruptions x 5 severities = 15 cells of 12 images
    sub = task.subset(7, seed=0, purpose="limit", per_source=True)
    cells = sub.cells()
    by_cell = {key: set(f["source_id"]) for key, f in cells.groupby(["corruption", "severity"])}
    assert len(by_cell) == 15 and len(sub) == 7 * 15
    first = next(iter(by_cell.values()))
    assert len(first) == 7 and all(images == first for images in by_cell.values())
    # label-stratified over the 12 source images (as a clean task's limit is)
    per_image = {f"{i:05d}": int(labels[i]) for i in range(12)}
    drawn = Counter(per_image[s] for s in first)
    expected = Counter(int(v) for v in labels[:12])
    assert all(abs(drawn[k] - 7 * expected[k] / 12) < 1 for k in expected)
    assert sub.subset(7, seed=0, purpose="limit", per_source=True).sample_ids == sub.sample_ids
    nine = task.subset(9, seed=0, purpose="limit", per_source=True)
    assert set(nine.cells()["source_id"]) >= first
    # max_samples (the shift suite's, in rows) is unchanged: rows, not images
    assert len(task.subset(30, seed=0, purpose="shift/rows")) == 30
    assert len(task.subset(30, seed=0, purpose="limit")) == 30
