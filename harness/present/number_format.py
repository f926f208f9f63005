"""How the report writes numbers: by unit, short enough for a table cell, never NaN.

Fractions get three decimals; rates and sizes get three significant digits with a k/M suffix
(551k samples/s), so a throughput column stays narrow. Intervals are written in the same style.
"""

from __future__ import annotations

import math
import re

from harness.core.edge_digits import fraction_off_the_edges
from harness.stats.intervals import ALPHA, below_alpha_text

_LARGE_UNITS = frozenset({"samples/s", "FLOP", "TFLOP/s"})
_FIXED_UNITS = frozenset({"fraction", "difference", "ratio", "score", "nats"})
_THREE_DECIMALS = re.compile(r"-?\d+\.\d{3}")
_DECIMALS = re.compile(r"-?\d+\.\d+")


def value_text(value: float | None, unit: str = "") -> str:
    """A value as a table cell shows it (`undefined` when there is none). A fraction strictly
    between 0 and 1 never reads as 0.000 or 1.000 (none, all): an OOD AUROC of 0.99998 is
    "0.99998", a robust accuracy of 0.0004 is "0.0004"."""
    text = _plain_text(value, unit)
    return text if value is None else edge_text(value, text, unit)


def edge_text(value: float, text: str, unit: str) -> str:
    """`text` (`value` to three decimals) with the digits that keep a fraction strictly between
    0 and 1 off 0.000 and 1.000, and a small nonzero rate, time or size off 0.000 (a fixed-unit
    number near 0, a difference, keeps 0.000); any other text unchanged."""
    if unit != "fraction":
        small = unit not in _FIXED_UNITS and value != 0 and text in ("0.000", "-0.000")
        return f"{value:.2g}" if small else text
    if (text == "1.000" and value < 1) or (text == "0.000" and value > 0):
        return fraction_off_the_edges(value, 3)
    return text


def _plain_text(value: float | None, unit: str = "") -> str:
    if value is None or not math.isfinite(value):
        return "undefined"
    if unit in _LARGE_UNITS or abs(value) >= 10_000:
        return _si(value)
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if unit in _FIXED_UNITS:
        text = f"{value:.3f}"
        return "0.000" if text == "-0.000" else text
    if value != 0 and abs(value) < 0.001:
        return f"{value:.2g}"
    return f"{value:.3f}"


def _si(value: float) -> str:
    """Three significant digits, trailing zeros kept (1.00M, 12.0k: as precise as 1.07M), and
    the suffix chosen after rounding (999,950 is 1.00M, not 1e+03k)."""
    rounded = float(f"{value:.3g}")
    if rounded == 0:
        return "0"
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")):
        if abs(rounded) >= factor or factor == 1.0:
            return f"{rounded / factor:#.3g}".rstrip(".") + suffix
    raise AssertionError("unreachable")


def interval_text(ci: tuple[float, float] | None, unit: str = "") -> str:
    """`[low, high]` in the value's style ('' without an interval); an interval that excludes 0
    writes an end that rounds to 0.000 to two significant digits ("[0.0004, 0.012]")."""
    if ci is None:
        return ""
    low, high = interval_ends(ci, _plain_text(ci[0], unit), _plain_text(ci[1], unit))
    return f"[{low}, {high}]"


def interval_ends(ci: tuple[float, float], low: str, high: str) -> tuple[str, str]:
    """The ends as written (`low`, `high`), but where the interval excludes 0 an end written
    as 0.000 gets two significant digits: it would seem to hold 0; and ends of an interval with
    width that read alike get the decimals that tell them apart (up to six)."""
    if ci[0] > 0 or ci[1] < 0:
        low = f"{ci[0]:.2g}" if low in ("0.000", "-0.000") else low
        high = f"{ci[1]:.2g}" if high in ("0.000", "-0.000") else high
    if low == high and ci[0] < ci[1] and _THREE_DECIMALS.fullmatch(low):
        # an interval with width whose ends round alike ("[1.000, 1.000]" for Wilson's
        # (0.99992, 1.0) on 50,000 samples all right) would read as certainty: the digits
        # that tell the ends apart, up to six
        for digits in range(4, 7):
            longer = f"{ci[0]:.{digits}f}", f"{ci[1]:.{digits}f}"
            if float(longer[0]) != float(longer[1]):  # not "-0.0000" and "0.0000": alike
                return longer
    return low, high


def matched_value(value: float, text: str, low: str, high: str) -> str:
    """`text` (the estimate to three decimals) with the decimals its interval's ends were given
    to tell them apart (`interval_ends`), so an estimate never reads as outside its interval
    ("0.119 [0.1191, 0.1193]" for 0.11920); any other text unchanged."""
    if not _THREE_DECIMALS.fullmatch(text):
        return text
    if not (_DECIMALS.fullmatch(low) and _DECIMALS.fullmatch(high)):
        return text  # an end in significant digits ("1.7e-15", "0.00038"): not widened
    digits = {len(end.partition(".")[2]) for end in (low, high)}
    if len(digits) == 1 and (d := digits.pop()) > 3:
        return f"{value:.{d}f}"
    return text


def value_beside(value: float | None, ci: tuple[float, float] | None, unit: str = "") -> str:
    """`value_text`, with the decimals of its interval's ends where `interval_text` widened
    them (`matched_value`); a nonzero difference written as 0.000 beside an interval that
    excludes 0 gets two significant digits, as `interval_ends` writes such an end ("0.0004
    [0.0001, 0.001]": "0.000" read as no change, outside its own interval). A score keeps
    0.000 (a Brier score of 2e-7: "0.000 [1.7e-15, 0.00038]")."""
    text = value_text(value, unit)
    if value is None or ci is None:
        return text
    excludes_zero = ci[0] > 0 or ci[1] < 0
    if unit == "difference" and excludes_zero and value != 0 and text in ("0.000", "-0.000"):
        return f"{value:.2g}"
    low, high = interval_ends(ci, _plain_text(ci[0], unit), _plain_text(ci[1], unit))
    return matched_value(value, text, low, high)


def estimate_text(value: float | None, ci: tuple[float, float] | None, unit: str = "") -> str:
    """`value_text [interval_text]` ("0.047 [0.024, 0.091]"), the estimate with its interval's
    decimals where those were widened."""
    text = value_beside(value, ci, unit)
    return f"{text} {interval_text(ci, unit)}" if ci is not None else text


def signed_text(value: float | None, unit: str = "") -> str:
    """A difference with its sign (+0.012, -0.030, 0.000)."""
    if value is None:
        return "undefined"
    text = _plain_text(value, unit)
    return f"+{text}" if value > 0 and text.strip("0.") else text


def p_text(p: float | None, alpha: float = ALPHA) -> str:
    """A p-value to three decimals ("< 0.001" below that); one below alpha stays below it."""
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else below_alpha_text(p, f"{p:.3f}", alpha)
