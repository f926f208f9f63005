"""How the report writes numbers: by unit, short, never NaN or a signed zero."""

from __future__ import annotations

from harness.present.number_format import interval_text, p_text, signed_text, value_text


def test_values_by_unit() -> None:
    assert value_text(0.98123, "fraction") == "0.981"
    assert value_text(-0.00001, "fraction") == "0.000"  # no "-0.000"
    assert value_text(550765.5, "samples/s") == "551k" and value_text(1.47e6, "") == "1.47M"
    assert value_text(12.34, "ms") == "12.3" and value_text(0.0002634, "TFLOP/s") == "0.000263"
    assert value_text(None) == "undefined" and value_text(float("nan")) == "undefined"
    assert interval_text((849191.0, 889890.0), "samples/s") == "[849k, 890k]"
    assert interval_text(None) == ""


def test_differences_and_p_values() -> None:
    assert signed_text(0.0123, "fraction") == "+0.012"
    assert signed_text(0.00001, "fraction") == "0.000"  # rounds to zero: no sign
    assert signed_text(-0.03, "fraction") == "-0.030"
    assert p_text(0.0001) == "< 0.001" and p_text(0.25) == "0.250" and p_text(None) == "—"


def test_large_values_keep_three_significant_digits() -> None:
    # the suffix is chosen after rounding: 999,950 samples/s is 1.00M, not "1e+03k"
    assert value_text(999_950.0, "samples/s") == "1.00M"
    assert value_text(999.96, "samples/s") == "1.00k"
    assert value_text(999_600_000.0, "FLOP") == "1.00G"
    # trailing zeros are digits: 1,000,670 beside [877k, 1.07M] is 1.00M, not "1M"
    assert value_text(1_000_670.0, "samples/s") == "1.00M"
    assert interval_text((11958.0, 12418.0), "samples/s") == "[12.0k, 12.4k]"
    assert value_text(120_000.0, "samples/s") == "120k" and value_text(30_000.0, "") == "30.0k"
    assert value_text(0.0, "samples/s") == "0" and value_text(-1500.0, "samples/s") == "-1.50k"
