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


def test_a_p_value_below_alpha_never_prints_as_alpha() -> None:
    """Rounded to three decimals, p = 0.0496 read "0.050" beside "significant" (p < 0.05); the
    paired t-test's p is set just below 0.05 where its interval excludes 0 by a hair. A p below
    alpha gets the digits that keep it below; a p at or above alpha rounds as before."""
    assert p_text(0.0496) == "0.0496"
    assert p_text(0.04999) == "0.04999"
    assert p_text(0.049999999999999996) == "< 0.05"
    assert p_text(0.0504) == "0.050" and p_text(0.05) == "0.050" and p_text(0.0494) == "0.049"
    assert p_text(0.00996, alpha=0.01) == "0.00996"
    assert p_text(0.0) == "< 0.001"
    assert p_text(0.0096, alpha=0.01) == "0.0096"


def test_the_gate_prints_a_p_below_its_alpha_below_it() -> None:
    """The gate's table wrote p (adj) = 0.04996 as "0.05" on a failing row at alpha 0.05."""
    from harness.analysis.check import CheckRow
    from harness.analysis.check_policy import MetricRule
    from harness.present.check_view import p_text as gate_p_text

    def row(p: float, alpha: float = 0.05) -> CheckRow:
        return CheckRow(
            "m", "t", "accuracy", "top1_acc", 0.9, 0.8, "fail", "", p_adjusted=p,
            rule=MetricRule(alpha=alpha),
        )  # fmt: skip

    assert gate_p_text(row(0.04996)) == "0.04996"
    assert gate_p_text(row(0.0123)) == "0.0123" and gate_p_text(row(0.05)) == "0.05"
    assert gate_p_text(row(0.009996, alpha=0.01)) == "0.009996"
    assert gate_p_text(row(3e-7)) == "3e-07"
    assert gate_p_text(row(0.0)) == "< 1e-300"  # mcnemar_exact(2000, 0) underflows: not "0"


def test_an_interval_that_excludes_zero_never_prints_an_end_as_zero() -> None:
    """McNemar's interval of a difference on 50,000 samples can start at 0.0004: it printed
    "[0.000, 0.012]" beside "A better", the same text as an interval that holds 0."""
    assert interval_text((0.0004, 0.0123), "difference") == "[0.0004, 0.012]"
    assert interval_text((-0.0213, -0.00004), "fraction") == "[-0.021, -4e-05]"
    assert interval_text((-0.0004, 0.0123), "difference") == "[0.000, 0.012]"  # holds 0
    assert interval_text((0.0, 0.0123), "difference") == "[0.000, 0.012]"
    assert interval_text((0.9812, 0.9934), "fraction") == "[0.981, 0.993]"


def test_a_p_value_that_underflowed_never_prints_as_zero() -> None:
    """mcnemar_exact(2000, 0) is 0.0 in float64: `harness variants` and the leaderboard's
    variant notes printed "p=0.000", the comparison notes "p=0"."""
    from harness.analysis.variant_deltas import format_p as variants_p

    assert variants_p(0.0) == "< 1e-300" and variants_p(2e-5) == "2e-05"
    assert variants_p(0.0496) == "0.0496" and variants_p(0.5) == "0.500"


def test_the_gate_never_prints_a_change_as_zero_when_it_is_not() -> None:
    """A significant regression of 0.00004 (a million samples, `max_drop: 0`) read "-0.0000"
    beside FAIL; an unchanged metric still reads "+0.0000"."""
    from harness.present.check_view import delta_text

    assert delta_text(-0.00004) == "-4e-05" and delta_text(0.00001) == "+1e-05"
    assert delta_text(0.0) == "+0.0000" and delta_text(-0.0123) == "-0.0123"
    assert delta_text(None) == "—"


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


def test_the_gate_shows_each_change_with_its_interval() -> None:
    """The gate's tables printed a change as "+0.0000" with its p-value and no interval (only a
    failure's reason gave one): a pass on 60 samples read like a pass on 60,000. The delta cell
    now carries the test's 95% interval of the change, and says which statistic it is of when
    that is not the number shown (the debiased ECE)."""
    from harness.analysis.check import CheckRow
    from harness.present.check_view import HEADER, HEADLINE_HEADER, _cells, _headline_cells

    row = CheckRow("m", "digits", "accuracy", "top1_acc", 0.9, 0.9, "pass", "unchanged")
    row.ci = (-0.0183, 0.0183)
    at = HEADER.index("delta [95% CI]")
    assert _cells(row)[at] == "+0.0000 [-0.0183, +0.0183]"
    assert _headline_cells(row, "clean accuracy")[HEADLINE_HEADER.index("delta [95% CI]")] == (
        "+0.0000 [-0.0183, +0.0183]"
    )
    row.statistic = "debiased ECE"
    assert _cells(row)[at] == "+0.0000 (debiased ECE: [-0.0183, +0.0183])"
    row.ci = None
    assert _cells(row)[at] == "+0.0000"


def test_a_fraction_between_0_and_1_never_reads_as_none_or_all() -> None:
    """Quickstart: digits-mlp's OOD AUROC 0.99998 read "1.000" (a perfect detector) in the
    report and the leaderboard; a robust accuracy of 1 in 2,500 would read "0.000"."""
    assert value_text(0.9999777777777777, "fraction") == "0.99998"
    assert value_text(0.9996, "fraction") == "0.9996" and value_text(0.99949, "fraction") == "0.999"
    assert value_text(0.99999999, "fraction") == "0.999999"
    assert (
        value_text(0.0004, "fraction") == "0.0004" and value_text(4.9e-05, "fraction") == "4.9e-05"
    )
    assert value_text(1.0, "fraction") == "1.000" and value_text(0.0, "fraction") == "0.000"
    assert value_text(0.0004, "difference") == "0.000"  # a difference near 0 is not an edge
    assert interval_text((0.9935, 0.99999992), "fraction") == "[0.994, 1.000]"


def test_a_change_past_the_tolerance_never_prints_as_the_tolerance() -> None:
    """The gate printed a drop of 8 of 797 samples, -0.010038, as "-0.0100" beside "worse beyond
    tolerance (drop ≤ 0.01)": a change that reads as exactly the tolerance, said to be past it."""
    from harness.analysis.check import CheckRow
    from harness.analysis.check_policy import MetricRule
    from harness.present.check_view import change_text

    def row(base: float, cur: float, reason: str) -> CheckRow:
        return CheckRow("m", "t", "adversarial", "robust_acc", base, cur, "fail", reason,
                        rule=MetricRule(max_drop=0.01, alpha=0.05))  # fmt: skip

    beyond = "significant regression beyond tolerance (drop ≤ 0.01)"
    assert change_text(row(0.489335, 0.479297, beyond)) == "-0.01004"
    assert change_text(row(0.489335, 0.469297, beyond)) == "-0.0200"  # clearly past: as before
    assert change_text(row(0.489335, 0.479335, "within tolerance (drop ≤ 0.01)")) == "-0.0100"


def test_harness_groups_writes_a_rate_between_0_and_1_as_the_report() -> None:
    """`harness groups`: digits-cnn's ECE on class 0, 0.00028, read "0.000" (perfectly
    calibrated); the report and leaderboard now write such a fraction "0.00028"."""
    from harness.present.groups_view import _row_cell

    row = {"metric": "ece", "value": 0.000284881, "ci_lo": 0.0, "ci_hi": 0.037, "n": 71,
           "group_n": 71, "flag": ""}  # fmt: skip
    assert _row_cell(row) == "0.00028 [0.000, 0.037]"
    assert _row_cell({**row, "metric": "group_acc_gap"}).startswith("0.000 [")  # a difference


def test_an_interval_with_width_never_prints_its_ends_alike() -> None:
    """50,000 texts all right: Wilson's interval (0.99992, 1.0) printed "1.000 [1.000, 1.000]",
    a certainty no sample gives; an ECE interval 0.0002 wide read "[0.119, 0.119]". The ends
    get the digits that tell them apart; an interval of one point keeps its three decimals."""
    assert interval_text((0.9999232, 1.0), "fraction") == "[0.9999, 1.0000]"
    assert interval_text((0.11883, 0.11921), "fraction") == "[0.1188, 0.1192]"
    # narrower than six decimals tell apart: as precise as the estimate, left as it was
    assert interval_text((0.1190001, 0.1190004), "score") == "[0.119, 0.119]"
    assert interval_text((0.119, 0.119), "fraction") == "[0.119, 0.119]"
    assert interval_text((0.9812, 0.9934), "fraction") == "[0.981, 0.993]"
    from harness.present.number_format import interval_ends

    assert interval_ends((0.9999232, 1.0), "1.000", "1.000") == ("0.9999", "1.0000")


def test_an_estimate_takes_the_decimals_of_its_widened_interval() -> None:
    """ECE 0.11920 with (0.11915, 0.11926): "0.119 [0.1191, 0.1193]" read as an estimate below
    its own interval."""
    from harness.present.number_format import estimate_text

    assert estimate_text(0.1192029, (0.1191486, 0.1192572), "fraction") == (
        "0.1192 [0.1191, 0.1193]"
    )
    assert estimate_text(1.0, (0.9999232, 1.0), "fraction") == "1.0000 [0.9999, 1.0000]"
    assert estimate_text(0.047, (0.024, 0.091), "fraction") == "0.047 [0.024, 0.091]"
    assert estimate_text(0.01, (0.0004, 0.0123), "difference") == "0.010 [0.0004, 0.012]"
    assert estimate_text(0.5, None, "fraction") == "0.500"
    # ends in significant digits (an interval excluding 0) are not widened ends
    assert estimate_text(2e-7, (1.7e-15, 0.00038), "score") == "0.000 [1.7e-15, 0.00038]"
    assert estimate_text(2e-7, (2e-8, 0.00038), "score") == "0.000 [2e-08, 0.00038]"


def test_widened_ends_that_differ_only_in_the_sign_of_zero_get_more_digits() -> None:
    """A difference's interval (-0.00004, 0.00003) printed "0.0000 [-0.0000, 0.0000]": the
    widening stopped at the first texts that differed, here only in a zero's sign, which
    still reads as a zero-width interval."""
    from harness.present.number_format import estimate_text

    assert interval_text((-0.00004, 0.00003), "difference") == "[-0.00004, 0.00003]"
    assert estimate_text(0.00001, (-0.00004, 0.00003), "difference") == (
        "0.00001 [-0.00004, 0.00003]"
    )
    assert interval_text((-0.0001, 0.0001), "difference") == "[-0.0001, 0.0001]"


def test_an_estimate_beside_an_interval_that_excludes_zero_never_reads_as_zero() -> None:
    """A shift accuracy gap of 0.0004 with (0.0001, 0.0008) printed "0.000 [0.0001, 0.001]": the
    estimate read as no change, outside its own interval, whose ends keep two significant digits
    where it excludes 0. The estimate gets the same digits (a score keeps 0.000: above)."""
    from harness.present.number_format import estimate_text

    assert estimate_text(0.0004, (0.0001, 0.0008), "difference") == "0.0004 [0.0001, 0.001]"
    assert estimate_text(-0.0004, (-0.0008, -0.0001), "difference") == "-0.0004 [-0.001, -0.0001]"
    assert estimate_text(4e-05, (3.5e-05, 4.5e-05), "difference") == "4e-05 [3.5e-05, 4.5e-05]"
    # an interval that holds 0 keeps the fixed-decimal estimate
    assert estimate_text(0.0004, (-0.0008, 0.0012), "difference") == "0.000 [-0.001, 0.001]"
    assert estimate_text(0.0, (0.0001, 0.0008), "difference") == "0.000 [0.0001, 0.001]"
