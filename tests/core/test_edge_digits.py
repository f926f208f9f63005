"""A fraction near 0 or 1 keeps the digits that tell it from the edge, at any decimals."""

from __future__ import annotations

import pytest

from harness.core.edge_digits import fraction_off_the_edges


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (0.99998, 3, "0.99998"),
        (0.99998, 4, "0.99998"),
        (0.9996, 3, "0.9996"),
        (0.9999999999, 3, "0.999999"),  # cut at three more decimals, never rounded up to 1
        (0.9999999999, 4, "0.9999999"),
        (4e-05, 4, "4e-05"),
        (4e-05, 3, "4e-05"),
        (1.0, 3, "1.000"),
        (0.0, 4, "0.0000"),
        (0.95104, 4, "0.9510"),
        (0.5, 3, "0.500"),
    ],
)
def test_a_fraction_is_never_printed_as_the_edge_it_is_not(
    value: float, decimals: int, text: str
) -> None:
    assert fraction_off_the_edges(value, decimals) == text
