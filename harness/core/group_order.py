"""The order group values are shown in: declared first, then by their numeric bounds.

Age bands and binned attributes are strings (`<40`, `40-49`, `60+`, `[18, 30)`); sorted as text
`5-18` would follow `45+`. Every view that lists groups (terminal, Markdown, figures, the report)
orders them here: values with a number by the first number they hold (a value that reads "below"
it, `<40`, just before it), then the others in the task's declared order (its `group_labels`;
stored summaries keep their keys sorted), then as text. No torch.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def first_number(text: str) -> float | None:
    """The first number written in `text` (None when there is none)."""
    m = _NUMBER.search(text)
    return float(m.group(0)) if m else None


def value_order(values: Iterable[str], declared: Sequence[str] = ()) -> list[str]:
    """Group values in display order (module docstring), each once."""
    declared_index = {v: i for i, v in enumerate(declared)}

    def key(value: str) -> tuple[int, float, str]:
        number = first_number(value)
        if number is not None:
            below = value.lstrip().startswith(("<", "≤", "("))
            return (0, number - (0.5 if below else 0.0), value)
        if value in declared_index:
            return (1, float(declared_index[value]), "")
        return (2, 0.0, value)

    return sorted(set(values), key=key)


def group_names(values: Iterable[str], declared: Mapping[str, str]) -> dict[str, str]:
    """Each group value's name as shown: its declared label (`group_labels`), else itself. A
    name shown for more than one value (two values labelled alike, or a label that is another
    value's own name) keeps the value beside it, `same (a)`, so distinct groups never read
    alike in a figure, a note or a comparison."""
    shown = {v: str(declared.get(v, v)) for v in dict.fromkeys(values)}
    count = Counter(shown.values())
    return {v: s if count[s] == 1 or s == v else f"{s} ({v})" for v, s in shown.items()}
