"""Names from a cluster, made safe to print on an operator's terminal (issue 17, item 4).

Group, topic and alias names come from Kafka (or from anyone who can write MM2's internal
topics), so they may hold terminal control sequences: ``ESC[2J`` clears the screen, an OSC
sequence sets the title or (OSC 52) writes the clipboard, a newline forges a table row, a bidi
override reverses what follows. Human output passes every such name through ``safe`` (or
``clip``, which sanitises first); machine formats escape by their own rules (``prom_label``
for Prometheus; JSON already escapes control characters).

What ``safe`` escapes, each shown as a backslash escape instead of acting on the terminal:

- Unicode category Cc: C0 controls (NUL … US, including ESC, BEL, newline, tab, CR), DEL, and
  the C1 controls U+0080–U+009F (``\\x9b`` is a one-byte CSI on some terminals);
- Cf (format): bidi embeddings/overrides U+202A–U+202E and isolates U+2066–U+2069, LRM/RLM,
  ALM, zero-width space/joiners U+200B–U+200D, BOM U+FEFF, soft hyphen, …: invisible
  characters that reorder or hide text, so a name cannot pose as another (an emoji sequence
  with a zero-width joiner is shown with ``\\u200d``; names are not decoration);
- Zl, Zp: the line and paragraph separators U+2028, U+2029;
- Cs (lone surrogates, from undecodable bytes) and Cn (unassigned: a future control).

Escapes: ``\\n``, ``\\r``, ``\\t``; ``\\xHH`` up to U+00FF; ``\\uHHHH``; ``\\UHHHHHHHH`` above
U+FFFF (lowercase hex). Everything else is kept, including printable non-ASCII (``é``, ``日本``)
and private-use characters.

Backslash: a name's own backslash is doubled **only where it would otherwise read as the start
of an escape**, i.e. when the next character is one of ``n r t x u U \\`` or is itself escaped.
So ``a\\b`` prints as it is, while a name spelled ``\\x1b`` with a real backslash prints as
``\\\\x1b`` and can never be mistaken for a real ESC. Reading left to right, ``\\\\`` is one
backslash, ``\\`` + one of ``n r t x u U`` starts an escape, and any other backslash is itself.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Final

__all__ = ["ELLIPSIS", "clip", "display_width", "prom_label", "safe", "safe_units"]

ELLIPSIS: Final = "…"

_ESCAPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"})
_SHORT: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# After a backslash, these would read as (the start of) an escape.
_ESCAPE_LEADS: Final = frozenset("nrtxuU\\")


@lru_cache(maxsize=4096)
def _escape(ch: str) -> str | None:
    """The escape for one character, or None if it prints as itself."""
    if ch in _SHORT:
        return _SHORT[ch]
    if unicodedata.category(ch) not in _ESCAPED_CATEGORIES:
        return None
    cp = ord(ch)
    if cp <= 0xFF:
        return f"\\x{cp:02x}"
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def safe_units(text: str) -> list[str]:
    """``safe(text)`` as a list of units: one per character of ``text``, an escape being one
    unit. ``clip`` cuts between units, so it never splits an escape."""
    units: list[str] = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        if ch == "\\":
            nxt = text[i + 1] if i < last else ""
            ambiguous = nxt != "" and (nxt in _ESCAPE_LEADS or _escape(nxt) is not None)
            units.append("\\\\" if ambiguous else "\\")
            continue
        esc = _escape(ch)
        units.append(ch if esc is None else esc)
    return units


def safe(text: str) -> str:
    """``text`` with every control, format and separator character shown as an escape.

    No I/O and no truncation; printable text is returned unchanged (the same object).
    """
    if text.isprintable() and "\\" not in text:
        return text  # the common case: nothing to escape (isprintable is False for Cc/Cf/Z*)
    return "".join(safe_units(text))


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _unit_width(unit: str) -> int:
    return len(unit) if len(unit) > 1 else _char_width(unit)  # an escape is ASCII


def display_width(shown: str) -> int:
    """Terminal columns an already-safe string (``safe``/``clip`` output) takes: East Asian
    wide/fullwidth characters count 2, combining marks 0, everything else 1 (ambiguous-width
    characters as 1, like most terminals in a non-CJK locale)."""
    return sum(_char_width(ch) for ch in shown)


def clip(text: str, width: int) -> str:
    """``safe(text)`` cut to at most ``width`` terminal columns, ending with ``…`` when cut.

    Sanitises first, then cuts between whole units, so an escape such as ``\\x1b`` is kept whole
    or dropped whole, and a wide character never straddles the limit.
    """
    if width <= 0:
        return ""
    units = safe_units(text)
    widths = [_unit_width(u) for u in units]
    if sum(widths) <= width:
        return "".join(units)
    room = width - 1  # the ellipsis takes one column
    kept: list[str] = []
    used = 0
    for unit, w in zip(units, widths, strict=True):
        if used + w > room:
            break
        kept.append(unit)
        used += w
    return "".join(kept) + ELLIPSIS


def prom_label(text: str) -> str:
    """A Prometheus label value (text exposition format): ``\\`` → ``\\\\``, ``"`` → ``\\"``,
    line feed → ``\\n``; everything else kept, so the metric names the real group.

    Lone surrogates (not encodable as UTF-8, which the format requires) become U+FFFD.
    """
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    if not out.isascii():
        out = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in out)
    return out
