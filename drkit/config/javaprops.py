"""A faithful reader for Java ``.properties`` files (the syntax of ``mm2.properties``).

MirrorMaker 2 loads its config with ``java.util.Properties.load``. drkit must see exactly the keys
and values MM2 sees, or it would translate offsets for the wrong topics or connect with the wrong
credentials. Hand-rolled "key=value" splitting gets the corner cases wrong: ``orders\\\\..*`` in the
file is the regex ``orders\\..*``, a value may continue over several lines, keys may hold escaped
separators, ``:`` and a bare space separate like ``=``. So this module follows the JDK's
``Properties.load`` / ``LineReader`` / ``loadConvert`` step by step, and adds what the JDK lacks:
the line each key came from, so that every error can say ``file:line``.

The parse is pure (:func:`parse_properties`); :func:`load_properties` only reads the bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from drkit.errors import ConfigError

__all__ = ["PropertiesFile", "load_properties", "parse_properties"]

# Java treats exactly these as blanks inside a line (not every Unicode space).
_BLANKS = " \t\f"
# A natural line ends at \r\n, \r or \n (checked in that order so \r\n counts once).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


@dataclass(frozen=True, repr=False)
class PropertiesFile:
    """The keys and values of one properties file, in file order, with where each came from.

    ``values`` keeps the order in which the *effective* definitions appear: when a key repeats,
    the last definition wins (as in Java) and the key moves to that position. ``lines`` maps each
    key to the 1-based line on which its logical line started.
    """

    source: str
    values: dict[str, str] = field(default_factory=dict, hash=False)
    lines: dict[str, int] = field(default_factory=dict, hash=False)

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of ``key``, or ``default`` when the file does not set it."""
        return self.values.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def line_of(self, key: str) -> int | None:
        """The 1-based line where ``key`` was (last) defined, or None if it is not set."""
        return self.lines.get(key)

    def where(self, key: str) -> str:
        """``source:line`` for ``key`` (just ``source`` when unset), ready for an error message."""
        line = self.lines.get(key)
        return self.source if line is None else f"{self.source}:{line}"

    def __repr__(self) -> str:
        # Values may hold passwords (sasl.jaas.config); a repr must never leak them.
        return f"PropertiesFile(source={self.source!r}, keys={len(self.values)})"


def load_properties(path: str | Path, encoding: str = "iso-8859-1") -> PropertiesFile:
    """Read and parse a properties file.

    The default encoding is ISO-8859-1 because that is what MM2 gets: ``MirrorMaker`` loads the
    file through ``Properties.load(InputStream)``, which decodes Latin-1. Reading it as UTF-8
    would give drkit different bytes from MM2 for any non-ASCII value.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not valid {encoding}: {exc.reason}") from exc
    return parse_properties(text, str(path))


def parse_properties(text: str, source_name: str) -> PropertiesFile:
    """Parse properties text as ``java.util.Properties.load`` does.

    ``source_name`` only labels error messages and :meth:`PropertiesFile.where`.
    Raises :class:`ConfigError` (``source:line: ...``) for a malformed ``\\uXXXX`` escape, the
    one input Java itself rejects.
    """
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for line_no, logical in _logical_lines(text):
        raw_key, raw_value = _split_key_value(logical)
        key = _unescape(raw_key, source_name, line_no, "key")
        value = _unescape(raw_value, source_name, line_no, "value")
        values.pop(key, None)
        values[key] = value
        lines[key] = line_no
    return PropertiesFile(source=source_name, values=values, lines=lines)


def _trailing_backslashes(segment: str) -> int:
    return len(segment) - len(segment.rstrip("\\"))


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield (first line number, raw logical line) like the JDK's ``Properties.LineReader``.

    Blank lines and comment lines (first non-blank char ``#`` or ``!``) are skipped; a comment
    line never continues, even when it ends in a backslash. A line ending in an odd number of
    backslashes continues: the last backslash goes, and the next line's leading blanks go too.
    The escapes themselves stay in place; :func:`_unescape` handles them after the key split.
    """
    natural = _LINE_BREAK.split(text)
    index = 0
    while index < len(natural):
        start = index + 1
        segment = natural[index].lstrip(_BLANKS)
        index += 1
        if not segment or segment[0] in "#!":
            continue
        parts: list[str] = []
        while _trailing_backslashes(segment) % 2 == 1:
            parts.append(segment[:-1])
            if index >= len(natural):  # a backslash at end of file is dropped
                segment = ""
                break
            segment = natural[index].lstrip(_BLANKS)
            index += 1
            if not parts[-1] and len(parts) == 1:
                # The line was a lone backslash: Java starts afresh on the next line, where
                # a '#' or '!' again begins a comment.
                parts.clear()
                start = index
                if not segment or segment[0] in "#!":
                    segment = ""
                    break
        parts.append(segment)
        logical = "".join(parts)
        if logical:
            yield start, logical


def _split_key_value(line: str) -> tuple[str, str]:
    """Split a raw logical line into raw key and raw value, as ``Properties.load0`` does.

    The key ends at the first unescaped ``=``, ``:`` or blank. Blanks after it are skipped, then
    at most one ``=`` or ``:`` (only if the key did not already end at one), then blanks again.
    """
    key_end = len(line)
    value_start = len(line)
    has_separator = False
    escaped = False
    for pos, char in enumerate(line):
        if not escaped and char in "=:":
            key_end, value_start, has_separator = pos, pos + 1, True
            break
        if not escaped and char in _BLANKS:
            key_end, value_start = pos, pos + 1
            break
        escaped = (not escaped) if char == "\\" else False
    while value_start < len(line):
        char = line[value_start]
        if char not in _BLANKS:
            if has_separator or char not in "=:":
                break
            has_separator = True
        value_start += 1
    return line[:key_end], line[value_start:]


def _unescape(raw: str, source: str, line: int, what: str) -> str:
    """Resolve backslash escapes like ``Properties.loadConvert``.

    ``\\t \\n \\r \\f`` and ``\\uXXXX`` are special; a backslash before any other character
    yields that character. ``\\u`` escapes are UTF-16 code units, so a surrogate pair written as
    two escapes becomes one code point, as in a Java string.
    """
    if "\\" not in raw:
        return raw
    out: list[str] = []
    pos = 0
    surrogates = False
    while pos < len(raw):
        char = raw[pos]
        pos += 1
        if char != "\\" or pos >= len(raw):
            out.append(char)
            continue
        char = raw[pos]
        pos += 1
        if char == "u":
            digits = raw[pos : pos + 4]
            if not _HEX4.fullmatch(digits):
                raise ConfigError(
                    f"{source}:{line}: malformed \\uXXXX escape in {what}: \\u must be followed "
                    "by four hex digits"
                )
            code = int(digits, 16)
            surrogates = surrogates or 0xD800 <= code <= 0xDFFF
            out.append(chr(code))
            pos += 4
        else:
            out.append(_SIMPLE_ESCAPES.get(char, char))
    result = "".join(out)
    if surrogates:
        result = result.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return result
