"""Stored adversarial texts become highlighted pieces; bad spans never mis-mark a text."""

from __future__ import annotations

from harness.analysis.text_examples import TextPiece, pieces, text_examples


def test_pieces_mark_the_spans() -> None:
    got = pieces("a gxod film", [[2, 6]])
    assert got == (TextPiece("a ", False), TextPiece("gxod", True), TextPiece(" film", False))
    assert "".join(p.text for p in got) == "a gxod film"
    assert pieces("ab", [[0, 1], [1, 2]]) == (TextPiece("a", True), TextPiece("b", True))


def test_spans_that_do_not_fit_leave_the_text_unmarked() -> None:
    for bad in ([[5, 2]], [[0, 99]], [[3, 4], [0, 1]], "x", [[0, "1"]], None):
        assert pieces("a good film", bad) == (TextPiece("a good film", False),)


def test_text_examples_read_the_artifact() -> None:
    art = {
        "text_examples": [
            {
                "threat": "char",
                "condition": "attack=ensemble/threat=char/words=0.2/edits=1",
                "attack": "char_greedy",
                "sample_id": "rt-1",
                "original": "a good film",
                "adversarial": "a gxod film",
                "original_spans": [[2, 6]],
                "adversarial_spans": [[2, 6]],
                "label": "fresh",
                "adversarial_prediction": "rotten",
                "clean_confidence": 0.9,
                "adversarial_confidence": 0.6,
                "words_changed": 1,
                "chars_changed": 1,
            },
            "not a dict",
            {"original": 3},
        ]
    }
    (ex,) = text_examples(art)
    assert ex.prediction == "rotten" and ex.words_changed == 1
    assert [p.text for p in ex.adversarial if p.edited] == ["gxod"]
    assert text_examples({}) == [] and text_examples({"text_examples": "x"}) == []
