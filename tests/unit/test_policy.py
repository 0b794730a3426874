"""Topic-name derivation, checked against every row and statement of mm2-reference §2 (§7.2)."""

from __future__ import annotations

from typing import Any

import pytest

from drkit.errors import ConfigError
from drkit.mm2.policy import (
    DEFAULT_POLICY_CLASS,
    IDENTITY_POLICY_CLASS,
    DefaultReplicationPolicy,
    IdentityReplicationPolicy,
    ReplicationPolicy,
    TopicNameOverrides,
    build_policy,
)

SEPARATORS = [".", "_", "__"]
KNOWN = {"primary", "backup"}


# ---------------------------------------------------------------------------------------------
# §2 table, DefaultReplicationPolicy, separator "."


class TestDefaultDot:
    p = DefaultReplicationPolicy()

    def test_remote_topic(self) -> None:
        assert self.p.format_remote_topic("primary", "orders") == "primary.orders"

    def test_checkpoints_topic_named_after_source(self) -> None:
        assert self.p.checkpoints_topic("primary") == "primary.checkpoints.internal"

    def test_offset_syncs_topic(self) -> None:
        assert self.p.offset_syncs_topic("backup") == "mm2-offset-syncs.backup.internal"

    def test_heartbeats(self) -> None:
        assert self.p.heartbeats_topic() == "heartbeats"
        assert self.p.remote_heartbeats_topic("primary") == "primary.heartbeats"

    def test_parse_remote_topic(self) -> None:
        assert self.p.topic_source("primary.orders") == "primary"
        assert self.p.upstream_topic("primary.orders") == "orders"
        assert self.p.original_topic("primary.orders") == "orders"

    def test_parse_local_topic(self) -> None:
        assert self.p.topic_source("orders") is None
        assert self.p.upstream_topic("orders") is None
        assert self.p.original_topic("orders") == "orders"

    def test_multi_hop(self) -> None:
        # "upstreamTopic = text after the first S; originalTopic recurses".
        assert self.p.topic_source("a.b.orders") == "a"
        assert self.p.upstream_topic("a.b.orders") == "b.orders"
        assert self.p.original_topic("a.b.orders") == "orders"
        assert self.p.original_topic("backup.primary.heartbeats") == "heartbeats"

    def test_class_name(self) -> None:
        assert self.p.class_name == DEFAULT_POLICY_CLASS
        assert self.p.notes == ()
        assert "separator='.'" in repr(self.p)


# ---------------------------------------------------------------------------------------------
# Custom separators: ".", "_", "__" (3.1+ applies S to internal names too)


@pytest.mark.parametrize("sep", SEPARATORS)
class TestSeparators:
    def test_remote_topic_and_parse(self, sep: str) -> None:
        p = DefaultReplicationPolicy(sep)
        remote = p.format_remote_topic("primary", "orders")
        assert remote == f"primary{sep}orders"
        assert p.topic_source(remote) == "primary"
        assert p.upstream_topic(remote) == "orders"
        assert p.original_topic(remote) == "orders"

    def test_multi_hop(self, sep: str) -> None:
        p = DefaultReplicationPolicy(sep)
        topic = f"a{sep}b{sep}orders"
        assert p.topic_source(topic) == "a"
        assert p.upstream_topic(topic) == f"b{sep}orders"
        assert p.original_topic(topic) == "orders"

    def test_local_topic(self, sep: str) -> None:
        p = DefaultReplicationPolicy(sep)
        assert p.topic_source("orders") is None
        assert p.upstream_topic("orders") is None
        assert p.original_topic("orders") == "orders"

    def test_internal_names_use_separator(self, sep: str) -> None:
        p = DefaultReplicationPolicy(sep)
        assert p.internal_separator == sep
        assert p.checkpoints_topic("primary") == f"primary{sep}checkpoints{sep}internal"
        assert p.offset_syncs_topic("backup") == f"mm2-offset-syncs{sep}backup{sep}internal"

    def test_heartbeats_always_heartbeats(self, sep: str) -> None:
        for p in (
            DefaultReplicationPolicy(sep),
            DefaultReplicationPolicy(sep, internal_separator_enabled=False),
            DefaultReplicationPolicy(sep, legacy_dotted_internal=True),
        ):
            assert p.heartbeats_topic() == "heartbeats"
            # The replicated heartbeats topic is a remote topic, so it uses S.
            assert p.remote_heartbeats_topic("primary") == f"primary{sep}heartbeats"
            assert p.is_heartbeats_topic(f"primary{sep}heartbeats")
            assert p.is_heartbeats_topic("heartbeats")

    def test_kip949_flag_false_restores_dotted_internal_names(self, sep: str) -> None:
        p = DefaultReplicationPolicy(sep, internal_separator_enabled=False)
        assert p.internal_separator == "."
        assert p.checkpoints_topic("primary") == "primary.checkpoints.internal"
        assert p.offset_syncs_topic("backup") == "mm2-offset-syncs.backup.internal"
        # Remote names keep the separator.
        assert p.format_remote_topic("primary", "orders") == f"primary{sep}orders"

    def test_legacy_3_0_naming_is_dotted(self, sep: str) -> None:
        p = DefaultReplicationPolicy(
            sep, internal_separator_enabled=True, legacy_dotted_internal=True
        )
        assert p.checkpoints_topic("primary") == "primary.checkpoints.internal"
        assert p.offset_syncs_topic("backup") == "mm2-offset-syncs.backup.internal"
        assert p.format_remote_topic("primary", "orders") == f"primary{sep}orders"

    def test_internal_topic_classification(self, sep: str) -> None:
        p = DefaultReplicationPolicy(sep)
        checkpoints = p.checkpoints_topic("primary")
        syncs = p.offset_syncs_topic("backup")
        assert p.is_checkpoints_topic(checkpoints)
        assert not p.is_offset_syncs_topic(checkpoints)
        assert p.is_offset_syncs_topic(syncs)
        assert not p.is_checkpoints_topic(syncs)
        assert p.is_internal_topic(checkpoints)
        assert p.is_internal_topic(syncs)
        for user_topic in (
            "orders",
            f"primary{sep}orders",
            "heartbeats",
            f"primary{sep}heartbeats",
        ):
            assert not p.is_internal_topic(user_topic)
            assert not p.is_checkpoints_topic(user_topic)
            assert not p.is_offset_syncs_topic(user_topic)


def test_specific_underscore_names() -> None:
    """The §2 example: ``primary_checkpoints_internal``."""
    p = DefaultReplicationPolicy("_")
    assert p.checkpoints_topic("primary") == "primary_checkpoints_internal"
    assert p.offset_syncs_topic("backup") == "mm2-offset-syncs_backup_internal"
    assert p.format_remote_topic("primary", "orders") == "primary_orders"
    assert p.remote_heartbeats_topic("primary") == "primary_heartbeats"


def test_double_underscore_names() -> None:
    p = DefaultReplicationPolicy("__")
    assert p.format_remote_topic("primary", "my_orders") == "primary__my_orders"
    assert p.original_topic("primary__my_orders") == "my_orders"
    assert p.checkpoints_topic("primary") == "primary__checkpoints__internal"
    assert p.offset_syncs_topic("backup") == "mm2-offset-syncs__backup__internal"


# ---------------------------------------------------------------------------------------------
# Java String.split semantics on the regex-quoted separator


class TestJavaSplit:
    def test_separator_is_literal_not_regex(self) -> None:
        p = DefaultReplicationPolicy(".")
        assert p.topic_source("primaryXorders") is None
        p2 = DefaultReplicationPolicy("|")
        assert p2.topic_source("primary|orders") == "primary"
        assert p2.topic_source("primary") is None

    def test_trailing_empty_parts_dropped(self) -> None:
        p = DefaultReplicationPolicy(".")
        assert p.topic_source("orders.") is None
        assert p.topic_source("orders..") is None
        assert p.upstream_topic("orders.") is None
        assert p.original_topic("orders.") == "orders."
        assert p.topic_source(".") is None
        assert p.topic_source("") is None
        assert p.topic_source("primary.orders.") == "primary"
        assert p.upstream_topic("primary.orders.") == "orders."

    def test_leading_and_inner_empty_parts_kept(self) -> None:
        p = DefaultReplicationPolicy(".")
        assert p.topic_source(".orders") == ""
        assert p.upstream_topic(".orders") == "orders"
        assert p.topic_source("primary..orders") == "primary"
        assert p.upstream_topic("primary..orders") == ".orders"
        assert p.original_topic("primary..orders") == "orders"

    def test_double_underscore_splits_leftmost(self) -> None:
        p = DefaultReplicationPolicy("__")
        assert p.topic_source("a___b") == "a"
        assert p.upstream_topic("a___b") == "_b"
        assert p.topic_source("primary__orders__") == "primary"
        assert p.upstream_topic("primary__orders__") == "orders__"
        assert p.topic_source("primary_orders") is None


# ---------------------------------------------------------------------------------------------
# The my.topic pitfall


class TestKnownAliases:
    p = DefaultReplicationPolicy()

    def test_raw_parse_mistakes_local_dotted_topic_for_remote(self) -> None:
        # What MM2 itself does; documented so the known_aliases variant's value is clear.
        assert self.p.topic_source("my.topic") == "my"
        assert self.p.original_topic("my.topic") == "topic"

    def test_known_aliases_keep_local_dotted_topic_local(self) -> None:
        assert self.p.topic_source("my.topic", known_aliases=KNOWN) is None
        assert self.p.upstream_topic("my.topic", known_aliases=KNOWN) is None
        assert self.p.original_topic("my.topic", known_aliases=KNOWN) == "my.topic"

    def test_known_alias_prefix_still_parsed(self) -> None:
        assert self.p.topic_source("primary.my.topic", known_aliases=KNOWN) == "primary"
        assert self.p.upstream_topic("primary.my.topic", known_aliases=KNOWN) == "my.topic"
        assert self.p.original_topic("primary.my.topic", known_aliases=KNOWN) == "my.topic"
        assert self.p.original_topic("backup.primary.my.topic", known_aliases=KNOWN) == "my.topic"
        assert self.p.original_topic("primary.my.topic") == "topic"

    def test_any_iterable_of_aliases(self) -> None:
        assert self.p.topic_source("primary.orders", known_aliases=["primary"]) == "primary"
        assert self.p.topic_source("primary.orders", known_aliases=()) is None

    def test_bare_string_rejected(self) -> None:
        with pytest.raises(TypeError):
            self.p.topic_source("p.orders", known_aliases="primary")

    def test_identity_with_known_aliases(self) -> None:
        p = IdentityReplicationPolicy("primary")
        assert p.topic_source("my.topic", known_aliases=KNOWN) == "primary"
        assert p.topic_source("orders", known_aliases={"backup"}) is None
        assert p.original_topic("my.topic", known_aliases=KNOWN) == "my.topic"
        assert p.topic_source("other.heartbeats", known_aliases=KNOWN) is None
        assert p.topic_source("backup.heartbeats", known_aliases=KNOWN) == "backup"


# ---------------------------------------------------------------------------------------------
# IdentityReplicationPolicy


class TestIdentity:
    p = IdentityReplicationPolicy("primary")

    def test_names_unchanged(self) -> None:
        assert self.p.format_remote_topic("primary", "orders") == "orders"
        assert self.p.format_remote_topic("primary", "primary.orders") == "primary.orders"

    def test_heartbeats_still_prefixed(self) -> None:
        assert self.p.format_remote_topic("primary", "heartbeats") == "primary.heartbeats"
        assert self.p.remote_heartbeats_topic("primary") == "primary.heartbeats"
        # "topics ending in heartbeats": a replicated heartbeats topic gains another prefix.
        assert self.p.format_remote_topic("backup", "primary.heartbeats") == (
            "backup.primary.heartbeats"
        )

    def test_topic_source_is_configured_alias(self) -> None:
        assert self.p.topic_source("orders") == "primary"
        assert self.p.topic_source("my.topic") == "primary"
        assert IdentityReplicationPolicy().topic_source("orders") is None
        assert IdentityReplicationPolicy("").topic_source("orders") is None

    def test_upstream_topic_is_topic(self) -> None:
        for policy in (self.p, IdentityReplicationPolicy()):
            assert policy.upstream_topic("orders") == "orders"
            assert policy.upstream_topic("a.b.orders") == "a.b.orders"
            assert policy.original_topic("a.b.orders") == "a.b.orders"

    def test_heartbeats_parse_like_default(self) -> None:
        assert self.p.topic_source("backup.heartbeats") == "backup"
        assert self.p.upstream_topic("backup.heartbeats") == "heartbeats"
        assert self.p.original_topic("backup.primary.heartbeats") == "heartbeats"
        assert self.p.topic_source("heartbeats") is None
        assert self.p.is_heartbeats_topic("primary.heartbeats")
        assert not self.p.is_heartbeats_topic("orders")

    def test_internal_names_inherited_from_default(self) -> None:
        assert self.p.checkpoints_topic("primary") == "primary.checkpoints.internal"
        assert self.p.offset_syncs_topic("backup") == "mm2-offset-syncs.backup.internal"
        assert self.p.heartbeats_topic() == "heartbeats"
        assert self.p.is_internal_topic("primary.checkpoints.internal")

    def test_custom_separator(self) -> None:
        p = IdentityReplicationPolicy("primary", "_")
        assert p.format_remote_topic("primary", "orders") == "orders"
        assert p.remote_heartbeats_topic("primary") == "primary_heartbeats"
        assert p.checkpoints_topic("primary") == "primary_checkpoints_internal"
        p_dotted = IdentityReplicationPolicy("primary", "_", internal_separator_enabled=False)
        assert p_dotted.checkpoints_topic("primary") == "primary.checkpoints.internal"

    def test_class_name_and_repr(self) -> None:
        assert self.p.class_name == IDENTITY_POLICY_CLASS
        assert "source_alias='primary'" in repr(self.p)


# ---------------------------------------------------------------------------------------------
# Offset-syncs location (KIP-716)


class TestOffsetSyncsLocation:
    def test_source_is_default(self) -> None:
        p = DefaultReplicationPolicy()
        expected = ("primary", "mm2-offset-syncs.backup.internal")
        assert p.offset_syncs_location("primary", "backup") == expected
        assert p.offset_syncs_location("primary", "backup", "source") == expected

    def test_target(self) -> None:
        p = DefaultReplicationPolicy()
        assert p.offset_syncs_location("primary", "backup", "target") == (
            "backup",
            "mm2-offset-syncs.primary.internal",
        )

    def test_reverse_flow(self) -> None:
        p = DefaultReplicationPolicy()
        assert p.offset_syncs_location("backup", "primary", "source") == (
            "backup",
            "mm2-offset-syncs.primary.internal",
        )

    @pytest.mark.parametrize("sep", SEPARATORS)
    def test_separator(self, sep: str) -> None:
        p = DefaultReplicationPolicy(sep)
        assert p.offset_syncs_location("primary", "backup", "target") == (
            "backup",
            f"mm2-offset-syncs{sep}primary{sep}internal",
        )

    def test_identity_same_as_default(self) -> None:
        p = IdentityReplicationPolicy("primary")
        assert p.offset_syncs_location("primary", "backup", "source") == (
            "primary",
            "mm2-offset-syncs.backup.internal",
        )

    def test_case_and_whitespace_tolerated(self) -> None:
        p = DefaultReplicationPolicy()
        assert p.offset_syncs_location("primary", "backup", " Target ")[0] == "backup"

    @pytest.mark.parametrize("location", ["", "both", "src", "remote"])
    def test_invalid_location(self, location: str) -> None:
        with pytest.raises(ConfigError, match=r"offset-syncs\.topic\.location"):
            DefaultReplicationPolicy().offset_syncs_location("primary", "backup", location)


# ---------------------------------------------------------------------------------------------
# Explicit overrides (KIP-690 has no config key for the names)


class TestOverrides:
    p = DefaultReplicationPolicy(
        overrides=TopicNameOverrides(
            heartbeats="hb",
            checkpoints={"primary": "cp-of-primary"},
            offset_syncs={"backup": "syncs-to-backup"},
        ),
    )

    def test_overridden_names(self) -> None:
        assert self.p.heartbeats_topic() == "hb"
        assert self.p.remote_heartbeats_topic("primary") == "primary.hb"
        assert self.p.checkpoints_topic("primary") == "cp-of-primary"
        assert self.p.offset_syncs_topic("backup") == "syncs-to-backup"

    def test_other_aliases_keep_default_names(self) -> None:
        assert self.p.checkpoints_topic("backup") == "backup.checkpoints.internal"
        assert self.p.offset_syncs_topic("primary") == "mm2-offset-syncs.primary.internal"

    def test_location_uses_overrides(self) -> None:
        assert self.p.offset_syncs_location("primary", "backup") == ("primary", "syncs-to-backup")

    def test_classification_knows_overrides(self) -> None:
        assert self.p.is_checkpoints_topic("cp-of-primary")
        assert self.p.is_offset_syncs_topic("syncs-to-backup")
        assert self.p.is_internal_topic("cp-of-primary")
        assert self.p.is_internal_topic("syncs-to-backup")
        assert self.p.is_heartbeats_topic("primary.hb")
        assert not self.p.is_heartbeats_topic("primary.heartbeats")

    def test_identity_uses_overridden_heartbeats_name(self) -> None:
        p = IdentityReplicationPolicy("primary", overrides=TopicNameOverrides("hb"))
        assert p.format_remote_topic("primary", "hb") == "primary.hb"
        assert p.format_remote_topic("primary", "heartbeats") == "heartbeats"

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"heartbeats": ""},
            {"checkpoints": {"": "x"}},
            {"checkpoints": {"primary": ""}},
            {"offset_syncs": {"backup": ""}},
        ],
    )
    def test_empty_names_rejected(self, kwargs: dict[str, Any]) -> None:
        with pytest.raises(ConfigError, match="topic-name override"):
            TopicNameOverrides(**kwargs)

    def test_empty_separator_is_mm2s_keep_names_trick(self) -> None:
        # MM2 accepts "replication.policy.separator =" (issue 18 item 3).
        policy = DefaultReplicationPolicy("")
        assert policy.format_remote_topic("", "orders") == "orders"
        assert policy.checkpoints_topic("") == "checkpointsinternal"
        assert policy.format_remote_topic("primary", "orders") == "primaryorders"
        # Java's split on an empty pattern: every char a part, so "o" parses as the source.
        assert policy.topic_source("orders") == "o"
        assert policy.topic_source("orders", known_aliases=["primary"]) is None

    def test_parse_overrides(self) -> None:
        names = TopicNameOverrides.parse(
            {
                "heartbeats": "hb",
                "checkpoints.primary": "cp",
                "offset-syncs.backup": " os ",
                "checkpoints.dc.east": "cp-east",
            }
        )
        assert names == TopicNameOverrides(
            "hb", {"primary": "cp", "dc.east": "cp-east"}, {"backup": "os"}
        )
        assert names
        assert TopicNameOverrides.parse(None) == TopicNameOverrides()
        assert not TopicNameOverrides.parse({})

    @pytest.mark.parametrize(
        "overrides",
        [
            {"checkpoints": "x"},
            {"offset-syncs": "x"},
            {"checkpoints.": "x"},
            {"heartbeats.primary": "x"},
            {"offsets.primary": "x"},
            {"heartbeats": ""},
            {"heartbeats": "  "},
        ],
    )
    def test_bad_override_keys(self, overrides: dict[str, str]) -> None:
        with pytest.raises(ConfigError, match="topic-name override"):
            TopicNameOverrides.parse(overrides)


# ---------------------------------------------------------------------------------------------
# Other classification and validation


class TestInternalTopics:
    p = DefaultReplicationPolicy()

    @pytest.mark.parametrize(
        "topic",
        [
            "primary.checkpoints.internal",
            "mm2-offset-syncs.backup.internal",
            "mm2-configs.backup.internal",
            "mm2-offsets.backup.internal",
            "mm2-status.backup.internal",
            "__consumer_offsets",
            "__transaction_state",
            ".hidden",
            "connect-offsets-internal",
        ],
    )
    def test_internal(self, topic: str) -> None:
        assert self.p.is_internal_topic(topic)

    @pytest.mark.parametrize(
        "topic", ["orders", "primary.orders", "heartbeats", "primary.heartbeats", "internal"]
    )
    def test_not_internal(self, topic: str) -> None:
        assert not self.p.is_internal_topic(topic)

    def test_bare_suffix_is_not_a_checkpoints_topic(self) -> None:
        assert not self.p.is_checkpoints_topic(".checkpoints.internal")
        assert not self.p.is_offset_syncs_topic("mm2-offset-syncs..internal")

    def test_empty_alias_is_accepted_like_mm2(self) -> None:
        # A top-level "source.cluster.alias =" gives MM2 an empty alias; it names topics with it.
        assert self.p.checkpoints_topic("") == ".checkpoints.internal"
        assert self.p.offset_syncs_topic("") == "mm2-offset-syncs..internal"
        assert self.p.format_remote_topic("", "orders") == ".orders"


# ---------------------------------------------------------------------------------------------
# build_policy


class TestBuildPolicy:
    @pytest.mark.parametrize(
        "name", [None, "", "  ", DEFAULT_POLICY_CLASS, f" {DEFAULT_POLICY_CLASS}\t"]
    )
    def test_default(self, name: str | None) -> None:
        p = build_policy(name)
        assert type(p) is DefaultReplicationPolicy
        assert p.format_remote_topic("primary", "orders") == "primary.orders"
        assert p.checkpoints_topic("primary") == "primary.checkpoints.internal"

    def test_default_with_separator_and_flag(self) -> None:
        p = build_policy(None, separator="_")
        assert p.checkpoints_topic("primary") == "primary_checkpoints_internal"
        p = build_policy(DEFAULT_POLICY_CLASS, separator="_", internal_separator_enabled=False)
        assert p.checkpoints_topic("primary") == "primary.checkpoints.internal"
        assert p.format_remote_topic("primary", "orders") == "primary_orders"

    def test_identity(self) -> None:
        p = build_policy(IDENTITY_POLICY_CLASS, source_alias="primary")
        assert isinstance(p, IdentityReplicationPolicy)
        assert p.format_remote_topic("primary", "orders") == "orders"
        assert p.topic_source("orders") == "primary"
        assert p.class_name == IDENTITY_POLICY_CLASS

    def test_identity_with_separator(self) -> None:
        p = build_policy(IDENTITY_POLICY_CLASS, separator="_", source_alias="primary")
        assert p.remote_heartbeats_topic("primary") == "primary_heartbeats"

    def test_overrides_apply_to_known_classes(self) -> None:
        p = build_policy(None, overrides={"checkpoints.primary": "cp"})
        assert p.checkpoints_topic("primary") == "cp"
        assert p.heartbeats_topic() == "heartbeats"
        p = build_policy(
            IDENTITY_POLICY_CLASS, source_alias="primary", overrides={"heartbeats": "hb"}
        )
        assert p.remote_heartbeats_topic("primary") == "primary.hb"

    def test_custom_class_without_overrides_rejected(self) -> None:
        with pytest.raises(ConfigError, match=r"com\.example\.MyPolicy is a custom policy"):
            build_policy("com.example.MyPolicy")

    def test_custom_class_with_overrides(self) -> None:
        p = build_policy(
            "com.example.MyPolicy",
            separator="-",
            overrides={
                "heartbeats": "hb",
                "checkpoints.primary": "primary-cp",
                "offset-syncs.backup": "os-backup",
            },
        )
        assert isinstance(p, ReplicationPolicy)
        assert p.class_name == "com.example.MyPolicy"
        assert len(p.notes) == 1
        assert "com.example.MyPolicy" in p.notes[0]
        assert "'<source>-<topic>'" in p.notes[0]
        # Remote names behave like Default.
        assert p.format_remote_topic("primary", "orders") == "primary-orders"
        assert p.original_topic("primary-orders") == "orders"
        # Internal names come only from overrides.
        assert p.heartbeats_topic() == "hb"
        assert p.remote_heartbeats_topic("primary") == "primary-hb"
        assert p.checkpoints_topic("primary") == "primary-cp"
        assert p.offset_syncs_location("primary", "backup") == ("primary", "os-backup")
        assert p.is_checkpoints_topic("primary-cp")
        assert not p.is_checkpoints_topic("backup-checkpoints-internal")

    def test_custom_class_never_guesses_missing_names(self) -> None:
        p = build_policy("com.example.MyPolicy", overrides={"checkpoints.primary": "cp"})
        with pytest.raises(ConfigError, match=r"'checkpoints\.backup'"):
            p.checkpoints_topic("backup")
        with pytest.raises(ConfigError, match=r"'offset-syncs\.backup'"):
            p.offset_syncs_topic("backup")
        with pytest.raises(ConfigError, match="'heartbeats'"):
            p.heartbeats_topic()
        with pytest.raises(ConfigError, match=r"'offset-syncs\.primary'"):
            p.offset_syncs_location("primary", "backup", "target")

    @pytest.mark.parametrize(
        ("name", "suggestion"),
        [
            ("DefaultReplicationPolicy", DEFAULT_POLICY_CLASS),
            ("IdentityReplicationPolicy", IDENTITY_POLICY_CLASS),
        ],
    )
    def test_unqualified_known_class_rejected(self, name: str, suggestion: str) -> None:
        with pytest.raises(ConfigError, match=f"must be fully qualified: use {suggestion}"):
            build_policy(name)

    @pytest.mark.parametrize("name", ["not a class", "com.example.", "1abc", "a..b"])
    def test_malformed_class_name(self, name: str) -> None:
        with pytest.raises(ConfigError, match="is not a Java class name"):
            build_policy(name, overrides={"heartbeats": "hb"})

    def test_empty_separator_builds(self) -> None:
        assert build_policy(None, separator="").checkpoints_topic("a") == "acheckpointsinternal"

    def test_bad_override_key(self) -> None:
        with pytest.raises(ConfigError, match=r"topic-name override 'checkpoint\.primary'"):
            build_policy(None, overrides={"checkpoint.primary": "x"})
