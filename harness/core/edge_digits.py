"""A fraction's text with the digits that keep it strictly between 0 and 1 off them.

An OOD AUROC of 0.99998 at three decimals reads "1.000", a perfect detector, and a robust
accuracy of 4e-05 reads "0.000", none at all; the boards, the report and `print(result)` print
such a value with as many more digits as tell it from the edge."""

from __future__ import annotations

import math


def fraction_off_the_edges(value: float, decimals: int) -> str:
    """`value` to `decimals` decimals, or, when that text is the edge 0 or 1 and the value is not,
    with up to three more decimals (cut, never rounded up to 1) or, near 0, two significant
    digits."""
    text = f"{value:.{decimals}f}"
    if text == f"{1:.{decimals}f}" and value < 1:
        for digits in range(decimals + 1, decimals + 4):
            longer = f"{value:.{digits}f}"
            if not longer.startswith("1"):
                return longer
        scale = 10 ** (decimals + 3)
        return f"{math.floor(value * scale) / scale:.{decimals + 3}f}"
    if text == f"{0:.{decimals}f}" and value > 0:
        return f"{value:.2g}"
    return text
