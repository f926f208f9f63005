"""A numeric flag reads a plain decimal without importing the spec's reader, to the same value;
anything else (signs, zeros in front, underscores, YAML 1.1 octals, below the minimum) is read
and refused by the spec's reader, in the same words as before."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from harness.cli.arguments import non_negative_int, number_flag, positive_int
from harness.config.spec import flag_number


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "1",
        "7",
        "80",
        "120",
        "999999999",
        "1000000000",
        "010",
        "007",
        "0x10",
        "1_000",
        "+5",
        "-1",
        " 5",
        "5 ",
        "1e3",
        "1.0",
        "٣",
        "",
        "true",
        "null",
        "0.5",
    ],
)
@pytest.mark.parametrize("minimum", [0, 1])
def test_plain_decimals_read_as_the_spec_reads_them(value: str, minimum: int) -> None:
    parse = number_flag(int, minimum=minimum)
    try:
        want: object = flag_number(value, int, minimum=minimum)
    except ValueError as err:
        with pytest.raises(argparse.ArgumentTypeError) as got:
            parse(value)
        assert str(got.value) == str(err)
        return
    got_value = parse(value)
    assert got_value == want and type(got_value) is type(want)


def test_the_flags_keep_their_minimums() -> None:
    assert non_negative_int("0") == 0
    with pytest.raises(argparse.ArgumentTypeError):
        positive_int("0")


def test_a_width_flag_does_not_import_the_spec() -> None:
    code = (
        "import sys; from harness.cli.arguments import non_negative_int; "
        "assert non_negative_int('100') == 100; print('harness.config.spec' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
