"""Reading YAML that someone else wrote (specs, gate policies): refuse early, in one line.

In order: the file's size is checked before it is read (a 1 GiB file is refused from its `stat`,
and at most one byte more than the limit is ever read); then PyYAML's safe loader runs with
four more refusals, each naming the line: aliases (`*name`: specs never need them, and they
make alias bombs), nesting deeper than `MAX_DEPTH` (a spec nested thousands deep would otherwise
end in a RecursionError), a key given twice in one mapping (YAML would keep the last one
silently, so a second `suites:` section would drop the first without a word), and the YAML 1.1
numbers whose value is not what their digits say: `017` is octal 15 and `1:30` is base-60 90
(`seed: 017` ran seed 15, `timeout: 1:30` stopped jobs after 90 s), where YAML 1.2 and every
other reader take 17 and text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from harness.core.errors import HarnessError

MAX_YAML_BYTES = 1 << 20  # a spec or a policy is a short text
MAX_INT_CHARS = 100  # a whole number's text (a seed, a count): 100 characters is ample
MAX_DEPTH = 64  # nesting levels of mappings and lists (a real spec uses fewer than 10)


def read_yaml_file(
    path: Path, *, source: str, error: type[HarnessError], max_bytes: int = MAX_YAML_BYTES
) -> Any:
    """The parsed YAML of `path` (a regular file); `source` names it in every error."""
    if not path.is_file():
        raise error(f"{source} not found (or not a regular file): {path}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(_too_large(source, max_bytes, size))
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)  # a file that grew since the stat, or lies about it
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else err
        raise error(f"cannot read {source}: {reason}") from None
    return parse_yaml(text, source=source, error=error, max_bytes=max_bytes)


def parse_yaml(
    text: str, *, source: str, error: type[HarnessError], max_bytes: int = MAX_YAML_BYTES
) -> Any:
    """Parse YAML text with the refusals above; errors are `error` with one line."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > max_bytes:
        raise error(_too_large(source, max_bytes, size))
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        what = "YAML refused" if isinstance(err, RefusedYAML) else "malformed YAML"
        raise error(f"{source}: {what}{where}: {problem}") from None


def _too_large(source: str, limit: int, size: int) -> str:
    return f"{source}: file is larger than {limit} bytes ({size:,} bytes); is this the right file?"


class RefusedYAML(yaml.MarkedYAMLError):
    """Valid YAML that these files must not use (an alias, deep nesting, a repeated key)."""


_OCTAL = re.compile(r"[-+]?0[0-7_]+")


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases, nesting beyond MAX_DEPTH, duplicate keys, or
    YAML 1.1's leading-zero octal and base-60 numbers."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        mark: Any = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            raise RefusedYAML(None, None, "YAML aliases (*name) are not allowed here", mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise RefusedYAML(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:  # type: ignore[override]
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: the base class refuses it with its own message
            if first is not None:
                raise RefusedYAML(
                    None,
                    None,
                    f"key {str(key)[:60]!r} appears twice in one mapping (first at line "
                    f"{first.line + 1}); YAML would silently keep only the last — remove one",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def _scalar(self, build: Any, node: Any) -> Any:
        """`build(node)`, PyYAML's constructor of an explicit tag (`!!int x`, `!!bool maybe`),
        with its ValueError/KeyError/... on a value the tag cannot take refused by line."""
        try:
            return build(node)
        except (ValueError, IndexError, KeyError, AttributeError, OverflowError):
            tag = "!!" + str(node.tag).rsplit(":", 1)[-1]
            raise RefusedYAML(
                None,
                None,
                f"{str(node.value)[:60]!r} is not a valid {tag} value; write a valid one, or "
                "quote it (with no !!tag) for text",
                node.start_mark,
            ) from None

    def construct_yaml_bool(self, node: Any) -> Any:
        return self._scalar(super().construct_yaml_bool, node)

    def construct_yaml_timestamp(self, node: Any) -> Any:
        return self._scalar(super().construct_yaml_timestamp, node)

    def construct_yaml_int(self, node: Any) -> Any:
        text = str(node.value)
        if len(text) > MAX_INT_CHARS:  # past 4300 digits Python's int() and str() raise
            raise RefusedYAML(
                None,
                None,
                f"{text[:20]!r}... is a whole number written in {len(text):,} characters; no "
                f"setting takes one over {MAX_INT_CHARS}",
                node.start_mark,
            )
        value = self._scalar(super().construct_yaml_int, node)
        if ":" in text:
            raise RefusedYAML(None, None, _base_60(text, value), node.start_mark)
        decimal = int(text.replace("_", ""), 10) if _OCTAL.fullmatch(text) else value
        if decimal != value:
            raise RefusedYAML(
                None,
                None,
                f"{text!r} is an octal number to YAML 1.1 ({value}); write {decimal} (or quote "
                f"it, '{text}', for text)",
                node.start_mark,
            )
        return value

    def construct_yaml_float(self, node: Any) -> Any:
        value = self._scalar(super().construct_yaml_float, node)
        text = str(node.value)
        if ":" in text:
            raise RefusedYAML(None, None, _base_60(text, value), node.start_mark)
        return value


def _base_60(text: str, value: object) -> str:
    return (
        f"{text!r} is a base-60 number to YAML 1.1 ({value}); quote it ('{text}') for text, or "
        "write the number you mean"
    )


StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_yaml_float)
StrictLoader.add_constructor("tag:yaml.org,2002:bool", StrictLoader.construct_yaml_bool)
StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp)
