"""drkit.config.javaprops must read a .properties file exactly as java.util.Properties.load does."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.config.javaprops import PropertiesFile, load_properties, parse_properties
from drkit.errors import ConfigError

# kafka-lab.md §4, verbatim.
KAFKA_LAB_MM2 = r"""clusters = primary, backup
primary.bootstrap.servers = 127.0.0.1:19092
backup.bootstrap.servers = 127.0.0.1:29092
primary->backup.enabled = true
# Java .properties eats single backslashes: write \\. to get the regex \.
primary->backup.topics = orders\\..*
backup->primary.enabled = false
# the connectors' own topics and the Connect internal topics, on 1-broker clusters
replication.factor = 1
checkpoints.topic.replication.factor = 1
heartbeats.topic.replication.factor = 1
offset-syncs.topic.replication.factor = 1
config.storage.replication.factor = 1
offset.storage.replication.factor = 1
status.storage.replication.factor = 1
offset.storage.partitions = 1
status.storage.partitions = 1
# speed (values from MirrorConnectorsIntegrationBaseTest)
refresh.topics.interval.seconds = 1
refresh.groups.interval.seconds = 1
emit.checkpoints.interval.seconds = 1
emit.heartbeats.interval.seconds = 1
sync.group.offsets.enabled = true
sync.group.offsets.interval.seconds = 1
sync.topic.configs.enabled = true
sync.topic.configs.interval.seconds = 1
sync.topic.acls.enabled = false
offset.lag.max = 0
primary.offset.flush.interval.ms = 1000
backup.offset.flush.interval.ms = 1000
tasks.max = 1
dedicated.mode.enable.internal.rest = false
"""


def parse(text: str) -> dict[str, str]:
    return dict(parse_properties(text, "t.properties").values)


# --- separators -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        ("a=b", "a", "b"),
        ("a:b", "a", "b"),
        ("a b", "a", "b"),
        ("a\tb", "a", "b"),
        ("a\fb", "a", "b"),
        ("a = b", "a", "b"),
        ("a   :   b", "a", "b"),
        ("a =b", "a", "b"),
        ("a    b c", "a", "b c"),
        ("a=:b", "a", ":b"),  # only one separator char is consumed
        ("a==b", "a", "=b"),
        ("a :=b", "a", "=b"),
        ("a = = b", "a", "= b"),
        ("a=b=c", "a", "b=c"),
        ("a", "a", ""),
        ("a=", "a", ""),
        ("a   ", "a", ""),
        ("a :", "a", ""),
        ("=b", "", "b"),
        (":b", "", "b"),
    ],
)
def test_separators(line: str, key: str, value: str) -> None:
    assert parse(line) == {key: value}


def test_leading_whitespace_is_skipped_trailing_kept() -> None:
    assert parse("   \t\fkey = value  \t") == {"key": "value  \t"}


def test_blank_and_whitespace_only_lines_are_skipped() -> None:
    assert parse("\n   \n\t\na=1\n\n") == {"a": "1"}


def test_empty_text() -> None:
    result = parse_properties("", "x")
    assert dict(result.values) == {} and len(result) == 0


# --- comments ---------------------------------------------------------------------------------


def test_hash_and_bang_comments() -> None:
    text = "# a comment\n! another\n   # indented\n\t! indented\na=1\n"
    assert parse(text) == {"a": "1"}


def test_hash_inside_value_is_not_a_comment() -> None:
    assert parse("a = b # c\nurl=http://x/#frag") == {"a": "b # c", "url": "http://x/#frag"}


def test_comment_line_ending_in_backslash_does_not_continue() -> None:
    assert parse("# comment \\\na=1") == {"a": "1"}


# --- continuation -----------------------------------------------------------------------------


def test_continuation_strips_next_line_leading_whitespace() -> None:
    text = "list = one, \\\n        two, \\\n\t three\nnext=1"
    assert parse(text) == {"list": "one, two, three", "next": "1"}


def test_even_backslashes_do_not_continue() -> None:
    assert parse("a = x\\\\\nb = y") == {"a": "x\\", "b": "y"}


def test_three_backslashes_continue_and_keep_one() -> None:
    assert parse("a = x\\\\\\\n  y") == {"a": "x\\y"}


def test_continuation_line_starting_with_hash_is_value() -> None:
    assert parse("a = x\\\n  # not a comment") == {"a": "x# not a comment"}


def test_blank_line_after_continuation_ends_the_logical_line() -> None:
    assert parse("a = x\\\n\nb = y") == {"a": "x", "b": "y"}
    assert parse("a = x\\\n   \nb = y") == {"a": "x", "b": "y"}


def test_backslash_at_end_of_file_is_dropped() -> None:
    assert parse("a = x\\") == {"a": "x"}


def test_continuation_in_key() -> None:
    assert parse("ke\\\n  y = v") == {"key": "v"}


def test_lone_backslash_line_starts_a_fresh_logical_line() -> None:
    assert parse("\\\n# comment now\na=1") == {"a": "1"}
    assert parse("\\\n  a=1") == {"a": "1"}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_terminators(newline: str) -> None:
    text = newline.join(["a=1", "b = 2\\", "   3", "c=4"])
    result = parse_properties(text, "t")
    assert dict(result.values) == {"a": "1", "b": "23", "c": "4"}
    assert dict(result.lines) == {"a": 1, "b": 2, "c": 4}


# --- escapes ----------------------------------------------------------------------------------


def test_simple_escapes() -> None:
    assert parse(r"a = x\ty\nz\rw\fv\\u") == {"a": "x\ty\nz\rw\fv\\u"}


def test_unicode_escape() -> None:
    assert parse(r"a = \u0041\u00e9\u20AC") == {"a": "Aé€"}


def test_unicode_escape_in_key() -> None:
    assert parse(r"\u006bey = v") == {"key": "v"}


def test_surrogate_pair_escape_becomes_one_code_point() -> None:
    assert parse(r"a = \uD83D\uDE00") == {"a": "\U0001f600"}


def test_backslash_before_other_char_yields_that_char() -> None:
    assert parse(r"a = \q\:\=\#\!\ \"") == {"a": 'q:=#! "'}


def test_regex_needs_double_backslash() -> None:
    assert parse(r"t = orders\\..*") == {"t": r"orders\..*"}
    assert parse(r"t = orders\..*") == {"t": "orders..*"}  # what a single backslash gives


def test_key_may_contain_escaped_separators() -> None:
    assert parse(r"a\=b\:c\ d = e") == {"a=b:c d": "e"}


def test_escaped_separator_after_even_backslashes_splits() -> None:
    assert parse(r"a\\=b") == {"a\\": "b"}


@pytest.mark.parametrize(
    "text", [r"a = \u12", r"a = \uXYZW", r"a = \u12G4 tail", r"\u00zz = v", "a = \\u"]
)
def test_malformed_unicode_escape_names_file_and_line(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^mm2\.properties:3: malformed \\uXXXX escape"):
        parse_properties("# c\nok=1\n" + text, "mm2.properties")


def test_malformed_escape_reports_start_line_of_continued_line() -> None:
    with pytest.raises(ConfigError, match=r"f\.properties:2:"):
        parse_properties("x=1\na = one \\\n  two \\u12", "f.properties")


# --- duplicates, order, lines -----------------------------------------------------------------


def test_last_duplicate_wins_with_its_line() -> None:
    result = parse_properties("a=1\nb=2\na=3\n", "f")
    assert dict(result.values) == {"b": "2", "a": "3"}
    assert list(result) == ["b", "a"]
    assert result.line_of("a") == 3
    assert result.where("a") == "f:3"


def test_line_numbers_count_comments_and_continuations() -> None:
    text = "# header\n\na = 1 \\\n  2 \\\n  3\n! c\nb=4\n"
    result = parse_properties(text, "f")
    assert result.lines == {"a": 3, "b": 7}
    assert result.line_of("missing") is None
    assert result.where("missing") == "f"


def test_properties_file_accessors() -> None:
    result = parse_properties("a=1", "src")
    assert result.get("a") == "1"
    assert result.get("b") is None and result.get("b", "d") == "d"
    assert "a" in result and "b" not in result
    assert result.source == "src"


def test_repr_shows_no_values() -> None:
    result = parse_properties("sasl.jaas.config = x password='canary-secret';", "f")
    assert "canary-secret" not in repr(result)
    assert repr(result) == "PropertiesFile(source='f', keys=1)"


# --- the kafka-lab example --------------------------------------------------------------------


def test_kafka_lab_example_verbatim() -> None:
    result = parse_properties(KAFKA_LAB_MM2, "mm2.properties")
    assert result.get("clusters") == "primary, backup"
    assert result.get("primary.bootstrap.servers") == "127.0.0.1:19092"
    assert result.get("primary->backup.enabled") == "true"
    assert result.get("primary->backup.topics") == r"orders\..*"
    assert result.get("backup->primary.enabled") == "false"
    assert result.get("offset.lag.max") == "0"
    assert result.get("dedicated.mode.enable.internal.rest") == "false"
    assert result.line_of("primary->backup.topics") == 6
    assert result.line_of("dedicated.mode.enable.internal.rest") == 32
    assert len(result) == 29


# --- load_properties --------------------------------------------------------------------------


def test_load_properties_reads_file(tmp_path: Path) -> None:
    path = tmp_path / "mm2.properties"
    path.write_text(KAFKA_LAB_MM2)
    result = load_properties(path)
    assert isinstance(result, PropertiesFile)
    assert result.source == str(path)
    assert result.get("primary->backup.topics") == r"orders\..*"


def test_load_properties_decodes_latin1_like_java(tmp_path: Path) -> None:
    path = tmp_path / "p.properties"
    path.write_bytes("name = caf\u00e9\n".encode("latin-1"))
    assert load_properties(path).get("name") == "caf\u00e9"
    path.write_bytes("name = caf\u00e9\n".encode())
    assert load_properties(path).get("name") == "caf\u00c3\u00a9"  # as MM2 would see it
    assert load_properties(path, encoding="utf-8").get("name") == "caf\u00e9"


def test_load_properties_bad_encoding_names_line(tmp_path: Path) -> None:
    path = tmp_path / "p.properties"
    path.write_bytes(b"a=1\nb=\xff\n")
    with pytest.raises(ConfigError, match=r"p\.properties:2: not valid utf-8"):
        load_properties(path, encoding="utf-8")


def test_load_properties_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read .*nope\.properties"):
        load_properties(tmp_path / "nope.properties")


def test_load_properties_error_names_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.properties"
    path.write_text("a=1\nb=\\uZZZZ\n")
    with pytest.raises(ConfigError, match=rf"^{path}:2: malformed"):
        load_properties(path)
