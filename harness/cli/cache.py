"""`harness cache`: show the result cache shared by every results folder, or prune it."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from harness.cli.arguments import add_width_argument, output_width

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?", re.IGNORECASE)
_SIZE_FACTORS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)", re.IGNORECASE)
_AGE_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def size_bytes(value: str) -> int:
    """`500MB`, `2G`, `1.5GiB`, `0` -> bytes (k/M/G/T are powers of 1000, KiB/MiB/... of 1024)."""
    found = _SIZE.fullmatch(value.strip())
    if found is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a size: a number with an optional unit, e.g. 500MB, 2GB, 1.5GiB"
        )
    number, unit = float(found.group(1)), (found.group(2) or "").lower()
    binary = unit.endswith("ib") or (len(unit) == 2 and unit[1] == "i")
    factor = 1024 ** "bkmgt".index(unit[0]) if binary else _SIZE_FACTORS[unit[:1]]
    return int(number * factor)


def age_seconds(value: str) -> float:
    """`30d`, `12h`, `90m`, `2w` -> seconds (the unit is required: s, m, h, d or w)."""
    found = _AGE.fullmatch(value.strip())
    if found is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an age: a number and a unit (s, m, h, d, w), e.g. 30d or 12h"
        )
    if found.group(2) == "M":  # months in ISO 8601 periods and date libraries: not minutes
        n = found.group(1)
        raise argparse.ArgumentTypeError(
            f"{value!r} is ambiguous: m means minutes here (there is no unit for months); write "
            f"{n}m for {n} minutes, or {round(float(n) * 30.44)}d for about {n} months"
        )
    return float(found.group(1)) * _AGE_SECONDS[found.group(2).lower()]


def add_parser(sub: Any) -> None:
    cache = sub.add_parser(
        "cache",
        help="show or prune the result cache shared by every results folder (docs/cache.md)",
        description="The result cache: finished jobs that `harness run` copies instead of "
        "recomputing, in any results folder. Its folder: $HARNESS_CACHE, else the user cache "
        "folder.",
    )
    actions = cache.add_subparsers(dest="action")
    show = actions.add_parser("show", help="where the cache is, its size and its entries (default)")
    # `cache --format json` (show is the default action) or `show --format json`
    show.add_argument("--format", choices=["table", "json"], default=argparse.SUPPRESS)
    add_width_argument(
        show, default=argparse.SUPPRESS
    )  # `cache --width N show` or `show --width N`
    prune = actions.add_parser(
        "prune",
        help="remove entries: all, those unused for a while, or the least recently used "
        "beyond a size; damaged entries and unfinished writes always go",
    )
    prune.add_argument("--all", action="store_true", help="remove every entry")
    prune.add_argument(
        "--older-than",
        type=age_seconds,
        metavar="AGE",
        help="remove entries not used for longer than AGE (e.g. 30d, 12h)",
    )
    prune.add_argument(
        "--max-size",
        type=size_bytes,
        metavar="SIZE",
        help="remove the least recently used entries until the rest fit in SIZE (e.g. 2GB)",
    )
    prune.add_argument(
        "--dry-run", action="store_true", help="list what would be removed; remove nothing"
    )
    prune.add_argument("--format", choices=["table", "json"], default=argparse.SUPPRESS)
    add_width_argument(prune, default=argparse.SUPPRESS)
    add_width_argument(cache)
    cache.add_argument(
        "--format", choices=["table", "json"], default="table", help="of show or prune"
    )
    cache.set_defaults(handler=cache_command, action=None, format="table", width=None)


def cache_command(args: argparse.Namespace) -> int:
    from harness.core.errors import ConfigError
    from harness.present.cache_view import (
        render_prune,
        render_prune_json,
        render_show,
        render_show_json,
    )
    from harness.store.result_cache import ENV_OFF, ResultCache, configured_root
    from harness.store.result_cache import disabled_by_environment as off

    cache = ResultCache(configured_root())
    if args.action == "prune":
        if not (args.all or args.older_than is not None or args.max_size is not None):
            raise ConfigError(
                "harness cache prune: say what to remove: --all, --older-than AGE or "
                "--max-size SIZE"
            )
        for flag, given in (("--older-than", args.older_than), ("--max-size", args.max_size)):
            if args.all and given is not None:
                raise ConfigError(
                    f"harness cache prune: --all and {flag} cannot be combined: --all removes "
                    f"every entry; drop it to remove only what {flag} selects"
                )
        result = cache.prune(
            everything=args.all,
            unused_for=args.older_than,
            max_bytes=args.max_size,
            dry_run=args.dry_run,
        )
        if args.format == "json":
            sys.stdout.write(
                render_prune_json(str(cache.root), result, dry_run=args.dry_run) + "\n"
            )
        else:
            width = output_width(args.width)
            sys.stdout.write(render_prune(result, dry_run=args.dry_run, width=width))
        return 0
    contents = cache.contents()
    if args.format == "json":
        sys.stdout.write(render_show_json(str(cache.root), contents) + "\n")
    else:
        why = f"{ENV_OFF} is set" if off() else None
        width = output_width(args.width)
        sys.stdout.write(render_show(str(cache.root), contents, off=why, width=width))
    return 0
