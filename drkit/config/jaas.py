"""Parsing a ``sasl.jaas.config`` value the way Kafka's ``JaasConfig`` does."""

from __future__ import annotations

import re
from collections.abc import Iterator

_JAAS_FLAGS = ("required", "requisite", "sufficient", "optional")
_JAAS_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def parse_jaas_config(text: str) -> tuple[str, dict[str, str]]:
    """Parse a ``sasl.jaas.config`` value into (login module class, options).

    Follows Kafka's ``JaasConfig`` (a ``StreamTokenizer``): ``Module flag key=value ... ;``, values
    bare or quoted with ``"`` or ``'`` and backslash escapes, ``//`` and ``/* */`` comments, and
    exactly one module. Raises ValueError with a message that never quotes the text, because the
    text holds a password.
    """
    tokens = list(_jaas_tokens(text))
    if not tokens or tokens[0][0] != "word":
        raise ValueError("expected a login module class name")
    module = tokens[0][1]
    if len(tokens) < 2 or tokens[1][0] != "word" or tokens[1][1].lower() not in _JAAS_FLAGS:
        raise ValueError(f"expected a control flag ({'/'.join(_JAAS_FLAGS)}) after {module}")
    options: dict[str, str] = {}
    pos = 2
    while pos < len(tokens) and tokens[pos] != ("op", ";"):
        if (
            pos + 2 >= len(tokens)
            or tokens[pos][0] != "word"
            or tokens[pos + 1] != ("op", "=")
            or tokens[pos + 2][0] == "op"
        ):
            raise ValueError("expected key=value options after the control flag")
        options[tokens[pos][1]] = tokens[pos + 2][1]
        pos += 3
    if pos >= len(tokens):
        raise ValueError("the login module entry must end with ';'")
    if pos + 1 != len(tokens):
        raise ValueError("must contain exactly one login module")
    return module, options


def _jaas_tokens(text: str) -> Iterator[tuple[str, str]]:
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
        elif text.startswith("//", pos):
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                raise ValueError("unterminated /* comment")
            pos = end + 2
        elif char in "=;":
            yield "op", char
            pos += 1
        elif char in "\"'":
            value, pos = _jaas_quoted(text, pos)
            yield "str", value
        else:
            start = pos
            while pos < len(text) and not (
                text[pos].isspace() or text[pos] in "=;\"'" or text.startswith(("//", "/*"), pos)
            ):
                pos += 1
            yield "word", text[start:pos]


def _jaas_quoted(text: str, pos: int) -> tuple[str, int]:
    quote = text[pos]
    out: list[str] = []
    pos += 1
    while pos < len(text):
        char = text[pos]
        if char == quote:
            return "".join(out), pos + 1
        if char == "\\" and pos + 1 < len(text):
            nxt = text[pos + 1]
            octal = re.match(r"[0-3][0-7]{0,2}|[4-7][0-7]?", text[pos + 1 :])
            if octal:
                out.append(chr(int(octal.group(), 8)))
                pos += 1 + len(octal.group())
                continue
            out.append(_JAAS_ESCAPES.get(nxt, nxt))
            pos += 2
            continue
        out.append(char)
        pos += 1
    raise ValueError("unterminated quoted value")
