"""Text an operator reads at 3 a.m.: ≤100 columns, units on every number.

Shared by every renderer (the plan, runs, status, DNS) so all of them clip and age alike.
"""

from __future__ import annotations

WIDTH = 100


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def age(seconds: float | None) -> str:
    """An age in the unit a human reads fastest: ``45 s``, ``12 min``, ``3.5 h``; ``-`` if None."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
