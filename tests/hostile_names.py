"""Hostile group/topic names, and the checks that human output renders them safely (issue 17/4).

Feed ``HOSTILE_NAMES`` through every table and message drkit prints (plan, approval prompt,
``NEXT:`` lines, errors, status, runs) and check the whole output with
``assert_renders_safely``::

    @pytest.mark.parametrize("name", HOSTILE_NAMES, ids=HOSTILE_IDS)
    def test_plan_table_is_terminal_safe(name: str) -> None:
        out = render_plan(plan_with_group(name))
        assert_renders_safely(out)
        assert_names_escaped(out, [name])

Kafka topic names are limited to ``[a-zA-Z0-9._-]``, but the topic names drkit prints also come
from checkpoint and offset-sync keys, which anyone who can write those topics controls: feed
these names as topics too. JSON output is not checked here (json.dumps escapes control
characters; parse it and compare names instead).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

FORGED = "FORGED-ROW"
"""Starts the second line of the newline name: no output line may start with it."""

HOSTILE: dict[str, str] = {
    "csi-clear-screen": "billing\x1b[2J\x1b[H",
    "csi-colour": "\x1b[31mred\x1b[0m",
    "osc-title": "\x1b]0;pwned\x07orders",
    "osc52-clipboard": "g\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07",
    # Longer than any column: clip() must drop the sequence whole, never cut it open.
    "osc52-long": "g-" + "x" * 40 + "\x1b]52;c;" + "QUFB" * 30 + "\x07",
    "osc-st-terminated": "\x1b]0;title\x1b\\tail",
    "dcs": "\x1bPq#0;2;0;0;0\x1b\\",
    "newline-forged-row": f"ok\n{FORGED}  commit  0 -> 999999",
    "carriage-return": "innocent\rOVERWRITTEN",
    "crlf": "a\r\nb",
    "tab": "col\tcol",
    "nul": "nul\x00byte",
    "bell": "ding\x07",
    "backspace": "abc\x08\x08\x08xyz",
    "del": "del\x7f",
    "c1-csi": "c1\x9b2J",
    "c1-osc": "c1\x9d0;pwned\x9c",
    "c1-nel": "next\x85line",
    "line-separator": "line\u2028sep",
    "paragraph-separator": "para\u2029sep",
    "bidi-override": "invoice\u202egpj.exe",
    "bidi-embedding": "\u202aLRE\u202bRLE\u202c",
    "bidi-isolate": "\u2066iso\u2067late\u2068\u2069",
    "rlm-lrm": "a\u200fb\u200ec",
    "zero-width": "bil\u200bling\u200d\ufeff",
    "backslash-lookalike": "looks\\x1b[2Jescaped",  # a real backslash, not an ESC
    "wide": "日本語グループ名",
    "accented": "café-€",
}
HOSTILE_NAMES: list[str] = list(HOSTILE.values())
HOSTILE_IDS: list[str] = list(HOSTILE)

_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"})


def raw_controls(text: str, *, newlines: bool = True) -> list[tuple[int, str]]:
    """(index, repr) of every character a terminal would act on; ``newlines`` allows ``\\n``
    (a rendered table has rows) but never ``\\r``."""
    return [(i, repr(ch)) for i, ch in enumerate(text)
            if unicodedata.category(ch) in _FORBIDDEN_CATEGORIES
            and not (newlines and ch == "\n")]


def assert_terminal_safe(text: str, *, newlines: bool = True) -> None:
    """Fail on any raw control/format/separator character in ``text`` (C0 incl. ESC, NUL, CR,
    tab; DEL; C1; U+2028/9; bidi controls; zero-width characters), naming where it is."""
    found = raw_controls(text, newlines=newlines)
    if found:
        where = ", ".join(f"{r} at {i} (…{text[max(0, i - 15):i]!r})" for i, r in found[:5])
        raise AssertionError(f"{len(found)} raw control character(s) in output: {where}")


def assert_no_forged_row(text: str) -> None:
    """Fail if a name's newline reached the output raw and started a line of its own."""
    forged = [line for line in text.splitlines() if line.lstrip().startswith(FORGED)]
    if forged:
        raise AssertionError(f"a name forged an output line: {forged[0]!r}")


def assert_renders_safely(text: str) -> None:
    """The whole human output of a renderer: no raw control character, no forged row."""
    assert_terminal_safe(text)
    assert_no_forged_row(text)


def assert_names_escaped(text: str, names: Iterable[str]) -> None:
    """Each name shows up escaped (its ``safe`` form, or the start of it if clipped), so the
    renderer did print the name rather than drop it."""
    from drkit.textsafe import safe

    for name in names:
        shown = safe(name)
        head = shown[:6]
        assert head in text, f"{name!r} not in the output (looked for {head!r}): {text[:300]!r}"
