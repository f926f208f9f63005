"""The headline verdict in words (terminal and Markdown)."""

from __future__ import annotations

from harness.present.headline_view import Link, VerdictView, verdict_sentence


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
