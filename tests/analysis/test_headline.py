"""The headline board (harness.analysis.headline) and the caveats it ranks by
(harness.analysis.caveats): which columns, who is best, what is never ranked, failed jobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.analysis.caveats import caveats, excluded, flag_reason, is_upper_bound
from harness.analysis.headline import headline_board, majority_share, read_outcomes
from harness.analysis.leaderboard import build_boards
from harness.core.manifest import JobStatus
from harness.core.metric_record import MetricRecord
from harness.core.suite_board import suite_configs
from harness.core.threat_model import ThreatModel
from harness.run.suite_boards import installed_suite_boards
from tests.present.synthetic import FAILED_MESSAGE, FORMULA, HOSTILE, write_synthetic_run

CONFIGS = suite_configs(installed_suite_boards())

MODELS = {"good-model": 0.9, HOSTILE: 0.6, FORMULA: 0.88, "bound-model": 0.85}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("headline") / "res"
    write_synthetic_run(root, models=MODELS, flag_model="good-model", extras=True)
    return root


def _rec(metric: str = "robust_acc", value: float | None = 0.5, **kw: object) -> MetricRecord:
    fields: dict = {"suite": "s", "unit": "fraction", "higher_is_better": True, "n": 100}
    fields.update(ci=(0.4, 0.6))
    fields.update(kw)
    return MetricRecord(metric=metric, value=value, **fields)


def test_caveats_in_words() -> None:
    bound = _rec(note="decision-based attack: an upper bound on robust accuracy")
    assert is_upper_bound(bound) and [c.kind for c in caveats(bound)] == ["upper_bound"]
    assert caveats(bound)[0].reason.startswith("decision-based attack")
    flagged = _rec(flags=("gradient_masking_suspected", "new_flag"))
    assert [c.short for c in caveats(flagged)] == ["unreliable", "unreliable"]
    assert "robust accuracy may be overestimated" in caveats(flagged)[0].reason
    assert flag_reason("new_flag") == "new flag"
    assert flag_reason("x_y", {"x_y": "described by the suite"}) == "x y: described by the suite"
    # a flag without words of its own is explained by the record's note, as on the leaderboard
    timing = _rec(
        "throughput_samples_per_s",
        flags=("unstable_timing",),
        note="timing unstable: the rounds vary by 19% (coefficient of variation; limit 10%)",
    )
    (unstable,) = caveats(timing)
    assert unstable.reason == timing.note  # the note names the flag: said once, with the number
    masked = _rec(flags=("gradient_masking_suspected",), note="preset fast (CI loops)")
    assert caveats(masked)[0].reason.endswith("robust accuracy may be overestimated")
    two = caveats(_rec(flags=("a_flag", "b_flag"), note="why"))
    assert [c.reason for c in two] == ["a flag: why", "b flag"]  # the note once
    chance = _rec("ood_auroc", 0.34, ci=None, context={"score": "msp"})
    kinds = [c.kind for c in caveats(chance)]
    assert kinds == ["below_chance", "no_interval"] and not excluded(chance)
    assert "below chance" in caveats(chance)[0].reason and "msp" in caveats(chance)[0].reason
    # too few samples (or distinct inputs) for the suite to call it: no verdict from the value
    few = _rec("ood_auroc", 0.34, ci=None, context={"score": "msp"}, note="no interval: x")
    assert [c.kind for c in caveats(few)] == ["no_interval"]
    said = _rec("ood_auroc", 0.34, ci=None, note="no interval: x; below chance: to msp ...")
    assert [c.kind for c in caveats(said)] == ["below_chance", "no_interval"]
    assert caveats(_rec("ood_auroc", 0.5)) == ()
    assert [c.kind for c in caveats(_rec(value=None, ci=None))] == ["undefined"]
    assert excluded(None) and excluded(bound) and excluded(flagged) and not excluded(_rec())


def test_headline_columns_and_cells(results: Path) -> None:
    (board,) = build_boards(results, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(results))
    assert [c.id for c in head.columns] == [
        "top1_acc",
        "ece",
        "robust_acc",
        "mean_corruption_acc",
        "worst_group_acc",
        "throughput",
    ]
    robust = head.columns[2]
    # no headline threat model stored: the largest budget of the first norm, said so; the label
    # names it, since a verdict line ("robust accuracy at L-inf 0.1: best ...") shows the label
    assert robust.threat is None and robust.label == "robust accuracy at L-inf 0.1"
    assert robust.detail == (
        "linf_pgd, L-inf 0.1: the largest budget run (the task declares no headline threat model)"
    )
    assert [r.model for r in head.rows] == [r.model for r in board.rows]
    for row in head.rows:
        for cell in row.cells:
            assert cell.record is not None or cell.missing


def test_upper_bounds_and_flags_are_never_best(results: Path) -> None:
    (board,) = build_boards(results, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(results))
    col = [c.id for c in head.columns].index("robust_acc")
    cells = {r.model: r.cells[col] for r in head.rows}
    # the upper bound and the flagged number are the two highest robust accuracies
    assert cells["bound-model"].rank is None and not cells["bound-model"].best
    assert cells["good-model"].rank is None and not cells["good-model"].best
    assert {c.kind for c in cells["bound-model"].caveats} == {"upper_bound"}
    verdict = head.verdicts[col]
    best = [m for m, _r in verdict.best]
    assert best[0] == FORMULA and not {"bound-model", "good-model"} & set(best)
    assert ("bound-model", "upper bound") in [item[:2] for item in verdict.excluded]
    assert ("good-model", "UNRELIABLE(gradient_masking_suspected)") in [
        item[:2] for item in verdict.excluded
    ]


def test_failed_job_reason_on_the_board(results: Path) -> None:
    outcomes = read_outcomes(results)
    failed = outcomes[("good-model", "digits", "fairness")]
    assert failed.status == JobStatus.FAILED
    assert failed.reason == FAILED_MESSAGE.splitlines()[0]  # one line, no traceback
    (board,) = build_boards(results, suite_boards=installed_suite_boards())
    head = headline_board(board, outcomes)
    col = [c.id for c in head.columns].index("worst_group_acc")
    cell = next(r.cells[col] for r in head.rows if r.model == "good-model")
    assert cell.record is None and cell.missing == f"failed: {failed.reason}"


def test_ties_are_shared_and_all_tied_is_said(results: Path) -> None:
    (board,) = build_boards(results, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(results))
    ece = head.columns[1]  # every model has ECE 0.05 [0, 0.1]: nobody is ahead
    assert ece.all_tied and "MOVER from the 95% intervals" in ece.method
    assert all(r.cells[1].rank == 1 for r in head.rows)
    clean = head.columns[0]
    assert not clean.all_tied and "McNemar" in clean.method
    assert head.rows[-1].cells[0].rank != 1  # the 0.6 model is significantly behind


def test_comparison_says_how_the_board_decided(results: Path) -> None:
    """The stars and a comparison page test the same number with the same p-value; the page
    names the board's family and says so when the adjustments make the verdicts differ."""
    from harness.analysis.model_comparison import board_families, compare_models
    from harness.store.run_store import load_jobs

    (board,) = build_boards(results, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(results))
    comp = compare_models(
        load_jobs(results), task=board.task, a=FORMULA, b="bound-model", configs=CONFIGS
    )
    board_families(comp, [head])
    top1 = next(d for d in comp.diffs if d.key == "top1_acc")
    assert top1.board.startswith("headline board (clean accuracy)")
    shift = next(d for d in comp.diffs if d.key == "mean_corruption_acc")
    at = [c.id for c in head.columns].index("mean_corruption_acc")
    step = [c for c in head.rankings[at].comparisons if {c[0], c[1]} == {FORMULA, "bound-model"}]
    assert step and "Holm over the 3 models tested against the step's leader" in shift.board
    assert step[0][2].p_value == pytest.approx(shift.p_value)  # the same test and draws
    for d in comp.diffs:
        tested = "Holm over the" in d.board  # tested against each other in a step
        if tested and ("): apart" in d.board) != bool(d.better):
            assert "the two verdicts differ" in d.board


LINF_05 = ThreatModel(norm="linf", eps=0.05)
L2_05 = ThreatModel(norm="l2", eps=0.5)


def test_robust_columns_follow_the_stored_headline(tmp_path: Path) -> None:
    """One robust column per headline threat model the jobs stored, named by it; a threat
    model the run did not attack has a column whose cells say so, with the budgets run."""
    root = tmp_path / "res"
    write_synthetic_run(root, models={"a": 0.9, "b": 0.5}, headline=(LINF_05, L2_05))
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    assert board.headline == (LINF_05, L2_05)
    head = headline_board(board, read_outcomes(root))
    robust = [c for c in head.columns if c.id == "robust_acc"]
    assert [c.label for c in robust] == [
        "robust accuracy at L-inf 0.05",
        "robust accuracy at L2 0.5",
    ]
    assert [c.threat for c in robust] == [LINF_05, L2_05]
    at = head.columns.index(robust[0])
    for row in head.rows:
        record = row.cells[at].record
        assert record is not None and record.context["eps"] == 0.05
    missing = head.rows[0].cells[head.columns.index(robust[1])]
    assert missing.record is None
    assert missing.missing == "not attacked at L2 0.5 (budgets run: L-inf 0.05, L-inf 0.1)"
    verdict = head.verdicts[at]
    assert verdict.best[0][0] == "a" and verdict.runner_up is not None
    assert verdict.runner_up[0] == "b"
    assert verdict.versus is not None and verdict.versus.test == "mcnemar_exact"
    assert verdict.versus_p is not None and verdict.versus_p < 0.05


def test_a_column_where_every_model_is_at_chance_says_so(tmp_path: Path) -> None:
    """Robust accuracy far below the most common class's share: at chance; clean is not."""
    root = tmp_path / "res"
    write_synthetic_run(
        root, models={"a": 0.2, "b": 0.15}, headline=(ThreatModel(norm="linf", eps=0.1),)
    )
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(root))
    robust = next(c for c in head.columns if c.id == "robust_acc")
    clean = head.columns[0]
    assert robust.chance is not None and 0.1 <= robust.chance < 0.2  # ten classes, 200 samples
    assert robust.at_chance  # 0.2 x 0.3 = 0.06 expected: below the largest class share
    assert clean.chance is not None and not clean.at_chance


def test_majority_share_counts_each_sample_once() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "sample_id": ["a", "b", "c", "a", "b", "c"],
            "condition": ["clean"] * 3 + ["x"] * 3,
            "label": [0, 0, 1, 0, 0, 1],
        }
    )
    assert majority_share(frame, "clean") == pytest.approx(2 / 3)
    assert majority_share(frame, "missing") == pytest.approx(2 / 3)  # every sample
    assert majority_share(frame.assign(label=-1), "clean") is None  # unlabeled


def test_a_worst_group_cell_names_its_group_and_that_groups_n(tmp_path: Path) -> None:
    """worst_group_acc's n counts every group's samples (177 on diabetes) while its value is one
    group's (34 of 49): the cell names the group and its n, beside the grouping."""
    from harness.store.run_store import RunStore
    from tests.store.records import job_entry, job_record, run_manifest

    store = RunStore.open_for_writing(tmp_path / "res", "fair-1")
    entries = []
    for model, worst in (("a", "<40"), ("b", "60+")):
        sizes = {"<40": 49, "60+": 34}
        accs = {g: (0.6 if g == worst else 0.8) for g in sizes}

        def rec(metric: str, value: float, n: int, **context: str) -> MetricRecord:
            return MetricRecord(
                suite="fairness", metric=metric, value=value, unit="fraction",
                higher_is_better=True, n=n, ci=(value - 0.1, value + 0.1), condition="clean",
                headline=metric == "worst_group_acc", context=dict(context),
            )  # fmt: skip

        metrics = [rec("worst_group_acc", 0.6, 83, group_by="age_band")]
        metrics += [
            rec("group_acc", accs[g], n, group_by="age_band", group=g) for g, n in sizes.items()
        ]
        record = job_record(model, "fairness", run_id="fair-1")
        path = store.write_job(record=record, table=None, metrics=metrics, artifacts={})
        entries.append(job_entry(record, path.name))
    store.write_manifest(run_manifest("fair-1", entries))
    (board,) = build_boards(tmp_path / "res", suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(tmp_path / "res"))
    at = next(i for i, c in enumerate(head.columns) if c.id == "worst_group_acc")
    details = {row.model: row.cells[at].detail for row in head.rows}
    assert details == {"a": "by age_band, group <40 (n=49)", "b": "by age_band, group 60+ (n=34)"}


def test_a_model_at_chance_is_never_best_on_calibration(tmp_path: Path) -> None:
    """A constant guess (confidence 0.1, accuracy about 0.1 on ten classes) has an ECE near 0:
    no merit. Ranked only among models above chance; its cell and the verdict say why."""
    root = tmp_path / "res"
    write_synthetic_run(
        root, models={"good": 0.9, "guess": 0.1, "fair": 0.7}, confidence={"guess": 0.1}
    )
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(root))
    clean = head.columns[0]
    at = next(i for i, c in enumerate(head.columns) if c.id == "ece")
    cells = {row.model: row.cells for row in head.rows}
    assert clean.chance is not None and cells["guess"][0].record.value <= clean.chance
    guess = cells["guess"][at]
    assert guess.record is not None and guess.record.value < 0.05  # the smallest ECE
    assert guess.rank is None and not guess.best
    (caveat,) = [c for c in guess.caveats if c.kind == "at_chance"]
    assert caveat.excludes and "chance" in caveat.reason and "clean accuracy" in caveat.reason
    assert cells["good"][at].rank is not None and cells["fair"][at].rank is not None
    verdict = head.verdicts[at]
    assert [m for m, _ in verdict.best] != ["guess"] and verdict.ranked == 2
    assert [(m, why) for m, why, _ in verdict.excluded] == [("guess", "model at chance")]


def test_a_model_not_shown_above_chance_is_not_ranked_on_calibration(tmp_path: Path) -> None:
    """Clean accuracy 0.150 [0.100, 0.200] against chance 0.125: above chance by its point
    estimate only, so its small ECE was ranked (and could be starred). Its interval reaches
    chance: it is left out, and the caveat shows the interval."""
    root = tmp_path / "res"
    write_synthetic_run(
        root, models={"good": 0.9, "barely": 0.12, "fair": 0.7}, confidence={"barely": 0.15}
    )
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(root))
    chance = head.columns[0].chance
    at = next(i for i, c in enumerate(head.columns) if c.id == "ece")
    cells = {row.model: row.cells for row in head.rows}
    clean = cells["barely"][0].record
    assert chance is not None and clean is not None and clean.ci is not None
    assert clean.value is not None and clean.ci[0] < chance < clean.value
    barely = cells["barely"][at]
    assert barely.rank is None and not barely.best
    (caveat,) = [c for c in barely.caveats if c.kind == "at_chance"]
    assert "0.150 [0.100, 0.200] is not shown above chance" in caveat.reason
    assert f"reaches {chance:.3f}" in caveat.reason
    assert [(m, why) for m, why, _ in head.verdicts[at].excluded] == [("barely", "model at chance")]
    assert cells["fair"][at].rank is not None and cells["good"][at].rank is not None
