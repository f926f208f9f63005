"""A Markdown summary of the leaderboards, short enough for a pull-request comment."""

from __future__ import annotations

from harness.analysis.leaderboard import Board
from harness.present.escaping import md_text
from harness.present.leaderboard_view import render_markdown


def summary_markdown(boards: list[Board]) -> str:
    """Leaderboards (escaped cells, ranks with tie groups) and a list of reliability flags."""
    flagged = sorted(
        (model, record.key, ", ".join(record.flags))
        for b in boards
        for (model, _key), record in b.records.items()
        if record.flags
    )
    parts = ["## Evaluation results", ""]
    if flagged:
        parts.append("**Reliability flags raised** (treat these numbers with care):")
        parts += [f"- {md_text(m)}: {md_text(k)} — {md_text(f)}" for m, k, f in flagged]
        parts.append("")
    parts.append(render_markdown(boards))
    return "\n".join(parts).rstrip("\n") + "\n"
