"""The Jinja2 environment the HTML report renders with: autoescape on, control characters dropped.

Every `{{ value }}` in a template is HTML-escaped (autoescape) after `strip_control`, so untrusted
text (model names, metadata, group values) renders as text; templates hold all the markup, and no
HTML is assembled in Python. Templates ship as package data in `harness/present/templates/`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from harness.present.cell_view import STAR_RULE
from harness.present.escaping import strip_control


def _finalize(value: Any) -> Any:
    """Applied to every expression before it is escaped: markup from macros passes as it is."""
    return value if isinstance(value, Markup) else strip_control(value)


@cache
def environment() -> Environment:
    """The report's template environment (built once; it holds no state between renders)."""
    env = Environment(
        loader=PackageLoader("harness.present", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["star_rule"] = STAR_RULE  # the legend of every page with a ★
    return env


def render(template: str, **context: Any) -> str:
    """Render `template` (a file in harness/present/templates/) with `context`."""
    return environment().get_template(template).render(**context)
