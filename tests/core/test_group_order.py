"""Group values in display order: bands by their numeric bounds, everywhere (core.group_order)."""

from __future__ import annotations

from harness.core.group_order import value_order


def test_bands_follow_their_numeric_bounds_not_their_text() -> None:
    bands = ["45+", "18-30", "5-18", "30-45"]
    assert sorted(bands) == ["18-30", "30-45", "45+", "5-18"]  # text order: wrong
    assert value_order(bands) == ["5-18", "18-30", "30-45", "45+"]
    # a stored summary keeps its label keys sorted: the numbers still decide
    assert value_order(bands, declared=sorted(bands)) == ["5-18", "18-30", "30-45", "45+"]
    assert value_order(["<40", "60+", "40-49"]) == ["<40", "40-49", "60+"]
    assert value_order(["[10, 20)", "[2, 10)"]) == ["[2, 10)", "[10, 20)"]


def test_values_without_numbers_keep_the_declared_order_then_text() -> None:
    assert value_order(["x", "y", "z"], declared=["z", "x"]) == ["z", "x", "y"]
    assert value_order(["b", "10", "2", "a"]) == ["2", "10", "a", "b"]
