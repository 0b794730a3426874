"""All four MM2 behaviour ranges of mm2-reference §3b are told apart and explained."""

from __future__ import annotations

import pytest

from drkit.errors import ConfigError
from drkit.mm2.versions import behaviour, parse_version


@pytest.mark.parametrize(("version", "label", "must_mention"), [
    ("2.8.2", "≤3.2", "verbatim"),
    ("3.2.3", "≤3.2", "verbatim"),
    ("3.3.0", "3.3–3.4.0", "overshoot"),
    ("3.4.0", "3.3–3.4.0", "overshoot"),
    ("3.4.1", "3.4.1–3.7.0", "restart"),
    ("3.7.0", "3.4.1–3.7.0", "restart"),
    ("3.7.1", "≥3.7.1", ""),
    ("3.8", "≥3.7.1", ""),
    ("4.2.0", "≥3.7.1", ""),
    ("4.1.0-rc2", "≥3.7.1", ""),
])
def test_ranges(version: str, label: str, must_mention: str) -> None:
    b = behaviour(version)
    assert (b.range_label, b.assumed) == (label, False)
    assert must_mention in " ".join(b.notes)
    assert bool(b.notes) == bool(must_mention)


def test_unset_version_is_assumed_current_and_says_so() -> None:
    b = behaviour(None)
    assert b.assumed and b.range_label == "≥3.7.1"
    assert "set [mm2] version" in b.notes[0]


def test_bad_version_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"not like 3\.7\.1"):
        parse_version("latest")
