"""The folder a report is written in (`--out`), checked before anything is written there.

A report replaces its own pages and figures on every build (`index.html`, `summary.md`,
`models.html`, `figures/`, ...). A folder that holds other files is somebody else's: a first
report there would replace their `index.html` or `summary.md`. So a report is written only into
a folder that is new or empty, or that a report wrote before: it holds the page index
(`page-index.json`, harness/present/page_cache.py), which a first build writes before anything
else, so that a build cut short is still known as a report's. Hidden entries (`.git`,
`.nojekyll`) do not count; the report's own are its lock (`.report-lock`), its kept resampled
values (`.resampled-values`, harness/present/resampled_cache.py), its kept paired forms
(`.paired-forms`, harness/present/form_cache.py) and, while it builds, its staging folder
(harness/present/site_publish.py).

The folder itself may be a symbolic link (the user's own choice of `--out`): the site is written
in the folder it points to. Nothing below it may be a link (harness/store/links.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.core.errors import ResultsError
from harness.present.page_cache import FORMAT, INDEX
from harness.store import atomic, links

SHOWN = 3  # entries named in the refusal
# the pages every report writes; a folder holding them and no page index is a report of a
# harness before the page index (the 0.1.0 release), not a user's own files
OLDER_REPORT = ("index.html", "provenance.html", "summary.md")


def refuse_foreign_folder(out: Path, flag: str = "--out") -> None:
    """Raise the one-line ResultsError of a folder holding files that no report wrote; nothing
    when `out` is missing, empty (hidden entries aside) or a report's. `flag` names the option
    that gave `out` (`run --report`; `--out` elsewhere)."""
    real = _followed(out)
    if not real.is_dir() or (real / INDEX).is_file():
        return
    try:
        own = sorted(entry.name for entry in os.scandir(real) if not entry.name.startswith("."))
    except OSError as err:
        raise ResultsError(
            f"report folder {out}: cannot list it: {err.strerror or err}; choose another {flag}"
        ) from None
    if not own:
        return
    if all(name in own for name in OLDER_REPORT):
        raise ResultsError(
            f"report folder {out} holds the pages of a report by an older harness "
            f"({', '.join(OLDER_REPORT)}, no {INDEX}): this version replaces only the files its "
            "own page index lists, so delete the folder's files (hidden entries such as .git may "
            f"stay) and report again, or choose another {flag}"
        )
    shown = ", ".join(own[:SHOWN]) + (f" and {len(own) - SHOWN} more" if len(own) > SHOWN else "")
    raise ResultsError(
        f"report folder {out} holds files that no report wrote ({shown}); a report replaces "
        f"index.html, summary.md and its other pages, so it is written only into a new or empty "
        f"folder or one a report wrote before (it holds {INDEX}): choose another {flag}"
    )


def site_folder(out: Path) -> Path:
    """The folder to write the site in: `out`, or the folder it links to; created when missing,
    refused when it holds files that no report wrote (`refuse_foreign_folder`), and marked as a
    report's (an empty page index) before anything else is written in a new one."""
    refuse_foreign_folder(out)
    real = _followed(out)
    try:
        real.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file, a device or a file above it (the CLI checks --out first)
        blocker = next((p for p in (real, *real.parents) if p.exists() and not p.is_dir()), None)
        reason = f"{blocker} is not a folder" if blocker else (err.strerror or type(err).__name__)
        raise ResultsError(f"report folder {out}: {reason}; choose another --out") from None
    index = real / INDEX
    if not index.is_file():
        empty = {"format": FORMAT, "identity": "", "pages": {}}
        atomic.write_text(index, json.dumps(empty, sort_keys=True), durable=False)
    return real


def _followed(out: Path) -> Path:
    """`out`, or the path its symbolic link resolves to."""
    return Path(os.path.realpath(out)) if links.is_link(out) else out
