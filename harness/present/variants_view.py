"""Variant comparisons as `harness variants` prints them: text, Markdown or JSON.

Per variant and task: its size against its parent, the paired delta of every metric (with the
test, n and Holm-adjusted p-value) and the slices where the harm concentrates. Tables are
written by `harness.present.tables`; numbers are formatted as in the leaderboard's notes.
"""

from __future__ import annotations

from typing import Literal

from harness.analysis.variant_deltas import VariantComparison, format_p, format_value, p_is
from harness.present.escaping import md_text, terminal_text
from harness.present.tables import Table, to_json, to_markdown, to_text, wrap

LEGEND = (
    "delta = variant - parent; tests: exact McNemar (accuracies), paired sign-flip (other "
    "per-sample means), paired resampling (ECE, disparities, OOD detection), Mann-Whitney on "
    "timing rounds (speed; inconclusive when the timing was unstable), Newcombe's "
    "square-and-add from the cell-mean intervals (means over cells), z-test from the 95% "
    "intervals (other numbers with intervals), none (no test: p empty, never WORSE); "
    "Holm-adjusted per variant and task"
)  # also the report's legend (task.html), so the two never say different tests
NO_VARIANTS = "no variant results (add `variants:` to a model in the spec; see docs/variants.md)"


def _size_line(c: VariantComparison) -> str:
    s = c.size
    if not s.size_bytes:
        return "size: —"
    ratio = f" ({s.size_ratio:.2f}x parent {s.parent_size_bytes} B)" if s.size_ratio else ""
    return (
        f"size {s.size_bytes} B {s.size_format or ''}{ratio}; parameters {s.parameters} "
        f"({s.nonzero_parameters} nonzero; parent {s.parent_nonzero_parameters} nonzero); "
        f"gradients: {'yes' if s.gradients else 'no (black-box paths)'}"
    )


def harm_line(c: VariantComparison) -> list[str]:
    """One sentence per slice kind: the largest paired drop with its n and p-values."""
    lines = []
    for kind in ("class", "group", "condition"):
        s = c.worst.get(kind)
        if s is None:
            continue
        lines.append(
            f"largest {kind} drop: {s.slice} [{s.suite}, {s.condition}] {format_value(s.parent_acc)} -> {format_value(s.variant_acc)} "
            f"(drop {format_value(s.drop)}, n={s.n}, McNemar {p_is(s.p_value)}, {p_is(s.p_holm, 'Holm p')} over {c.slices_tested} slices)"
        )
    return lines


def _delta_rows(c: VariantComparison) -> list[dict[str, str]]:
    return [
        {
            "suite": d.suite,
            "metric": d.metric,
            "parent": format_value(d.parent_value),
            "variant": format_value(d.variant_value),
            "delta": ("+" if (d.delta or 0) > 0 else "") + format_value(d.delta),
            # the delta's interval where one is computed (means over cells); else the test says
            "95% CI": f"[{format_value(d.ci[0])}, {format_value(d.ci[1])}]" if d.ci else "",
            "test": d.test,
            "n": str(d.n),
            "p": format_p(d.p_value),
            "p_holm": format_p(d.p_holm),
            "verdict": "WORSE"
            if d.significant_harm
            else ("INCONCLUSIVE" if d.test == "inconclusive" else ""),
        }
        for d in c.deltas
    ]


def delta_table(c: VariantComparison) -> Table | None:
    """Every metric's delta as a table (None when the variant has no compared metric)."""
    rows = _delta_rows(c)
    if not rows:
        return None
    cols = list(rows[0])
    return Table(cols, [[r[k] for k in cols] for r in rows])


def _text_section(c: VariantComparison, width: int | None) -> list[str]:
    def say(line: str) -> str:
        return wrap(terminal_text(line), width)

    title = say(f"{c.variant_model} vs {c.parent} on {c.task}")
    if c.status != "compared":  # its notes still (a PARTIAL one names the missing parent job)
        return [title, say(f"{c.status}: {c.reason}"), *(say(f"note: {n}") for n in c.notes), ""]
    lines = [title, say(_size_line(c)), *(say(f"note: {n}") for n in c.notes)]
    table = delta_table(c)
    if table is not None:
        text = to_text(table)
        fits = width is None or max(len(x) for x in text.splitlines()) <= width
        lines += [text] if fits else _delta_lines(c, width)
    lines += [say(line) for line in harm_line(c)]
    return [*lines, ""]


def _delta_lines(c: VariantComparison, width: int | None) -> list[str]:
    """Each metric's delta as one wrapped line under its suite (the table did not fit)."""
    out: list[str] = []
    suite = None
    for r in _delta_rows(c):
        if r["suite"] != suite:
            suite = r["suite"]
            out.append(wrap(terminal_text(f"  {suite}:"), width))
        ci = f" {r['95% CI']}" if r["95% CI"] else ""
        verdict = f" {r['verdict']}" if r["verdict"] else ""
        line = (
            f"    {r['metric']}: {r['parent']} -> {r['variant']} ({r['delta']}{ci}), "
            f"{r['test']} n={r['n']} p={r['p']} Holm p={r['p_holm']}{verdict}"
        )
        out.append(wrap(terminal_text(line), width, indent="    "))
    return out


def _markdown_section(c: VariantComparison) -> list[str]:
    title = f"### {md_text(f'{c.variant_model} vs {c.parent} on {c.task}')}\n"
    if c.status != "compared":
        notes = [md_text(f"note: {n}") for n in c.notes]
        return [title, md_text(f"{c.status}: {c.reason}"), *notes, ""]
    lines = [title, md_text(_size_line(c)), *(md_text(f"note: {n}") for n in c.notes)]
    table = delta_table(c)
    if table is not None:
        lines.append("\n" + to_markdown(table))
    lines += [f"\n> {md_text(line)}" for line in harm_line(c)]
    return [*lines, ""]


def render(
    comparisons: list[VariantComparison],
    fmt: Literal["table", "md", "json"],
    *,
    width: int | None = None,
) -> str:
    """Text (every line within `width`; None: no limit), Markdown or JSON of the comparisons."""
    if fmt == "json":
        return to_json([c.to_dict() for c in comparisons])
    if fmt == "md":
        parts = [line for c in comparisons for line in _markdown_section(c)]
        parts += [NO_VARIANTS] if not comparisons else []
        return "\n".join([*parts, LEGEND])
    parts = [line for c in comparisons for line in _text_section(c, width)]
    if not comparisons:
        parts.append(wrap(NO_VARIANTS, width))
    parts.append(wrap(LEGEND, width))
    return "\n".join(parts)
