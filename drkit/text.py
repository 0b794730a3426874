"""Text an operator reads at 3 a.m.: ≤100 columns, units on every number.

Shared by every renderer (the plan, runs, status, DNS) so all of them clip and age alike.
"""

from __future__ import annotations

import unicodedata

from drkit.textsafe import clip as _safe_clip
from drkit.textsafe import display_width, safe

WIDTH = 100

__all__ = ["WIDTH", "age", "clip", "display_width", "fit", "guard", "safe"]


def clip(text: str, width: int) -> str:
    """``text`` made terminal-safe and cut to ``width`` columns, with an ellipsis when cut.

    The one clip: :func:`drkit.textsafe.clip` (control characters escaped, an escape never cut
    open). Give it raw text (a name, a message), not text that is already safe.
    """
    return _safe_clip(text, width)


def fit(shown: str, width: int) -> str:
    """An already-rendered line (built from ``safe``/``clip`` output) cut to ``width`` columns.

    Unlike :func:`clip` it does not escape again (a ``\\x1b`` that ``safe`` wrote stays as it
    is); any raw control character still in it is escaped by :func:`guard` first.
    """
    shown = guard(shown)
    if display_width(shown) <= width:
        return shown
    out: list[str] = []
    used = 0
    for ch in shown:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


_GUARDED = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"})


def guard(text: str, *, newlines: bool = True) -> str:
    """Last line of defence for text about to reach a terminal: every raw control, format or
    separator character is escaped as :func:`safe` would (newlines kept when ``newlines``), and
    nothing else is touched, so text already made safe is not escaped twice."""
    if text.isprintable():
        return text
    return "".join(
        ch if (newlines and ch == "\n") or unicodedata.category(ch) not in _GUARDED
        else safe(ch) for ch in text)


def age(seconds: float | None) -> str:
    """An age in the unit a human reads fastest: ``45 s``, ``12 min``, ``3.5 h``; ``-`` if None."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
