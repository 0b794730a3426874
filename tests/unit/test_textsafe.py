"""drkit.textsafe: names from a cluster rendered safely on a terminal (issue 17, item 4)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drkit.textsafe import ELLIPSIS, clip, display_width, prom_label, safe, safe_units
from tests.hostile_names import (
    FORGED,
    HOSTILE,
    HOSTILE_IDS,
    HOSTILE_NAMES,
    assert_names_escaped,
    assert_no_forged_row,
    assert_renders_safely,
    assert_terminal_safe,
)


def unescape(shown: str) -> str:
    """Read ``safe``'s output back, by the rule its docstring states (proves it unambiguous)."""
    out: list[str] = []
    i = 0
    while i < len(shown):
        ch = shown[i]
        nxt = shown[i + 1] if i + 1 < len(shown) else ""
        if ch != "\\" or nxt not in "\\nrtxuU" or nxt == "":
            out.append(ch)
            i += 1
        elif nxt == "\\":
            out.append("\\")
            i += 2
        elif nxt in "nrt":
            out.append({"n": "\n", "r": "\r", "t": "\t"}[nxt])
            i += 2
        else:
            size = {"x": 2, "u": 4, "U": 8}[nxt]
            out.append(chr(int(shown[i + 2:i + 2 + size], 16)))
            i += 2 + size
    return "".join(out)


class TestSafe:
    @pytest.mark.parametrize(("raw", "shown"), [
        ("g\x1b[2J", "g\\x1b[2J"),                                  # ESC[2J clear screen
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),                  # OSC title
        ("\x1b]52;c;QUFB\x07", "\\x1b]52;c;QUFB\\x07"),              # OSC 52 clipboard write
        (f"ok\n{FORGED}", f"ok\\n{FORGED}"),                        # newline forging a row
        ("a\rb", "a\\rb"), ("a\tb", "a\\tb"), ("\x00", "\\x00"), ("\x7f", "\\x7f"),
        ("c1\x9b2J", "c1\\x9b2J"),                                  # C1 CSI
        ("\x85", "\\x85"), ("\x9d", "\\x9d"),
        ("x\u202egpj.exe", "x\\u202egpj.exe"),                      # bidi override
        ("\u2066a\u2069", "\\u2066a\\u2069"), ("\u202a\u202d", "\\u202a\\u202d"),
        ("a\u2028b\u2029", "a\\u2028b\\u2029"),                      # line/paragraph separators
        ("zw\u200b\u200c\u200d\ufeff", "zw\\u200b\\u200c\\u200d\\ufeff"),
        ("\U000e0001tag", "\\U000e0001tag"),                        # a Cf above the BMP
    ])
    def test_escapes(self, raw: str, shown: str) -> None:
        assert safe(raw) == shown
        assert_terminal_safe(shown, newlines=False)

    @pytest.mark.parametrize("name", ["orders", "café", "日本語", "grüße-€", "a b", "a\\b",
                                      "ends\\", "\\q", "e\u0301"])  # combining acute is kept
    def test_printable_text_is_unchanged(self, name: str) -> None:
        assert safe(name) == name

    @pytest.mark.parametrize(("raw", "shown"), [
        ("\\x1b", "\\\\x1b"),      # a real backslash that would read as an escape
        ("a\\nb", "a\\\\nb"),
        ("\\u202e", "\\\\u202e"),
        ("\\\x1b", "\\\\\\x1b"),   # a backslash before a real ESC
        ("\\\\q", "\\\\\\q"),      # two backslashes: the first precedes a backslash
    ])
    def test_backslash_doubled_only_when_it_would_read_as_an_escape(self, raw: str,
                                                                   shown: str) -> None:
        assert safe(raw) == shown and unescape(shown) == raw

    @pytest.mark.parametrize("name", HOSTILE_NAMES, ids=HOSTILE_IDS)
    def test_hostile_names_render_safely_and_read_back(self, name: str) -> None:
        shown = safe(name)
        assert_terminal_safe(shown, newlines=False)
        assert_renders_safely(shown)
        assert unescape(shown) == name

    @settings(max_examples=500)
    @given(st.text())
    def test_any_text_is_safe_and_unambiguous(self, text: str) -> None:
        shown = safe(text)
        assert_terminal_safe(shown, newlines=False)
        assert unescape(shown) == text


class TestClip:
    def test_short_text_is_only_sanitised(self) -> None:
        assert clip("orders", 10) == "orders"
        assert clip("a\x1bb", 10) == "a\\x1bb"

    def test_cut_with_ellipsis(self) -> None:
        assert clip("abcdefghij", 5) == "abcd" + ELLIPSIS
        assert clip("abcdefghij", 10) == "abcdefghij"
        assert clip("abc", 1) == ELLIPSIS and clip("abc", 0) == ""

    def test_never_splits_an_escape(self) -> None:
        # "ab\x1b" escaped is "ab\\x1b" (6 columns): at width 5 the escape goes whole.
        assert clip("ab\x1b[2J", 5) == "ab" + ELLIPSIS
        assert clip("ab\x1b[2J", 7) == "ab\\x1b" + ELLIPSIS
        for width in range(1, 40):
            out = clip(HOSTILE["osc52-long"], width)
            assert display_width(out) <= width
            assert_terminal_safe(out, newlines=False)
            # A cut never leaves a partial escape: every backslash escape in it is whole.
            body = out.removesuffix(ELLIPSIS)
            assert unescape(body) == HOSTILE["osc52-long"][:len(unescape(body))]
            assert not re.search(r"\\(x[0-9a-f]{0,1}|u[0-9a-f]{0,3}|U[0-9a-f]{0,7})$", body)

    def test_osc52_is_never_cut_open(self) -> None:
        name = HOSTILE["osc52-long"]
        for width in range(1, len(safe(name)) + 2):
            out = clip(name, width)
            assert "\x1b" not in out and "\x07" not in out

    def test_wide_characters_count_two_columns(self) -> None:
        assert display_width("日本語") == 6 and display_width(safe("a\x1b")) == 5
        assert clip("日本語グループ", 7) == "日本語" + ELLIPSIS       # 6 + 1
        assert clip("日本語グループ", 6) == "日本" + ELLIPSIS         # 語 would make 7
        assert clip("a日本", 4) == "a" + "日" + ELLIPSIS
        assert clip("日本", 4) == "日本"
        assert display_width(clip("ｆｕｌｌｗｉｄｔｈ", 5)) <= 5     # fullwidth forms: F

    def test_combining_marks_take_no_column(self) -> None:
        assert display_width("e\u0301") == 1
        assert clip("e\u0301e\u0301e\u0301", 3) == "e\u0301e\u0301e\u0301"

    @settings(max_examples=400)
    @given(st.text(), st.integers(min_value=0, max_value=60))
    def test_any_text_fits_and_is_safe(self, text: str, width: int) -> None:
        out = clip(text, width)
        assert display_width(out) <= width
        assert_terminal_safe(out, newlines=False)
        if width == 0:
            assert out == ""
        elif out.endswith(ELLIPSIS) and out != safe(text):
            kept = out.removesuffix(ELLIPSIS)
            assert safe(text).startswith(kept)
            assert "".join(safe_units(text)).startswith(kept)
        else:
            assert out == safe(text)


class TestPromLabel:
    @pytest.mark.parametrize(("raw", "label"), [
        ("orders", "orders"),
        ('say "hi"', 'say \\"hi\\"'),
        ("back\\slash", "back\\\\slash"),
        ("two\nlines", "two\\nlines"),
        ("日本\x1b[2J", "日本\x1b[2J"),   # the real name: the format escapes only \\, " and \n
        ("lone\ud800", "lone\ufffd"),    # not encodable as UTF-8
    ])
    def test_exposition_format(self, raw: str, label: str) -> None:
        assert prom_label(raw) == label

    @pytest.mark.parametrize("name", HOSTILE_NAMES, ids=HOSTILE_IDS)
    def test_round_trips_through_a_prometheus_parser(self, name: str) -> None:
        parser = pytest.importorskip("prometheus_client.parser")
        line = f'drkit_group_ready{{group="{prom_label(name)}"}} 1\n'
        (family,) = parser.text_string_to_metric_families(line)
        assert family.samples[0].labels["group"] == name


class TestHelper:
    def test_assert_terminal_safe_catches_raw_controls(self) -> None:
        for name in HOSTILE_NAMES:
            if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c != "\n"
                   for c in name):
                with pytest.raises(AssertionError, match="raw control"):
                    assert_terminal_safe(f"| {name} | commit |")
        assert_terminal_safe("row 1\nrow 2\n")
        with pytest.raises(AssertionError):
            assert_terminal_safe("row 1\nrow 2", newlines=False)

    def test_forged_row_is_caught(self) -> None:
        with pytest.raises(AssertionError, match="forged"):
            assert_no_forged_row(f"GROUP  ACTION\n{HOSTILE['newline-forged-row']}  commit\n")
        assert_no_forged_row(f"GROUP  ACTION\n{safe(HOSTILE['newline-forged-row'])}  commit\n")

    def test_names_escaped(self) -> None:
        assert_names_escaped(f"group {safe(HOSTILE['osc-title'])} refused", [HOSTILE["osc-title"]])
        with pytest.raises(AssertionError):
            assert_names_escaped("group (name dropped) refused", [HOSTILE["osc-title"]])
