"""The result cache as `harness cache` prints it: where it is, its size, and what each entry holds.

Tables are written by `harness.present.tables`; names from results pass through the terminal
escaper there. JSON gives the same fields per entry, sizes in bytes and times in UTC ISO form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from harness.core.byte_sizes import size_text
from harness.present.escaping import terminal_text
from harness.present.tables import Table, fit_text, to_json, wrap
from harness.store.result_cache import CacheContents, CacheEntry, PruneResult

HEADER = ["key", "model", "task", "suite", "harness", "computed by run", "size", "last used"]


def count_text(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def time_text(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _row(e: CacheEntry) -> list[str]:
    r = e.record
    if r is None:
        # the reason goes under the table whole (`problems_text`): cut to fit a cell, a long
        # cache path left no room for what is wrong
        name = "(damaged: see below)" if e.newer is None else f"(newer harness: {e.newer})"
        return [e.key[:12], name, "", "", "", "", size_text(e.size), time_text(e.last_used)]
    return [
        e.key[:12],
        r.model,
        r.task,
        f"{r.suite} v{r.suite_version}",
        r.harness_version,
        r.run_id,
        size_text(e.size),
        time_text(e.last_used),
    ]


def entries_table(entries: list[CacheEntry], width: int | None = None) -> str:
    """One line per entry, most recently used first, fitted to `width` (None: no limit), then
    the whole reason of each damaged entry, wrapped to `width`."""
    ordered = sorted(entries, key=lambda e: e.last_used, reverse=True)
    table = Table(HEADER, [_row(e) for e in ordered])
    text = fit_text(table, width, keep=1, align="left", gap=2, wrap_last=False)
    problems = [
        wrap(terminal_text(f"damaged {e.key[:12]}: {e.problem}"), width)
        for e in ordered
        if e.record is None and e.newer is None
    ]
    return "\n".join([text, "", *problems]) if problems else text


def summary(
    root: str, contents: CacheContents, *, off: str | None, width: int | None = None
) -> str:
    """Where the cache is, how many entries and bytes, and whether runs use it."""
    damaged = sum(e.problem is not None for e in contents.entries)
    lines = [
        f"result cache: {root} (HARNESS_CACHE moves it)",
        f"{count_text(len(contents.entries), 'entry', 'entries')}, {size_text(contents.size)}"
        + (
            f"; {damaged} damaged (never served; `harness cache prune` removes them)"
            if damaged
            else ""
        )
        + (
            f"; {count_text(len(contents.leftovers), 'unfinished write', 'unfinished writes')}"
            if contents.leftovers
            else ""
        ),
    ]
    if off:
        lines.append(f"runs neither read nor write it: {off}")
    return "\n".join(wrap(terminal_text(line), width) for line in lines)


def render_show(
    root: str, contents: CacheContents, *, off: str | None, width: int | None = None
) -> str:
    """Where the cache is and what it holds, every line within `width` (None: no limit)."""
    head = summary(root, contents, off=off, width=width)
    if not contents.entries:
        return head + "\n"
    return head + "\n\n" + entries_table(contents.entries, width) + "\n"


def entry_json(e: CacheEntry) -> dict[str, Any]:
    r = e.record
    return {
        "key": e.key,
        "size_bytes": e.size,
        "last_used": dt.datetime.fromtimestamp(e.last_used, dt.UTC).isoformat(),
        "damaged": e.problem,
        "newer_harness": e.newer,
        "model": r.model if r else None,
        "task": r.task if r else None,
        "suite": r.suite if r else None,
        "suite_version": r.suite_version if r else None,
        "harness_version": r.harness_version if r else None,
        "run": r.run_id if r else None,
        "job_key": r.key if r else None,
        "files": sorted(r.files) if r else None,
    }


def render_show_json(root: str, contents: CacheContents) -> str:
    return to_json(
        {
            "root": root,
            "size_bytes": contents.size,
            "entries": [entry_json(e) for e in contents.entries],
            "unfinished": [x.name for x in contents.leftovers],
        }
    )


def render_prune_json(root: str, result: PruneResult, *, dry_run: bool) -> str:
    """What a prune removed (or would remove: `dry_run`) and what it kept, as `render_prune`
    says it: the removed entries as `show --format json` gives them, sizes in bytes."""
    return to_json(
        {
            "root": root,
            "dry_run": dry_run,
            "removed": [entry_json(e) for e in result.removed],
            "unfinished_removed": [x.name for x in result.leftovers],
            "removed_size_bytes": sum(e.size for e in result.removed)
            + sum(x.size for x in result.leftovers),
            "kept_entries": len(result.kept),
            "kept_size_bytes": sum(e.size for e in result.kept),
        }
    )


def render_prune(result: PruneResult, *, dry_run: bool, width: int | None = None) -> str:
    verb = "would remove" if dry_run else "removed"
    gone = sum(e.size for e in result.removed) + sum(x.size for x in result.leftovers)
    left = sum(e.size for e in result.kept)
    removed = count_text(len(result.removed), "entry", "entries")
    leftovers = count_text(len(result.leftovers), "unfinished write", "unfinished writes")
    kept = count_text(len(result.kept), "entry", "entries")
    line = f"{verb} {removed} and {leftovers} ({size_text(gone)}); {kept} ({size_text(left)}) left"
    text = wrap(terminal_text(line), width) + "\n"
    if result.removed:
        text += "\n" + entries_table(result.removed, width) + "\n"
    return text
