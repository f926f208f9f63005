"""The headline verdict in words (terminal and Markdown)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.analysis.headline import headline_board, read_outcomes
from harness.analysis.leaderboard import build_boards
from harness.core.board_notes import settings_note
from harness.core.threat_model import ThreatModel
from harness.present.headline_view import (
    HeadlineView,
    Link,
    VerdictView,
    headline_view,
    verdict_sentence,
    versus_text,
)
from harness.present.run_end_view import run_end_text
from harness.present.summary import summary_markdown
from harness.run.suite_boards import installed_suite_boards
from harness.suites.adversarial.board import MIXED_SCALES, SMALL_BUDGETS
from tests.present.synthetic import write_synthetic_run


def test_no_comparable_number_says_what_was_left_out_and_why() -> None:
    """A board whose only model was attacked black-box (an upper bound) has no comparable number:
    the sentence says which model was left out and why, not only 'no comparable numbers'."""
    left = "lr: upper bound, not ranked"
    empty = VerdictView("robust accuracy", "L-inf 0.1", None, "", [], "", left)
    assert verdict_sentence(empty) == f"robust accuracy: no comparable numbers (left out: {left})"
    bare = VerdictView("robust accuracy", "", None, "", [], "", "")
    assert verdict_sentence(bare) == "robust accuracy: no comparable numbers"
    best = VerdictView("clean accuracy", "", Link("a", "a.html"), "0.9", [], "tie", left)
    assert verdict_sentence(best).endswith(f". Left out: {left}")


def test_a_column_at_or_below_chance_stars_no_model(tmp_path: Path) -> None:
    """Every model's robust accuracy is at or below chance: the verdict says nobody is robust
    there, so no cell may carry the ★ that reads "best in the column", and the column's header
    (HTML and Markdown) says why none is starred."""
    root = tmp_path / "res"
    write_synthetic_run(
        root, models={"a": 0.33, "b": 0.1}, headline=(ThreatModel(norm="linf", eps=0.1),)
    )
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(root))
    at = next(i for i, c in enumerate(head.columns) if c.id == "robust_acc")
    assert head.columns[at].at_chance  # 0.120 and 0.050, chance 0.140
    assert head.rankings[at].ranks == {"a": 1, "b": 2}  # significantly apart, yet at chance
    view = headline_view(head)
    assert not any(row.cells[at].best for row in view.rows)
    assert view.columns[at].chance.startswith("all at or below chance (0.")
    summary = summary_markdown([head])
    robust_row = [line for line in summary.splitlines() if line.startswith("| a |")][0]
    assert "★" not in robust_row.split(" | ")[at + 1]
    assert "all at or below chance (0." in summary
    clean = head.columns.index(next(c for c in head.columns if c.id == "top1_acc"))
    assert any(row.cells[clean].best for row in view.rows)  # other columns keep their stars


def test_a_one_model_board_stars_no_cell(tmp_path: Path) -> None:
    """The ★ reads "best in the column, or not significantly different from the best": with one
    ranked number there is nothing to compare, and a lone model starred in every column read as
    a winner."""
    root = tmp_path / "res"
    write_synthetic_run(root, models={"a": 0.9}, headline=(ThreatModel(norm="linf", eps=0.1),))
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(root))
    assert any(r.ranks == {"a": 1} for r in head.rankings)  # ranked, alone
    view = headline_view(head)
    assert not any(cell.best for row in view.rows for cell in row.cells)
    rows = [line for line in summary_markdown([head]).splitlines() if line.startswith("| a |")]
    assert rows and not any("★" in line for line in rows)


def test_a_debiased_difference_says_so_in_the_verdict() -> None:
    """ECE is ranked on its debiased form: two models shown at 0.009 and 0.009 differ by +0.003
    in debiased ECE (quickstart digits). Unlabelled, '+0.003' contradicts the numbers shown."""
    from harness.analysis.headline import HeadlineColumn, Verdict
    from harness.analysis.paired_tests import PairedResult

    column = HeadlineColumn("ece", "calibration error (ECE)", "", "fraction", False, "accuracy")
    result = PairedResult(
        "paired_resample", 719, 0.0034, 0.41, "x", ci=(-0.005, 0.012), statistic="debiased ECE"
    )
    verdict = Verdict(column, [], [], ranked=5, versus=result, versus_p=0.82)
    assert versus_text(verdict) == (
        "+0.003 in debiased ECE, paired resampling of the debiased ECE, Holm-adjusted p = 0.820: "
        "not significant"
    )
    plain = replace(result, test="paired_sign_flip", statistic="")
    assert versus_text(replace(verdict, versus=plain)).startswith("+0.003, paired sign-flip test, ")


def test_a_headline_cell_shows_its_records_note_once() -> None:
    """The leaderboard daggers every record note; the report's headline cell kept it in a
    tooltip, so a robust accuracy from `preset fast` (which may sit above AutoAttack's) read as
    a plain number in the published report. A note no caveat already says is a `note` badge."""
    from harness.analysis.caveats import caveats
    from harness.present.cell_view import Footnotes, record_cell
    from tests.present.synthetic import _rec

    fast = "preset fast (CI loops): fewer iterations and queries than AutoAttack"
    record = _rec("adversarial", "robust_acc", 0.6, note=fast)
    notes = Footnotes()
    cell = record_cell(record, "p.html", notes, show_note=True)
    assert [(b.kind, b.text) for b in cell.badges] == [("note", "note")]
    assert notes.items == [fast]
    assert record_cell(record, "p.html", Footnotes()).badges == ()  # other tables: tooltip
    bound = _rec("adversarial", "robust_acc", 0.6, note="black-box attacks only: an upper bound")
    kinds = [b.kind for b in record_cell(bound, "p.html", Footnotes(), show_note=True).badges]
    assert kinds == [c.kind for c in caveats(bound)] == ["upper_bound"]  # said once


def test_summary_says_what_the_page_says_under_columns_and_in_cells() -> None:
    """summary.md's board says what the index's board says: the grouping a worst-group number is
    of (quickstart diabetes: one model's worst group is by age_band, the other's by sex), and
    "no significant differences" under a column that stars nobody because nobody is ahead (a
    column without a star read as if stars had been left out)."""
    from harness.present.cell_view import CellView
    from harness.present.headline_view import ColumnHead, HeadlineView, HeadRow
    from harness.present.summary import _board

    def cell(text: str, detail: str = "") -> CellView:
        return CellView(text, "[0.5, 0.8]", "n=177", "p.html#j", "", text, detail=detail)

    view = HeadlineView(
        task=Link("diabetes", "task-diabetes.html"),
        title="diabetes",
        n="n = 177",
        columns=[
            ColumnHead("clean accuracy", "", "↑", "higher is better", "mcnemar", True),
            ColumnHead("worst-group accuracy", "lowest over sex, age_band", "↑", "", "mover", True),
        ],
        rows=[
            HeadRow(Link("mlp", "m.html"), [cell("0.729"), cell("0.694", "by age_band")]),
            HeadRow(Link("logreg", "l.html"), [cell("0.712"), cell("0.688", "by sex")]),
        ],
        verdicts=[],
        more_verdicts=[],
        footnotes=[],
        method="",
    )
    text = "\n".join(_board(view, None))
    assert "| 0.694 \\[0.5, 0.8\\] n=177 by age_band |" in text
    assert "| 0.688 \\[0.5, 0.8\\] n=177 by sex |" in text
    under = next(line for line in text.splitlines() if line.startswith("> "))
    assert "clean accuracy: no significant differences" in under
    assert "worst-group accuracy: lowest over sex, age_band; no significant differences" in under


def test_clean_accuracy_at_chance_does_not_speak_of_attacks() -> None:
    """A clean accuracy at or below chance (diabetes at --limit 5: both models 0.600 = the
    majority share) said chance was what "no attack can lower": nothing attacks clean data."""
    from harness.analysis.headline import HeadlineColumn
    from harness.present.headline_view import chance_text

    clean = HeadlineColumn("top1_acc", "clean accuracy", "", "fraction", True, "accuracy")
    clean = replace(clean, chance=0.6, at_chance=True, chance_metric=True)
    assert chance_text(clean).endswith("what always predicting the most common class scores)")
    robust = replace(clean, id="robust_acc", threat=ThreatModel(norm="linf", eps=0.1))
    assert chance_text(robust).endswith("which no attack can lower)")


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_the_page_legend_names_every_reason_a_cell_is_not_starred(tmp_path: Path) -> None:
    """summary.md's legend said the calibration error of a model at chance is never starred;
    index.html's legend, above the same board, did not, so an unstarred lowest ECE there read
    as a tie or an oversight."""
    from harness.present.api_report import report

    root = tmp_path / "res"
    write_synthetic_run(root, models={"a": 0.9})
    written = report(root, tmp_path / "site", suite_boards=installed_suite_boards())
    legend_html = (tmp_path / "site" / "index.html").read_text().split('class="legend"')[1]
    legend_html = legend_html.split("</p>")[0]
    rule = "calibration error of a model whose clean accuracy is not shown above chance"
    assert rule in legend_html
    assert rule in written.summary.read_text()


def _synthetic_view(root: Path, **run: Any) -> HeadlineView:
    """The headline view of a synthetic run written to `root` (`write_synthetic_run(**run)`)."""
    write_synthetic_run(root, **run)
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    return headline_view(headline_board(board, read_outcomes(root)))


def _index_page(root: Path, site: Path) -> str:
    """The index.html of the report of `root` written to `site`."""
    from harness.present.api_report import report

    report(root, site, suite_boards=installed_suite_boards())
    return (site / "index.html").read_text()


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_a_best_number_whose_interval_reaches_chance_says_so(tmp_path: Path) -> None:
    """A lone weak model read 'clean accuracy: best barely 0.150 [0.100, 0.200] — the only
    comparable number' against chance 0.125, with no word that chance could have given it
    (its calibration cell already says its accuracy is not shown above chance)."""
    root = tmp_path / "res"
    write_synthetic_run(root, models={"barely": 0.15})
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(root))
    view = headline_view(head)
    (clean,) = [v for v in view.verdicts if v.label == "clean accuracy"]
    sentence = verdict_sentence(clean)
    assert sentence.startswith("clean accuracy: best barely 0.150 [0.100, 0.200]")
    assert "the only comparable number; its 95% interval reaches chance (0.125" in sentence
    assert "its 95% interval reaches chance (0.125" in summary_markdown([head])
    page = _index_page(root, tmp_path / "site")
    assert "the only comparable number; its 95% interval reaches chance (0.125" in page
    # two weak models within noise of each other: the sentence says it of the leader too
    view = _synthetic_view(tmp_path / "pair", models={"barely": 0.15, "also": 0.16})
    (clean,) = [v for v in view.verdicts if v.label == "clean accuracy"]
    assert clean.all_tied
    assert "within noise of each other" in verdict_sentence(clean)
    assert "; its 95% interval reaches chance (0.1" in verdict_sentence(clean)
    # a best number clear of chance says nothing of it
    view = _synthetic_view(tmp_path / "strong", models={"good": 0.9})
    assert all("chance" not in verdict_sentence(v) for v in view.verdicts)


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_a_budget_the_features_make_meaningless_is_said_with_the_robust_verdict(
    tmp_path: Path,
) -> None:
    """A tabular task in raw units (breast cancer: feature spreads from 0.003 to 600) made every
    model's robust accuracy at the default budgets a measure of the budget, and the adversarial
    job said so in a note the leaderboard showed; the first screen, summary.md and index.html
    ranked the numbers without a word of it. The suite's caveat notes now follow the robust
    verdict (naming the models whose jobs carry one when not all do); its other notes, and
    notes of other suites, do not."""
    mixed = settings_note(f"{MIXED_SCALES} for the features of task 'digits', use feature_range")
    small = settings_note(f"{SMALL_BUDGETS} task 'digits''s features: the largest eps is tiny")
    root = tmp_path / "res"
    write_synthetic_run(
        root,
        models={"a": 0.9, "b": 0.8},
        notes={
            ("a", "adversarial"): (mixed, small, settings_note("4 budget(s) per model")),
            ("b", "adversarial"): (mixed,),
            ("a", "shift"): (settings_note(f"{MIXED_SCALES} of something else"),),
        },
    )
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(root))
    view = headline_view(head)
    (robust,) = [v for v in view.verdicts if v.label.startswith("robust accuracy")]
    expected = (
        f"{MIXED_SCALES} for the features of task 'digits', use feature_range",
        f"{SMALL_BUDGETS} task 'digits''s features: the largest eps is tiny (a)",
    )
    assert robust.caveats == expected
    sentence = verdict_sentence(robust)
    assert sentence.endswith(f". Caveat: {expected[0]}. Caveat: {expected[1]}"), sentence
    others = [v for v in [*view.verdicts, *view.more_verdicts] if v is not robust]
    assert others and all(not v.caveats and "Caveat" not in verdict_sentence(v) for v in others)
    assert "4 budget(s)" not in sentence
    run_end = run_end_text([head], run_dir=str(root), width=None)
    assert f"Caveat: {expected[0]}" in run_end
    assert f"Caveat: {expected[1]}" in summary_markdown([head])
    page = _index_page(root, tmp_path / "site")
    assert "Caveat: budgets in input units mean different things for the features of task" in page
    # without such notes, no caveat
    view = _synthetic_view(tmp_path / "plain", models={"a": 0.9, "b": 0.8})
    assert all("Caveat" not in verdict_sentence(v) for v in view.verdicts)


def test_a_headline_column_with_a_unit_names_it(tmp_path: Path) -> None:
    """The report's index and summary.md showed throughput as "31.7k" and "1.00M" under
    "throughput ↑ / cpu (AMD EPYC), batch 64": no word that these are samples per second (the
    leaderboard's column is throughput_samples_per_s, its legend says samples/s)."""
    root = tmp_path / "res"
    write_synthetic_run(root, models={"a": 0.9, "b": 0.8})
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(root))
    view = headline_view(head)
    by_label = {c.label: c for c in view.columns}
    assert by_label["throughput"].detail.startswith("samples/s, ")
    assert "throughput: samples/s, " in summary_markdown([head])
    assert not by_label["clean accuracy"].detail.startswith("fraction")  # no unit for fractions


def test_a_report_cell_gives_its_estimate_the_decimals_of_its_widened_interval() -> None:
    """ECE 0.11920 with (0.11915, 0.11926) on 50,000 texts: the report's cell read "0.119" over
    "[0.1191, 0.1193]", an estimate below its own interval."""
    from dataclasses import replace

    from harness.present.cell_view import Footnotes, record_cell
    from tests.present.synthetic import _rec

    record = replace(_rec("accuracy", "ece", 0.1192029), ci=(0.1191486, 0.1192572))
    cell = record_cell(record, "p.html", Footnotes())
    assert (cell.text, cell.ci) == ("0.1192", "[0.1191, 0.1193]")


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_a_runner_up_sharing_the_best_rank_is_named_once(tmp_path: Path) -> None:
    """The quickstart's first screen read "best digits-cnn-adv 0.996 [...], with digits-cnn — the
    difference is not significant, so they share the best rank; next digits-cnn 0.987 [...],
    difference +0.008, ...: not significant": the model that shares the rank named twice, as if
    it were also the next one. It is named once, with its number and the test."""
    root = tmp_path / "res"
    write_synthetic_run(root, models={"top": 0.9, "close": 0.88, "far": 0.3})
    (board,) = build_boards(root, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(root))
    (clean,) = [v for v in headline_view(head).verdicts if v.label == "clean accuracy"]
    assert clean.leader is not None and clean.runner_up is not None and not clean.all_tied
    leader, other = clean.leader.text, clean.runner_up.text
    assert [t.text for t in clean.tied] == [other] and {leader, other} == {"top", "close"}
    sentence = verdict_sentence(clean)
    assert sentence.startswith(f"clean accuracy: best {leader} 0."), sentence
    assert f", sharing the best rank with {other} {clean.runner_up_value} (difference +" in sentence
    assert sentence.count(other) == 1 and "next" not in sentence
    assert sentence.endswith("not significant)")
    page = _index_page(root, tmp_path / "site")
    assert (
        "sharing the best rank with <a" in page
        and "; next <a href" not in page.split("clean accuracy")[1].split("</li>")[0]
    )
