"""Concentrated harm: a planted drop on one class is found with its n and McNemar p-value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.analysis.variant_deltas import compare_variants
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.core.suite_board import suite_configs
from harness.present.variants_view import render
from harness.run.suite_boards import installed_suite_boards
from harness.stats.intervals import mcnemar_exact
from harness.store.run_store import StoredJob
from tests.store.records import job_record, run_manifest, task_summary

CONFIGS = suite_configs(installed_suite_boards())

MANIFEST = run_manifest("r1", [])


def _job(
    path: Path,
    model: str,
    correct: np.ndarray,
    labels: np.ndarray,
    lineage: dict,
    finished: str = "x",
    suite: str = "accuracy",
    **changes: str,
) -> StoredJob:
    path.mkdir()
    n = len(labels)
    SampleTable.build(
        {
            "sample_id": [f"s{i}" for i in range(n)],
            "condition": ["clean"] * n,
            "label": labels,
            "prediction": np.where(correct, labels, (labels + 1) % 5),
            "correct": correct,
            "confidence": np.full(n, 0.9),
        }
    ).write_parquet(path / "samples.parquet")
    rec = MetricRecord(
        suite="accuracy",
        metric="top1_acc",
        value=float(correct.mean()),
        unit="fraction",
        higher_is_better=True,
        n=n,
        condition="clean",
    )
    record = job_record(
        model,
        suite,
        task="t",
        summary=task_summary("t", fingerprint=changes.pop("fingerprint", "fp")),
        description=lineage,
        suite_config_hash=changes.pop("suite_config_hash", "c"),
        finished=finished,
        **changes,
    )
    return StoredJob(path=path, record=record, metrics=[rec])


def test_planted_class_drop_is_located(tmp_path: Path) -> None:
    labels = np.repeat(np.arange(5), 100)
    parent = np.ones(500, dtype=bool)
    variant = parent.copy()
    variant[np.flatnonzero(labels == 3)[:12]] = False  # harm only on class 3: 12 of 100
    variant[np.flatnonzero(labels == 1)[:1]] = False
    jobs = [
        (MANIFEST, _job(tmp_path / "p", "m", parent, labels, {})),
        (
            MANIFEST,
            _job(
                tmp_path / "v",
                "m@int8",
                variant,
                labels,
                {"parent": "m", "variant": "int8", "size_bytes": 50, "parent_size_bytes": 200},
            ),
        ),
    ]
    (comp,) = compare_variants(jobs, configs=CONFIGS)
    top1 = comp.deltas[0]
    assert top1.test == "mcnemar_exact" and np.isclose(top1.delta, -13 / 500)
    assert np.isclose(top1.p_value, mcnemar_exact(0, 13))
    worst = comp.worst["class"]
    assert (worst.slice, worst.n, worst.drop) == ("label=3", 100, 0.12)
    assert np.isclose(worst.p_value, mcnemar_exact(0, 12))
    assert comp.slices_tested == 5 and worst.p_holm >= worst.p_value
    assert comp.size.size_ratio == 0.25
    assert "largest class drop: label=3" in render([comp], "table")


def test_a_variant_built_from_other_weights_than_its_parent_job_is_not_compared(
    tmp_path: Path,
) -> None:
    """Variant and parent were paired by name alone. A parent whose weights changed between two
    runs (retrained, then `--models m@int8`), or a factory that initialises at random, gave a
    variant of one model compared with another model: on /tmp/h4 (a random-init weight-norm
    net) m@fp16 'gained' +0.08 top1 with class 5 going 0 -> 1.0, McNemar p = 0.002. The
    variant's description keeps its parent's content hashes; a parent job with others is not
    its parent: the newest one that matches is used, else the comparison says why not."""
    labels = np.repeat(np.arange(5), 20)
    ones = np.ones(100, dtype=bool)
    lineage = {"parent": "m", "variant": "fp16", "state_sha256": "a" * 64}
    old = _job(tmp_path / "p1", "m", ones, labels, {"state_sha256": "a" * 64}, finished="1")
    new = _job(tmp_path / "p2", "m", ~ones, labels, {"state_sha256": "b" * 64}, finished="2")
    variant = _job(tmp_path / "v", "m@fp16", ones, labels, lineage, finished="3")
    (alone,) = compare_variants([(MANIFEST, new), (MANIFEST, variant)], configs=CONFIGS)
    assert alone.status == "parent differs" and not alone.deltas
    assert "state_sha256 aaaaaaaaaaaa here, bbbbbbbbbbbb there" in alone.reason
    assert "parent differs: built from other weights" in render([alone], "table")
    # the parent job the variant was built from is found among the runs, even when older
    jobs = [(MANIFEST, old), (MANIFEST, new), (MANIFEST, variant)]
    (matched,) = compare_variants(jobs, configs=CONFIGS)
    assert matched.status == "compared" and matched.deltas[0].delta == 0.0
    # records without hashes (other adapters) are compared as before
    bare = _job(tmp_path / "p3", "m", ones, labels, {}, finished="4")
    (plain,) = compare_variants([(MANIFEST, bare), (MANIFEST, variant)], configs=CONFIGS)
    assert plain.status == "compared"


def test_a_variant_that_changed_nothing_says_so(tmp_path: Path) -> None:
    """A recipe that does not reach the forward pass (int8 of a Linear layer the model never
    calls, a pruned layer it does not use) gave a variant whose numbers equal its parent's: every
    delta 0, read as 'compression costs nothing'. Outputs equal to the last bit on every row now
    say so; a variant with one changed confidence does not get the note."""
    labels = np.repeat(np.arange(5), 20)
    ones = np.ones(100, dtype=bool)
    lineage = {"parent": "m", "variant": "int8"}
    parent = _job(tmp_path / "p", "m", ones, labels, {}, finished="1")
    same = _job(tmp_path / "v", "m@int8", ones, labels, lineage, finished="2")
    (comp,) = compare_variants([(MANIFEST, parent), (MANIFEST, same)], configs=CONFIGS)
    assert comp.notes[0].startswith("the variant's outputs equal its parent's on every one of")
    assert "100 rows" in comp.notes[0] and comp.deltas[0].delta == 0.0
    frame = same.table().frame
    frame.loc[7, "confidence"] = np.nextafter(0.9, 1.0)
    SampleTable.build(frame.to_dict("list")).write_parquet(same.path / "samples.parquet")
    (moved,) = compare_variants([(MANIFEST, parent), (MANIFEST, same)], configs=CONFIGS)
    assert not any("outputs equal" in n for n in moved.notes)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"fingerprint": "other"}, "are on other samples (another limit, split or data)"),
        ({"suite_version": "2"}, "are from another version of the suite (1; the variant's 2)"),
        ({"suite_config_hash": "d"}, "ran another suite config"),
    ],
)
def test_a_variant_without_a_matching_parent_job_says_what_differs(
    tmp_path: Path, changes: dict[str, str], reason: str
) -> None:
    """`harness variants` said "with the same suite config" whatever differed: a parent run
    with another `limit` (another sample of the task) was blamed on the suite config."""
    labels = np.repeat(np.arange(5), 20)
    ones = np.ones(100, dtype=bool)
    parent = _job(tmp_path / "p", "m", ones, labels, {})
    lineage = {"parent": "m", "variant": "fp16"}
    variant = _job(tmp_path / "v", "m@fp16", ones, labels, lineage, **changes)
    (comp,) = compare_variants([(MANIFEST, parent), (MANIFEST, variant)], configs=CONFIGS)
    assert comp.status == "no parent results"
    assert comp.reason == f"the accuracy results of parent 'm' on task 't' {reason}" + (
        ": run the parent and its variant together" if "config" not in reason else ""
    )
    (alone,) = compare_variants([(MANIFEST, variant)], configs=CONFIGS)
    assert (
        alone.reason
        == "no results of parent 'm' on task 't': run the parent and its variant together"
    )


def test_a_suite_without_a_matching_parent_job_is_named_beside_one_that_pairs(
    tmp_path: Path,
) -> None:
    """After an upgrade, `harness run --models m@fp16 --suites accuracy` into the results
    folder of an older harness reran the variant's accuracy (new suite version) while its
    parent's stayed at the old one: `harness variants` compared the other suites and left the
    accuracy deltas out without a word (the reason was given only when no suite paired)."""
    labels = np.repeat(np.arange(5), 20)
    ones = np.ones(100, dtype=bool)
    lineage = {"parent": "m", "variant": "fp16"}
    jobs = [
        (MANIFEST, _job(tmp_path / "p1", "m", ones, labels, {}, suite="speed")),
        (MANIFEST, _job(tmp_path / "p2", "m", ones, labels, {}, suite_version="3")),
        (MANIFEST, _job(tmp_path / "v1", "m@fp16", ones, labels, lineage, suite="speed")),
        (MANIFEST, _job(tmp_path / "v2", "m@fp16", ones, labels, lineage, suite_version="9")),
    ]
    (comp,) = compare_variants(jobs, configs=CONFIGS)
    assert comp.status == "compared" and {d.suite for d in comp.deltas} == {"speed"}
    assert (
        "accuracy: not compared: the accuracy results of parent 'm' on task 't' are from "
        "another version of the suite (3; the variant's 9): run the parent and its variant "
        "together"
    ) in comp.notes, comp.notes
    assert "accuracy: not compared" in render([comp], "table")


def test_the_leaderboard_note_gives_the_worst_slice_its_holm_p_and_where_it_is() -> None:
    """The worst of many slices is picked for its drop: the leaderboard's note printed only its
    unadjusted McNemar p (`p=0.010` reads as a significant harm when Holm over 40 slices says
    1.000) and not the suite and condition of the slice (quickstart: `label=2 0.050 (n=20)`,
    the adversarial suite's 200-sample subset, where the digits test set has ~72 of each)."""
    from harness.analysis.variant_deltas import (
        HarmSlice,
        MetricDelta,
        VariantComparison,
        VariantSize,
        board_notes,
    )

    size = VariantSize(None, None, None, None, None, None, None, None)
    delta = MetricDelta("accuracy", "top1_acc", "fraction", True, 0.9, 0.89, -0.01,
                        "mcnemar_exact", 719, 0.5, 1.0, ci=(-0.02, 0.005))  # fmt: skip
    harm = HarmSlice("adversarial", "class", "label=2", "clean", 20, 1.0, 0.7, 0.3, 0.01, 1.0)
    comp = VariantComparison("m@int8", "m", "int8", "digits", size, deltas=[delta],
                             worst={"class": harm}, slices_tested=40)  # fmt: skip
    (note,) = board_notes([comp], "digits", "top1_acc")
    assert "largest slice drop label=2 [adversarial, clean] 0.300" in note, note
    assert "n=20, McNemar p=0.010, Holm p=1.000 over 40 slices" in note, note


def _group_job(path: Path, model: str, correct: np.ndarray, sex: np.ndarray, lineage: dict):  # noqa: ANN202
    path.mkdir()
    n = len(sex)
    labels = np.zeros(n, dtype=int)
    SampleTable.build(
        {
            "sample_id": [f"s{i}" for i in range(n)],
            "condition": ["clean"] * n,
            "label": labels,
            "prediction": np.where(correct, 0, 1),
            "correct": correct,
            "confidence": np.full(n, 0.9),
            "group:sex": sex,
        }
    ).write_parquet(path / "samples.parquet")
    recs = [
        MetricRecord(
            suite="fairness",
            metric="group_acc",
            value=float(correct[sex == g].mean()),
            unit="fraction",
            higher_is_better=True,
            n=int((sex == g).sum()),
            condition="clean",
            ci=(0.5, 1.0),
            ci_method="wilson",
            context={"group_by": "sex", "group": g},
        )
        for g in ("F", "M")
    ]
    record = job_record(
        model, "fairness", task="t", summary=task_summary("t"), description=lineage, finished="x"
    )
    return StoredJob(path=path, record=record, metrics=recs)


def test_a_group_accuracy_is_compared_paired_on_the_groups_rows(tmp_path: Path) -> None:
    """A group's accuracy is a mean of `correct` over the group's rows, which parent and
    variant share: exact McNemar on them, as per-class accuracy. It was compared through the
    two records' intervals as if unpaired ("interval_z"), which drops the pairing's power."""
    sex = np.repeat(np.array(["F", "M"]), 100)
    parent = np.ones(200, dtype=bool)
    variant = parent.copy()
    variant[:12] = False  # 12 of the 100 F rows
    jobs = [
        (MANIFEST, _group_job(tmp_path / "p", "m", parent, sex, {})),
        (
            MANIFEST,
            _group_job(
                tmp_path / "v",
                "m@int8",
                variant,
                sex,
                {"parent": "m", "variant": "int8", "size_bytes": 50, "parent_size_bytes": 200},
            ),
        ),
    ]
    (comp,) = compare_variants(jobs, configs=CONFIGS)
    rows = {d.metric: d for d in comp.deltas}
    f = rows["group_acc[group=F,group_by=sex]"]
    assert f.test == "mcnemar_exact" and np.isclose(f.p_value, mcnemar_exact(0, 12))
    assert f.ci is not None and f.ci[1] < 0
    assert rows["group_acc[group=M,group_by=sex]"].test == "mcnemar_exact"


def test_a_variant_that_predicts_one_class_everywhere_says_so(tmp_path: Path) -> None:
    """prune90 of diabetes-mlp predicts one class on every row: its demographic parity
    difference fell from 0.306 to 0.000 (p=0.02) and read as a fairer model. A constant
    predictor's disparities are 0 by construction: the comparison's first note says so."""
    sex = np.repeat(np.array(["F", "M"]), 100)
    parent = np.ones(200, dtype=bool)
    parent[::7] = False  # predicts class 1 on those rows
    variant = np.ones(200, dtype=bool)  # class 0 everywhere
    lineage = {"parent": "m", "variant": "prune90", "size_bytes": 50, "parent_size_bytes": 50}
    jobs = [
        (MANIFEST, _group_job(tmp_path / "p", "m", parent, sex, {})),
        (MANIFEST, _group_job(tmp_path / "v", "m@prune90", variant, sex, lineage)),
    ]
    (comp,) = compare_variants(jobs, configs=CONFIGS)
    assert comp.notes[0].startswith("the variant predicts one class ('0') on every one of the 200")
    assert "by construction" in comp.notes[0]
    (same,) = compare_variants(
        [(MANIFEST, _group_job(tmp_path / "p2", "m", parent, sex, {})),
         (MANIFEST, _group_job(tmp_path / "v2", "m@prune90", parent, sex, lineage))],
        configs=CONFIGS,
    )  # fmt: skip
    assert not any("one class" in n for n in same.notes)


def _attacked_job(path: Path, model: str, robust: np.ndarray, note: str | None, lineage: dict):  # noqa: ANN202
    path.mkdir()
    n = len(robust)
    attack = "attack=ensemble/norm=linf/eps=0.1"
    labels = np.zeros(2 * n, dtype=int)
    correct = np.concatenate([np.ones(n, dtype=bool), robust])
    SampleTable.build(
        {
            "sample_id": [f"s{i}" for i in range(n)] * 2,
            "condition": ["clean"] * n + [attack] * n,
            "label": labels,
            "prediction": np.where(correct, 0, 1),
            "correct": correct,
            "confidence": np.full(2 * n, 0.9),
        }
    ).write_parquet(path / "samples.parquet")
    rec = MetricRecord(
        suite="adversarial",
        metric="robust_acc",
        value=float(robust.mean()),
        unit="fraction",
        higher_is_better=True,
        n=n,
        condition=attack,
        context={"attack": "ensemble", "norm": "linf", "eps": 0.1},
        note=note,
    )
    record = job_record(
        model, "adversarial", task="t", summary=task_summary("t"), description=lineage, finished="x"
    )
    return StoredJob(path=path, record=record, metrics=[rec])


def test_an_upper_bound_attack_is_not_a_slice_against_the_white_box_one(tmp_path: Path) -> None:
    """An int8 variant's attack condition holds a decision-based attack (an upper bound), the
    parent's the white-box one: their robust accuracies are 'not compared', yet the condition
    was still a harm slice, McNemar-tested row by row and printed as the 'largest condition
    drop' (0.600 -> 0.600, drop 0.000 on digits-mlp@int8: no robustness cost, read off two
    different attacks)."""
    parent = np.arange(100) % 2 == 0
    variant = parent.copy()
    variant[:20] = False  # the upper bound below the white-box number: a different attack
    lineage = {"parent": "m", "variant": "int8", "size_bytes": 50, "parent_size_bytes": 200}
    bound = "decision-based attack: an upper bound on robust accuracy"
    jobs = [
        (MANIFEST, _attacked_job(tmp_path / "p", "m", parent, None, {})),
        (MANIFEST, _attacked_job(tmp_path / "v", "m@int8", variant, bound, lineage)),
    ]
    (comp,) = compare_variants(jobs, configs=CONFIGS)
    (row,) = comp.deltas
    assert row.test == "not compared"
    assert "condition" not in comp.worst and comp.slices_tested == 1  # the clean class slice


def _speed_job(path: Path, model: str, value: float, weights: str | None, lineage: dict):  # noqa: ANN202
    path.mkdir()
    context: dict = {"device": "cpu", "device_name": "x", "batch_size": 64, "precision": "fp32"}
    if weights:
        context["weights"] = weights
    recs = [
        MetricRecord(
            suite="throughput",
            metric=metric,
            value=v,
            unit="u",
            higher_is_better=metric == "throughput_samples_per_s",
            n=6,
            condition="clean",
            ci=(0.9 * v, 1.1 * v),
            ci_method="bootstrap",
            context=context,
        )
        for metric, v in (("throughput_samples_per_s", value), ("percent_of_peak", 10.0))
    ]
    record = job_record(
        model, "throughput", task="t", summary=task_summary("t"), description=lineage, finished="x"
    )
    return StoredJob(path=path, record=record, metrics=recs)


def test_a_half_variants_speed_is_compared_with_its_float_parents(tmp_path: Path) -> None:
    """The throughput suite keys an fp16 model's numbers with `weights=fp16`, so that they never
    share a board column with float32 models'. The variant comparison matched keys exactly, so
    an fp16 variant's speed was never compared with its parent's: `harness variants` showed
    only flops_per_sample for digits-mlp@fp16, without a word. Percent of peak stays apart (its
    peak is another precision's)."""
    lineage = {"parent": "m", "variant": "fp16", "size_bytes": 50, "parent_size_bytes": 100}
    jobs = [
        (MANIFEST, _speed_job(tmp_path / "p", "m", 1000.0, None, {})),
        (MANIFEST, _speed_job(tmp_path / "v", "m@fp16", 500.0, "fp16", lineage)),
    ]
    (comp,) = compare_variants(jobs, configs=CONFIGS)
    assert comp.status == "compared", comp.reason
    (row,) = comp.deltas
    assert row.metric.startswith("throughput_samples_per_s[") and "weights=fp16" in row.metric
    assert (row.parent_value, row.variant_value, row.delta) == (1000.0, 500.0, -500.0)


def test_a_pruned_variant_stored_dense_says_its_nonzero_share_beside_its_size() -> None:
    """A pruned model is stored dense: 'size 1.00x' alone read as a pruning that did nothing.
    The leaderboard note and the report headline give the nonzero parameters' share too."""
    from harness.analysis.variant_deltas import VariantSize

    def size(nonzero: int, parent_nonzero: int, ratio: float | None = 1.0) -> VariantSize:
        return VariantSize(
            size_bytes=400,
            parent_size_bytes=400,
            size_format="safetensors",
            parameters=100,
            parent_parameters=100,
            nonzero_parameters=nonzero,
            parent_nonzero_parameters=parent_nonzero,
            gradients=True,
            size_ratio=ratio,
        )

    assert size(50, 100).ratio_text() == "size 1.00x; nonzero parameters 0.50x"
    assert size(50, 100).ratio_text(" the parent's") == (
        "size 1.00x the parent's; nonzero parameters 0.50x the parent's"
    )
    assert size(100, 100).ratio_text() == "size 1.00x"  # nothing pruned: nothing more said
    assert size(50, 100, ratio=None).ratio_text() == ""


def test_a_half_variants_speed_gets_its_note_on_the_parents_board_column(tmp_path: Path) -> None:
    """A throughput board's first column is the float32 key; an fp16 variant's timing sits in
    its own `weights=fp16` column, so the leaderboard's variant note (the delta on the first
    column) found no delta and said nothing of a variant 5x slower than its parent on a CPU."""
    from harness.analysis.variant_deltas import board_notes

    lineage = {"parent": "m", "variant": "fp16", "size_bytes": 50, "parent_size_bytes": 100}
    parent = _speed_job(tmp_path / "p", "m", 1000.0, None, {})
    jobs = [
        (MANIFEST, parent),
        (MANIFEST, _speed_job(tmp_path / "v", "m@fp16", 200.0, "fp16", lineage)),
    ]
    first = next(m.key for m in parent.metrics if m.metric == "throughput_samples_per_s")
    (comp,) = compare_variants(jobs, metrics={first}, configs=CONFIGS)
    (row,) = comp.deltas
    assert (row.parent_value, row.variant_value, row.parent_metric) == (1000.0, 200.0, first)
    (note,) = board_notes([comp], "t", first)
    assert note.startswith(f"variant m@fp16 vs m: {first} -800.000 (95% CI ["), note
    assert "interval_z p=2.4e-53)" in note, note  # the normal tail kept (it read "< 1e-300")
    assert note.endswith(", size 0.50x"), note


def _rerun_jobs(tmp_path: Path, *, parent_again: bool) -> list[tuple[Any, Any]]:
    """A parent `m` and its variant `m@fp16` at limit 200 (run r-old), and at limit 100 (run
    r-new, other samples): the variant, and the parent too when `parent_again`."""
    lineage = {"parent": "m", "variant": "fp16"}

    def job(run: Any, folder: str, model: str, size: int, when: str) -> tuple[Any, Any]:
        labels = np.repeat(np.arange(5), size // 5)
        kept = lineage if "@" in model else {}
        made = _job(
            tmp_path / folder,
            model,
            np.ones(size, dtype=bool),
            labels,
            kept,
            finished=when,
            fingerprint="a" if when == "1" else "b",
        )
        return run, made

    old, new = run_manifest("r-old", []), run_manifest("r-new", [])
    jobs = [job(old, "p1", "m", 200, "1"), job(old, "v1", "m@fp16", 200, "1")]
    if parent_again:
        jobs.append(job(new, "p2", "m", 100, "2"))
    return [*jobs, job(new, "v2", "m@fp16", 100, "2")]


def test_a_variant_and_parent_run_again_on_other_samples_are_compared_once(
    tmp_path: Path,
) -> None:
    """A folder holding a parent and its variant at limit 200 and again at limit 100 (two
    runs, other samples) listed every accuracy metric twice in one comparison, n=200 and
    n=100 rows side by side without a run to tell them apart, and Holm over both (p doubled).
    The newest pair is compared, as the leaderboard shows the newest jobs; the older one is
    named in a note."""
    (comp,) = compare_variants(_rerun_jobs(tmp_path, parent_again=True), configs=CONFIGS)
    top1 = [d for d in comp.deltas if d.metric == "top1_acc"]
    assert [d.n for d in top1] == [100], comp.deltas
    assert any("run r-old" in n and "not compared" in n for n in comp.notes), comp.notes


def test_a_newer_variant_job_without_its_parent_leaves_the_older_pair_said_so(
    tmp_path: Path,
) -> None:
    """`harness run --models m@fp16 --limit 100` into a folder with both at limit 200: the
    older pair was compared under a note "accuracy: not compared: ... other samples", which
    read as if the accuracy rows shown were not there; the note says which job is left out."""
    (comp,) = compare_variants(_rerun_jobs(tmp_path, parent_again=False), configs=CONFIGS)
    assert comp.status == "compared"
    assert [d.n for d in comp.deltas if d.metric == "top1_acc"] == [200]
    assert not any(n.startswith("accuracy: not compared:") for n in comp.notes), comp.notes
    assert (
        "accuracy: compared on the jobs of run r-old; the variant's newer job of run r-new is "
        "not compared: the accuracy results of parent 'm' on task 't' are on other samples "
        "(another limit, split or data): run the parent and its variant together"
    ) in comp.notes, comp.notes


def test_a_randomised_parent_says_its_deltas_compare_draws(tmp_path: Path) -> None:
    """A parent whose forward pass adds noise: `{prune: 0.0}` (the same model) read top1_acc
    +0.040, nll -0.103 against it with no word, while the leaderboard gave the jobs' caveat
    that each number is one draw."""
    labels = np.repeat(np.arange(5), 20)
    ones = np.ones(100, dtype=bool)
    caveat = (
        "caveat: model 'm' is randomised: passed the same 32 first inputs of task 't' twice, "
        "it returned different logits for 32 of them"
    )
    parent = _job(tmp_path / "p", "m", ones, labels, {}, notes=(caveat,))
    lineage = {"parent": "m", "variant": "fp16"}
    variant = _job(tmp_path / "v", "m@fp16", ones, labels, lineage)
    (comp,) = compare_variants([(MANIFEST, parent), (MANIFEST, variant)], configs=CONFIGS)
    assert (
        "accuracy: the job of parent 'm' says the model is randomised: each delta compares one "
        "draw of each model, and two draws of the same model differ too"
    ) in comp.notes, comp.notes
