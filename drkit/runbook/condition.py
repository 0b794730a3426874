"""``when`` conditions: a tiny language rather than ``eval``.

Runbooks are shared files and a condition must never be able to run code: ``NAME``,
``not NAME``, ``NAME == "text"``, ``NAME != "text"``, joined by ``and``/``or`` (``and`` binds
tighter; no parentheses). Names are dotted paths into the run's context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from drkit.errors import ConfigError

ClauseOp = Literal["truthy", "falsy", "eq", "ne"]

_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>==|!=)"""
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_][A-Za-z0-9_-]*)*))"
)
_KEYWORDS = frozenset({"and", "or", "not"})


@dataclass(frozen=True)
class Clause:
    """One test: ``NAME`` (truthy), ``not NAME``, ``NAME == "text"`` or ``NAME != "text"``."""

    name: str
    op: ClauseOp
    literal: str | None = None


@dataclass(frozen=True)
class Condition:
    """A parsed ``when``: ``any_of`` holds ``and``-groups joined by ``or`` (no parentheses)."""

    text: str
    any_of: tuple[tuple[Clause, ...], ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the condition reads, in order, so callers can check them before a run."""
        return tuple(dict.fromkeys(c.name for group in self.any_of for c in group))

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        """True if any ``and``-group holds; dotted names are looked up in nested mappings.

        Every name is resolved before anything is decided, so a misspelt name fails on every run,
        not only on the runs where short-circuiting happens to reach it. Values compare as text,
        booleans as "true"/"false" (how TOML writes them), None as "".
        """
        values = {name: self._lookup(name, context) for name in self.names}
        return any(all(_holds(c, values[c.name]) for c in group) for group in self.any_of)

    def _lookup(self, name: str, context: Mapping[str, Any]) -> Any:
        current: Any = context
        parts = name.split(".")
        for depth, part in enumerate(parts):
            parent = ".".join(parts[:depth])
            if not isinstance(current, Mapping):
                detail = f'"{parent}" is {describe_value(current)}, not a table'
            elif part not in current:
                under = f" under {parent}" if depth else ""
                detail = f"known{under}: {', '.join(sorted(map(str, current))) or '(none)'}"
            else:
                current = current[part]
                continue
            raise ConfigError(f'condition "{self.text}": unknown name "{name}"; {detail}')
        return current


def _holds(clause: Clause, value: Any) -> bool:
    if clause.op in ("truthy", "falsy"):
        return bool(value) == (clause.op == "truthy")
    text = str(value).lower() if isinstance(value, bool) else "" if value is None else str(value)
    return (text == clause.literal) == (clause.op == "eq")


def parse_condition(text: str) -> Condition:
    """Parse a ``when`` string; errors quote it and say what was expected, and where."""
    tokens: list[tuple[str, str, int]] = []  # (kind, text, column)
    pos, body = 0, text.rstrip()
    while pos < len(body):
        match = _TOKEN.match(body, pos)
        if match is None or match.lastgroup is None:
            col = len(body) - len(body[pos:].lstrip()) + 1
            first = body[col - 1]
            hint = ("; parentheses are not supported ('and' binds tighter than 'or')"
                    if first in "()" else "; unterminated string" if first in "\"'" else "")
            raise ConfigError(f'bad condition "{text}": unexpected "{body[col - 1:col + 9]}" '
                              f"at column {col}{hint}")
        kind, value = match.lastgroup, match.group(match.lastgroup)
        tokens.append((value if value in _KEYWORDS else kind, value, match.start(kind) + 1))
        pos = match.end()
    groups: list[tuple[Clause, ...]] = []
    for or_part in _split(tokens, "or", text):
        groups.append(tuple(_clause(part, text) for part in _split(or_part, "and", text)))
    return Condition(text, tuple(groups))


def _split(
    tokens: list[tuple[str, str, int]], word: str, text: str
) -> list[list[tuple[str, str, int]]]:
    parts: list[list[tuple[str, str, int]]] = [[]]
    for token in tokens:
        if token[0] == word:
            if not parts[-1]:
                raise ConfigError(f'bad condition "{text}": nothing before "{word}" at column '
                                  f"{token[2]}")
            parts.append([])
        else:
            parts[-1].append(token)
    if not parts[-1]:
        where = f'after "{word}"' if len(parts) > 1 else "in it"
        raise ConfigError(f'bad condition "{text}": nothing {where}; write e.g. planned')
    return parts


def _clause(part: list[tuple[str, str, int]], text: str) -> Clause:
    kinds = [kind for kind, _, _ in part]
    if kinds == ["name"]:
        return Clause(part[0][1], "truthy")
    if kinds == ["not", "name"]:
        return Clause(part[1][1], "falsy")
    if kinds == ["name", "op", "str"]:
        literal = re.sub(r"\\(.)", r"\1", part[2][1][1:-1])
        return Clause(part[0][1], "eq" if part[1][1] == "==" else "ne", literal)
    raise ConfigError(
        f'bad condition "{text}": cannot read "{" ".join(t for _, t, _ in part)}" at column '
        f'{part[0][2]}; expected NAME, not NAME, NAME == "text" or NAME != "text"'
    )


def describe_value(value: object) -> str:
    """Name a TOML value the way the operator wrote it, for error messages."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f'string "{value}"'
    if is_number(value):
        return f"number {value}"
    kinds = {list: "an array", dict: "a table", type(None): "nothing"}
    return kinds.get(type(value), type(value).__name__)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
