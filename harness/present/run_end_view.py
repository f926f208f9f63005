"""What `harness run` prints when it ends: the headline per task, and where everything else is.

Per task, the verdicts of its headline board (clean accuracy, and robust accuracy at the task's
headline threat model): the best model with its interval, the next one, and the paired test
between the two. Then the skipped jobs, one line per distinct reason with its count, and the
commands for the full boards and the report (or where the report was written). The full
boards are `harness leaderboard <run folder>`; nothing here hides a number they show. The run
folder in those commands is quoted as a shell needs it (a folder with a space, `--out "my
results"`, pastes back as one argument).
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Sequence

from harness.analysis.headline import HeadlineBoard, Verdict
from harness.core.threat_model import headline_text
from harness.present.escaping import terminal_text
from harness.present.headline_view import headline_view, verdict_sentence
from harness.present.tables import wrap


def _notes(verdict: Verdict) -> list[str]:
    """The notes of the numbers a verdict names (how they were measured: `preset fast ...`),
    each once, naming its models when not every named number carries it: the tables show
    them beside each number, the run end has no table."""
    named = [*verdict.best, *([verdict.runner_up] if verdict.runner_up else [])]
    saying: dict[str, list[str]] = {}
    for model, record in named:
        if record.note:
            saying.setdefault(record.note, []).append(model)
    return [
        note if len(models) == len(named) else f"{note} ({', '.join(models)})"
        for note, models in saying.items()
    ]


def skipped_lines(skipped: Sequence[tuple[str, str]], width: int | None) -> list[str]:
    """`skipped: <suite> on 5 jobs: <reason>`, once per (suite, reason)."""
    counts = Counter(skipped)
    return [
        wrap(
            terminal_text(f"skipped: {suite} on {n} job{'s' if n > 1 else ''}: {reason}"),
            width,
        )
        for (suite, reason), n in counts.items()
    ]


def run_end_text(
    heads: Sequence[HeadlineBoard],
    *,
    run_dir: str,
    width: int | None,
    skipped: Sequence[tuple[str, str]] = (),
    report: str | None = None,
) -> str:
    """The end of a run's output (see the module docstring); `report`: the index page written,
    None when no report was asked for."""
    lines: list[str] = []
    for head in heads:
        view = headline_view(head)
        title = f"{view.title} ({view.n})"
        if head.board.headline:
            title += f" · headline threat model {headline_text(head.board.headline)}"
        lines.append(wrap(terminal_text(title), width))
        lead = [v for v in head.verdicts if v.column.lead]
        if not lead:  # no suite that gives a headline number ran: say so, not a bare title
            ran = ", ".join(sorted(head.board.suites)) or "none"
            lines.append(
                wrap(
                    "  no headline number: clean accuracy comes from the accuracy suite and "
                    "robust accuracy from the adversarial suite, and neither ran on this task; "
                    f"this run's numbers ({terminal_text(ran)}) are on the full boards",
                    width,
                )
            )
        for verdict, analysed in zip(view.verdicts, lead, strict=True):
            sentence = verdict_sentence(verdict, text=terminal_text)
            lines.append(wrap("  " + sentence, width))
            lines += [wrap(f"    note: {terminal_text(n)}", width) for n in _notes(analysed)]
        lines += [wrap(f"  note: {terminal_text(n)}", width) for n in view.earlier]
        lines.append("")
    lines += skipped_lines(skipped, width)
    folder = terminal_text(shlex.quote(run_dir))
    lines.append(wrap(f"full boards (every metric): harness leaderboard {folder}", width))
    if report is not None:
        lines.append(wrap(f"report: {terminal_text(report)}", width))
    else:
        lines.append(wrap(f"report: harness report {folder} --out <folder>", width))
    return "\n".join(lines)
