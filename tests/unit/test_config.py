"""drkit.config: drkit.toml + mm2.properties -> Settings, as MirrorMaker 2 resolves its keys."""

from __future__ import annotations

import functools
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_javaprops import KAFKA_LAB_MM2  # same folder (pytest prepends it to sys.path)

from drkit.config import (
    DEFAULT_GROUPS_EXCLUDE,
    DEFAULT_REPLICATION_POLICY,
    DEFAULT_TOPICS_EXCLUDE,
    ENV_VAR,
    ClusterSettings,
    Flow,
    Settings,
    find_config,
    is_secret_key,
    load_settings,
    parse_jaas_config,
    redact,
)
from drkit.errors import EXIT_USAGE, ConfigError

PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"
BASE = (
    "clusters = primary, backup\n"
    "primary.bootstrap.servers = p:9092\n"
    "backup.bootstrap.servers = b:9092\n"
)
CANARY = "canary-Pa55w0rd-7f3a"


Write = Callable[..., Settings]


@pytest.fixture
def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Write:
    """Write mm2.properties (and drkit.toml when given) into tmp_path and load them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)

    def load(props: str, toml: str | None = None) -> Settings:
        (tmp_path / "mm2.properties").write_text(props)
        if toml is None:
            return load_settings(mm2_config="mm2.properties", environ={}, cwd=tmp_path)
        (tmp_path / "drkit.toml").write_text('mm2_config = "mm2.properties"\n' + toml)
        return load_settings(tmp_path / "drkit.toml", environ={}, cwd=tmp_path)

    return load


def error_of(write: Write, props: str, toml: str | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        write(props, toml)
    assert info.value.exit_code == EXIT_USAGE
    return str(info.value)


def use_error_of(write: Write, props: str, toml: str | None = None) -> str:
    """The error of a command using primary->backup (problems are raised when used)."""
    settings = write(props, toml)
    with pytest.raises(ConfigError) as info:
        settings.flow("primary", "backup")
        for alias in settings.clusters:
            settings.cluster(alias).require_usable()
    assert info.value.exit_code == EXIT_USAGE
    return str(info.value)


# --- the kafka-lab example --------------------------------------------------------------------


def test_kafka_lab_example(write: Write, tmp_path: Path) -> None:
    settings = write(KAFKA_LAB_MM2)
    assert list(settings.clusters) == ["primary", "backup"]
    assert settings.cluster("primary").bootstrap_servers == "127.0.0.1:19092"
    assert settings.cluster("backup").client_config == {"bootstrap.servers": "127.0.0.1:29092"}
    assert settings.config_path is None
    assert settings.mm2_config_path == tmp_path / "mm2.properties"
    assert settings.state_dir == tmp_path / ".drkit"
    assert settings.runbook_dir is None
    assert settings.mm2_properties.get("tasks.max") == "1"
    assert settings.mm2.clusters == ("primary", "backup")
    assert set(settings.flows) == {("primary", "backup"), ("backup", "primary")}

    flow = settings.flow("primary", "backup")
    assert flow.enabled and flow.name == "primary->backup"
    assert flow.topics == (r"orders\..*",)
    assert flow.topic_included("orders.created")
    assert not flow.topic_included("orders")
    assert not flow.topic_included("ordersXcreated")
    assert not flow.topic_included("payments")
    assert flow.topics_exclude == DEFAULT_TOPICS_EXCLUDE
    assert flow.groups == (".*",) and flow.groups_exclude == DEFAULT_GROUPS_EXCLUDE
    assert flow.sync_group_offsets_enabled is True
    assert flow.sync_group_offsets_interval_s == 1
    assert flow.emit_checkpoints_interval_s == 1
    assert flow.refresh_groups_interval_s == 1
    assert flow.refresh_topics_interval_s == 1
    assert flow.offset_lag_max == 0
    assert flow.offset_syncs_topic_location == "source"
    assert flow.replication_policy_class == DEFAULT_REPLICATION_POLICY
    assert flow.replication_policy_separator == "."
    assert flow.internal_separator_enabled is True
    assert flow.emit_heartbeats_enabled and flow.heartbeats_replication_enabled
    assert flow.origins["topics"].endswith("mm2.properties:6 primary->backup.topics")
    assert flow.origins["groups"] == "MM2 default"
    assert not settings.flows[("backup", "primary")].enabled


def test_disabled_flow_says_how_to_enable(write: Write, tmp_path: Path) -> None:
    settings = write(KAFKA_LAB_MM2)
    with pytest.raises(ConfigError) as info:
        settings.flow("backup", "primary")
    message = str(info.value)
    assert f"set backup->primary.enabled = true in {tmp_path / 'mm2.properties'}" in message
    assert "mm2.properties:7" in message


def test_missing_flow_defaults_to_disabled(write: Write) -> None:
    settings = write(BASE)
    assert not settings.flows[("primary", "backup")].enabled
    with pytest.raises(ConfigError, match=r"set primary->backup\.enabled = true in "):
        settings.flow("primary", "backup")


def test_flow_enabled_is_inherited_from_top_level(write: Write) -> None:
    # MM2 passes a top-level "enabled" to every flow's connectors (issue 18 item 6).
    settings = write(BASE + "enabled = true\n")
    assert settings.flows[("primary", "backup")].enabled
    assert settings.flows[("backup", "primary")].enabled


def test_flow_unknown_alias_and_same_cluster(write: Write) -> None:
    settings = write(KAFKA_LAB_MM2)
    with pytest.raises(ConfigError, match=r"unknown cluster 'dr'.*primary, backup"):
        settings.flow("primary", "dr")
    with pytest.raises(ConfigError, match="same cluster"):
        settings.flow("primary", "primary")


def test_unknown_cluster_lists_known_aliases(write: Write) -> None:
    settings = write(KAFKA_LAB_MM2)
    with pytest.raises(
        ConfigError, match=r"unknown cluster 'primry'; clusters in .*: primary, backup"
    ):
        settings.cluster("primry")


# --- MM2 key resolution -----------------------------------------------------------------------


def test_flow_level_overrides_top_level(write: Write) -> None:
    props = BASE + (
        "primary->backup.enabled = true\nbackup->primary.enabled = true\n"
        "sync.group.offsets.enabled = true\nsync.group.offsets.interval.seconds = 30\n"
        "primary->backup.sync.group.offsets.enabled = false\n"
        "backup->primary.emit.checkpoints.interval.seconds = 5\n"
        "offset-syncs.topic.location = target\n"
        "backup->primary.offset-syncs.topic.location = source\n"
        "replication.policy.separator = _\n"
        "backup->primary.groups = app-.*\n"
    )
    settings = write(props)
    forward = settings.flow("primary", "backup")
    reverse = settings.flow("backup", "primary")
    assert forward.sync_group_offsets_enabled is False
    assert reverse.sync_group_offsets_enabled is True
    assert forward.sync_group_offsets_interval_s == reverse.sync_group_offsets_interval_s == 30
    assert forward.emit_checkpoints_interval_s == 60
    assert reverse.emit_checkpoints_interval_s == 5
    assert forward.offset_syncs_topic_location == "target"
    assert reverse.offset_syncs_topic_location == "source"
    assert forward.replication_policy_separator == reverse.replication_policy_separator == "_"
    assert settings.mm2.replication_policy_separator == "_"
    assert forward.groups == (".*",) and reverse.groups == ("app-.*",)
    assert forward.origins["sync.group.offsets.enabled"].endswith(
        "primary->backup.sync.group.offsets.enabled"
    )


def test_mm2_defaults(write: Write) -> None:
    flow = write(BASE + "primary->backup.enabled = true\n").flow("primary", "backup")
    assert flow == Flow("primary", "backup", enabled=True)
    assert flow.sync_group_offsets_enabled is False
    assert flow.sync_group_offsets_interval_s == 60
    assert flow.emit_checkpoints_interval_s == 60
    assert flow.offset_lag_max == 100
    assert flow.refresh_groups_interval_s == 600
    assert flow.emit_checkpoints_enabled is True
    assert flow.topics == (".*",)
    assert flow.topics_exclude == (r"mm2.*\.internal", r".*\.replica", "__.*")
    assert flow.groups_exclude == ("console-consumer-.*", "connect-.*", "__.*")


def test_clusters_list_trims_and_ignores_duplicates(write: Write) -> None:
    props = "clusters =  a ,b,a,  , c\na.bootstrap.servers=a:1\nb.bootstrap.servers=b:1\n"
    props += "c.bootstrap.servers = c:1 , c2:1\n"
    settings = write(props)
    assert list(settings.clusters) == ["a", "b", "c"]
    assert len(settings.flows) == 6
    assert settings.cluster("c").bootstrap_servers == "c:1,c2:1"


def test_missing_clusters_key(write: Write) -> None:
    assert "'clusters' is missing" in error_of(write, "a.bootstrap.servers = x:1\n")
    assert "'clusters' is missing or empty" in error_of(write, "clusters = \n")


def test_missing_bootstrap_servers_names_key_and_file(write: Write) -> None:
    message = use_error_of(write, "clusters = primary, backup\nprimary.bootstrap.servers = p:1\n")
    assert "backup.bootstrap.servers is missing" in message
    assert "mm2.properties" in message


def test_top_level_bootstrap_servers_is_inherited_like_mm2(write: Write) -> None:
    # MirrorMakerConfig.clusterProps gives every cluster the top-level bootstrap.servers.
    settings = write("clusters = a\nbootstrap.servers = x:1\n")
    assert settings.cluster("a").bootstrap_servers == "x:1"
    assert any("top-level bootstrap.servers" in n for n in settings.cluster("a").notes)


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("sync.group.offsets.enabled = yes", "sync.group.offsets.enabled"),
        ("primary->backup.enabled = 1", "primary->backup.enabled"),
        ("primary->backup.emit.heartbeats.enabled = on", "primary->backup.emit.heartbeats.enabled"),
        ("replication.policy.internal.topic.separator.enabled = no", "replication.policy."),
    ],
)
def test_bad_boolean_names_key_and_line(write: Write, line: str, key: str) -> None:
    message = use_error_of(write, BASE + "# comment\n" + line + "\n")
    assert "mm2.properties:5: " in message
    assert key in message and "not a boolean" in message


@pytest.mark.parametrize(
    "line",
    [
        "offset.lag.max = lots",
        "primary->backup.sync.group.offsets.interval.seconds = 1.5",
        "emit.checkpoints.interval.seconds = 1_000",
        "refresh.groups.interval.seconds =",
    ],
)
def test_bad_integer_names_key_and_line(write: Write, line: str) -> None:
    message = use_error_of(write, BASE + line + "\n")
    assert "mm2.properties:4: " in message
    assert line.split("=")[0].strip() in message and "not an integer" in message


def test_booleans_and_integers_are_parsed_like_configdef(write: Write) -> None:
    props = BASE + (
        "primary->backup.enabled =  TRUE  \nsync.group.offsets.enabled=False\n"
        "offset.lag.max = -1\nemit.checkpoints.interval.seconds = +7 \n"
    )
    flow = write(props).flow("primary", "backup")
    assert flow.enabled and not flow.sync_group_offsets_enabled
    assert flow.offset_lag_max == -1 and flow.emit_checkpoints_interval_s == 7


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("primary->backup.topics = orders[", "primary->backup.topics"),
        ("groups.exclude = app-(, ok", "groups.exclude"),
        ("topics.exclude = *bad", "topics.exclude"),
    ],
)
def test_invalid_regex_names_key_and_line(write: Write, line: str, key: str) -> None:
    message = use_error_of(write, BASE + line + "\n")
    assert f"mm2.properties:4: {key}: invalid regex" in message


def test_invalid_offset_syncs_location(write: Write) -> None:
    message = use_error_of(write, BASE + "primary->backup.offset-syncs.topic.location = remote\n")
    assert "mm2.properties:4" in message and "must be 'source' or 'target'" in message


def test_policy_settings(write: Write) -> None:
    identity = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"
    props = BASE + (
        "primary->backup.enabled = true\n"
        f"primary->backup.replication.policy.class = {identity}\n"
        "replication.policy.internal.topic.separator.enabled = false\n"
    )
    settings = write(props)
    flow = settings.flow("primary", "backup")
    assert flow.replication_policy_class == identity
    assert flow.internal_separator_enabled is False
    assert settings.mm2.replication_policy_class == DEFAULT_REPLICATION_POLICY
    assert settings.flows[("backup", "primary")].replication_policy_class == (
        DEFAULT_REPLICATION_POLICY
    )


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "pattern"),
    [
        ("connect-s3-sink", "connect-.*"),
        ("console-consumer-4711", "console-consumer-.*"),
        ("__internal", "__.*"),
    ],
)
def test_default_group_excludes(write: Write, group: str, pattern: str) -> None:
    flow = write(KAFKA_LAB_MM2).flow("primary", "backup")
    assert not flow.group_included(group)
    assert flow.group_exclusion_reason(group) == f"matches MM2 groups.exclude pattern '{pattern}'"


def test_ordinary_groups_are_included(write: Write) -> None:
    flow = write(KAFKA_LAB_MM2).flow("primary", "backup")
    for group in ("billing", "connect", "my-connect-app", "console-consumer"):
        assert flow.group_included(group)
        assert flow.group_exclusion_reason(group) is None


def test_group_filters_full_match_comma_lists(write: Write) -> None:
    props = BASE + (
        "primary->backup.enabled = true\n"
        "primary->backup.groups =  app-.* ,  billing  \n"
        "groups.exclude = app-test-.*\n"
    )
    flow = write(props).flow("primary", "backup")
    assert flow.groups == ("app-.*", "billing")
    assert flow.groups_exclude == ("app-test-.*",)
    assert flow.group_included("app-orders")
    assert flow.group_included("billing")
    assert not flow.group_included("billing-2")  # full match, not search
    assert not flow.group_included("xapp-orders")
    assert "connect-.*" not in flow.groups_exclude  # an explicit list replaces the default
    assert flow.group_exclusion_reason("app-test-1") == (
        "matches MM2 groups.exclude pattern 'app-test-.*'"
    )
    assert flow.group_exclusion_reason("other") == (
        "does not match MM2 groups pattern(s) 'app-.*', 'billing'"
    )


def test_default_topic_excludes(write: Write) -> None:
    flow = write(BASE + "primary->backup.enabled = true\n").flow("primary", "backup")
    for topic in (
        "mm2-offset-syncs.backup.internal",
        "mm2-configs.primary.internal",
        "orders.replica",
        "__consumer_offsets",
    ):
        assert not flow.topic_included(topic), topic
        assert flow.topic_exclusion_reason(topic) is not None
    for topic in ("orders", "heartbeats", "orders-internal"):
        assert flow.topic_included(topic), topic
    assert flow.topic_exclusion_reason("__consumer_offsets") == (
        "matches MM2 topics.exclude pattern '__.*'"
    )


def test_empty_topics_list_matches_nothing(write: Write) -> None:
    flow = write(BASE + "primary->backup.enabled = true\ntopics =\n").flow("primary", "backup")
    assert flow.topics == ()
    assert not flow.topic_included("orders")
    assert (
        flow.topic_exclusion_reason("orders") == "does not match MM2 topics pattern(s) (empty list)"
    )


def test_legacy_blacklist_is_used_when_exclude_is_absent_before_4_0(write: Write) -> None:
    props = BASE + "primary->backup.enabled = true\ngroups.blacklist = legacy-.*\n"
    toml = '[mm2]\nversion = "3.7.1"\n'
    flow = write(props, toml).flow("primary", "backup")
    assert flow.groups_exclude == ("legacy-.*",)
    props += "primary->backup.groups.exclude = new-.*\n"
    assert write(props, toml).flow("primary", "backup").groups_exclude == ("new-.*",)


# --- client mapping ---------------------------------------------------------------------------


def test_sasl_plain_mapping(write: Write) -> None:
    props = BASE + (
        "security.protocol = SASL_SSL\nsasl.mechanism = PLAIN\n"
        f'sasl.jaas.config = {PLAIN} required username="alice" password="pa\\\\"ss";\n'
        "client.id = drkit-test\n"
    )
    cluster = write(props).cluster("primary")
    assert cluster.client_config == {
        "bootstrap.servers": "p:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "client.id": "drkit-test",
        "sasl.username": "alice",
        "sasl.password": 'pa"ss',
    }
    assert cluster.unmapped == ()
    cluster.require_usable()


def test_sasl_scram_mapping_per_cluster(write: Write) -> None:
    props = BASE + (
        "security.protocol = SASL_PLAINTEXT\nsasl.mechanism = SCRAM-SHA-512\n"
        f'sasl.jaas.config = {SCRAM} required username="top" password="top-pw";\n'
        f"backup.sasl.jaas.config = {SCRAM} required \\\n"
        "    username='bob' \\\n    password='b\\\\'o\\\\\\\\b';\n"
        "backup.sasl.mechanism = SCRAM-SHA-256\n"
    )
    settings = write(props)
    primary, backup = settings.cluster("primary"), settings.cluster("backup")
    assert primary.client_config["sasl.username"] == "top"
    assert primary.client_config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert backup.client_config["sasl.username"] == "bob"
    assert backup.client_config["sasl.password"] == "b'o\\b"
    assert backup.client_config["sasl.mechanism"] == "SCRAM-SHA-256"
    assert backup.client_config["security.protocol"] == "SASL_PLAINTEXT"


def test_sasl_without_jaas_config_is_unmapped(write: Write) -> None:
    props = BASE + "security.protocol = SASL_SSL\nsasl.mechanism = PLAIN\n"
    cluster = write(props).cluster("backup")
    assert len(cluster.unmapped) == 1
    assert "backup.sasl.jaas.config is not set" in cluster.unmapped[0]
    toml = '[clusters.backup.client]\n"sasl.username" = "u"\n"sasl.password" = "p"\n'
    assert write(props, toml).cluster("backup").unmapped == ()


def test_unknown_login_module_is_unmapped(write: Write) -> None:
    props = BASE + (
        "sasl.mechanism = OAUTHBEARER\n"
        "sasl.jaas.config = org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
        ' required clientSecret="s3";\n'
        "sasl.login.callback.handler.class = com.example.Handler\n"
    )
    cluster = write(props).cluster("primary")
    assert any("OAuthBearerLoginModule" in note for note in cluster.unmapped)
    assert any("sasl.login.callback.handler.class" in note for note in cluster.unmapped)
    with pytest.raises(ConfigError, match="OAuthBearerLoginModule"):
        cluster.require_usable()
    toml = '[clusters.primary.client]\n"sasl.oauthbearer.method" = "oidc"\n'
    assert write(props, toml).cluster("primary").unmapped == ()


def test_kerberos_keytab_mapping(write: Write) -> None:
    props = BASE + (
        "sasl.jaas.config = com.sun.security.auth.module.Krb5LoginModule required "
        'useKeyTab=true keyTab="/etc/k.keytab" principal="drkit@EXAMPLE.COM";\n'
        "sasl.kerberos.service.name = kafka\n"
    )
    config = write(props).cluster("primary").client_config
    assert config["sasl.kerberos.keytab"] == "/etc/k.keytab"
    assert config["sasl.kerberos.principal"] == "drkit@EXAMPLE.COM"
    assert config["sasl.kerberos.service.name"] == "kafka"


def test_malformed_jaas_config_names_key_and_line(write: Write) -> None:
    props = BASE + f'primary.sasl.jaas.config = {PLAIN} required password="{CANARY}"\n'
    message = use_error_of(write, props)
    assert "mm2.properties:4: primary.sasl.jaas.config:" in message
    assert "must end with ';'" in message
    assert CANARY not in message


JKS_MESSAGE = (
    "JKS truststore /etc/kafka/truststore.jks for cluster backup cannot be used by librdkafka; "
    'give a PEM via [clusters.backup.client] "ssl.ca.location" in drkit.toml'
)


@pytest.mark.parametrize(
    "lines",
    [
        ["ssl.truststore.location = /etc/kafka/truststore.jks"],
        ["ssl.truststore.location = /etc/kafka/truststore.jks", "ssl.truststore.type = PEM"],
        ["ssl.truststore.location = /etc/kafka/truststore.jks", "ssl.truststore.type = jks"],
    ],
)
def test_jks_truststore_is_refused_with_clear_message(write: Write, lines: list[str]) -> None:
    props = BASE + "security.protocol = SSL\n" + "".join(f"backup.{line}\n" for line in lines)
    settings = write(props)
    backup = settings.cluster("backup")
    assert backup.unmapped == (JKS_MESSAGE,)
    assert "ssl.ca.location" not in backup.client_config
    with pytest.raises(ConfigError) as info:
        backup.require_usable()
    assert str(info.value) == JKS_MESSAGE
    with pytest.raises(ConfigError):
        backup.usable_client_config()
    settings.cluster("primary").require_usable()  # only backup has the JKS file


def test_pkcs12_truststore_is_refused(write: Write) -> None:
    props = BASE + "ssl.truststore.location = /t.p12\nssl.truststore.type = PKCS12\n"
    unmapped = write(props).cluster("primary").unmapped
    assert unmapped == (
        "PKCS12 truststore /t.p12 for cluster primary cannot be used by librdkafka; give a PEM "
        'via [clusters.primary.client] "ssl.ca.location" in drkit.toml',
    )


def test_jks_resolved_by_drkit_toml(write: Write) -> None:
    props = BASE + "backup.ssl.truststore.location = /etc/kafka/truststore.jks\n"
    toml = '[clusters.backup.client]\n"ssl.ca.location" = "/etc/kafka/ca.pem"\n'
    backup = write(props, toml).cluster("backup")
    assert backup.unmapped == ()
    assert backup.client_config["ssl.ca.location"] == "/etc/kafka/ca.pem"
    assert any(JKS_MESSAGE in note and "ssl.ca.location" in note for note in backup.notes)
    assert backup.usable_client_config({"group.id": "g"})["group.id"] == "g"


def test_jks_keystore_is_refused(write: Write) -> None:
    props = BASE + "ssl.keystore.location = /k.jks\nssl.keystore.password = pw\n"
    unmapped = write(props).cluster("primary").unmapped
    assert len(unmapped) == 1 and unmapped[0].startswith("JKS keystore /k.jks for cluster primary")
    toml = '[clusters.primary.client]\n"ssl.certificate.location" = "/c.pem"\n'
    assert write(props, toml).cluster("primary").unmapped == ()


def test_pem_stores_map_to_librdkafka_paths(write: Write) -> None:
    props = BASE + (
        "security.protocol = SSL\n"
        "ssl.truststore.type = PEM\nssl.truststore.location = /etc/ca.pem\n"
        "ssl.keystore.type = PEM\nssl.keystore.location = /etc/client.pem\n"
        f"ssl.key.password = {CANARY}\n"
        "ssl.endpoint.identification.algorithm =\n"
        "backup.ssl.endpoint.identification.algorithm = https\n"
    )
    settings = write(props)
    primary = settings.cluster("primary").client_config
    assert primary["ssl.ca.location"] == "/etc/ca.pem"
    assert primary["ssl.certificate.location"] == "/etc/client.pem"
    assert primary["ssl.key.location"] == "/etc/client.pem"
    assert primary["ssl.key.password"] == CANARY
    assert primary["ssl.endpoint.identification.algorithm"] == "none"
    assert settings.cluster("backup").client_config["ssl.endpoint.identification.algorithm"] == (
        "https"
    )
    assert settings.cluster("primary").unmapped == ()


def test_pkcs12_keystore_and_inline_pem(write: Write) -> None:
    props = BASE + (
        "ssl.keystore.type = PKCS12\nssl.keystore.location = /k.p12\n"
        f"ssl.keystore.password = {CANARY}\n"
        "backup.ssl.keystore.location =\n"
        "backup.ssl.truststore.certificates = -----BEGIN CERTIFICATE-----\n"
        "backup.ssl.keystore.key = -----BEGIN PRIVATE KEY-----\n"
        "backup.ssl.keystore.certificate.chain = -----BEGIN CERTIFICATE-----\n"
    )
    settings = write(props)
    primary = settings.cluster("primary").client_config
    assert primary["ssl.keystore.location"] == "/k.p12"
    assert primary["ssl.keystore.password"] == CANARY
    backup = settings.cluster("backup").client_config
    assert "ssl.keystore.location" not in backup
    assert backup["ssl.ca.pem"].startswith("-----BEGIN CERTIFICATE")
    assert backup["ssl.key.pem"].startswith("-----BEGIN PRIVATE KEY")
    assert backup["ssl.certificate.pem"].startswith("-----BEGIN CERTIFICATE")


def test_java_only_settings_become_notes(write: Write) -> None:
    props = BASE + "ssl.enabled.protocols = TLSv1.3\nprimary.ssl.protocol = TLSv1.3\n"
    settings = write(props)
    notes = settings.cluster("primary").notes
    assert any("ssl.enabled.protocols has no librdkafka equivalent" in n for n in notes)
    assert any("mm2.properties:5 primary.ssl.protocol" in n for n in notes)
    assert not any("ssl.protocol" in n for n in settings.cluster("backup").notes)
    assert settings.cluster("primary").unmapped == ()


def test_alias_prefixed_client_keys_override_top_level(write: Write) -> None:
    props = BASE + (
        "security.protocol = SASL_SSL\nbackup.security.protocol = PLAINTEXT\n"
        "primary.client.id = only-primary\nprimary.consumer.client.id = ignored\n"
        "backup->primary.security.protocol = SSL\n"
    )
    settings = write(props)
    assert settings.cluster("primary").client_config["security.protocol"] == "SASL_SSL"
    assert settings.cluster("primary").client_config["client.id"] == "only-primary"
    assert settings.cluster("backup").client_config["security.protocol"] == "PLAINTEXT"
    assert "client.id" not in settings.cluster("backup").client_config


def test_drkit_toml_client_entries_override_everything(write: Write) -> None:
    props = BASE + "security.protocol = SSL\nclient.id = from-mm2\n"
    toml = (
        "[clusters.primary.client]\n"
        '"bootstrap.servers" = "override:9093"\n"client.id" = "from-toml"\n'
        '"socket.timeout.ms" = 5000\n"enable.ssl.certificate.verification" = false\n'
    )
    primary = write(props, toml).cluster("primary")
    assert primary.bootstrap_servers == "override:9093"
    assert primary.client_config["client.id"] == "from-toml"
    assert primary.client_config["socket.timeout.ms"] == "5000"
    assert primary.client_config["enable.ssl.certificate.verification"] == "false"
    assert primary.client_config["security.protocol"] == "SSL"


# --- secrets ----------------------------------------------------------------------------------


SECRET_PROPS = BASE + (
    "security.protocol = SASL_SSL\nsasl.mechanism = SCRAM-SHA-512\n"
    f'sasl.jaas.config = {SCRAM} required username="drkit" password="{CANARY}";\n'
    "ssl.keystore.type = PEM\nssl.keystore.location = /c.pem\n"
    f"ssl.key.password = {CANARY}\n"
    "backup.ssl.truststore.location = /t.jks\n"
    f"backup.ssl.truststore.password = {CANARY}\n"
    "primary->backup.enabled = true\n"
)
SECRET_TOML = (
    f'[dns]\nprovider = "rfc2136"\n[dns.rfc2136]\nserver = "10.0.0.53"\ntsig_secret = "{CANARY}"\n'
    f'[clusters.primary.client]\n"sasl.oauthbearer.client.secret" = "{CANARY}"\n'
    f"[status]\nmax_lag = 10\n"
)


def test_secrets_never_in_repr_or_str(write: Write) -> None:
    settings = write(SECRET_PROPS, SECRET_TOML)
    assert settings.cluster("primary").client_config["sasl.password"] == CANARY  # it is there
    texts = [
        repr(settings),
        str(settings),
        json.dumps(settings.redacted()),
        repr(settings.mm2),
        repr(settings.mm2_properties),
        repr(settings.flow("primary", "backup")),
    ]
    for cluster in settings.clusters.values():
        texts += [repr(cluster), str(cluster), json.dumps(cluster.redacted())]
        texts += list(cluster.unmapped) + list(cluster.notes)
    for text in texts:
        assert CANARY not in text
    assert "***" in repr(settings.cluster("primary"))
    assert settings.redacted()["dns"]["rfc2136"]["tsig_secret"] == "***"
    assert settings.redacted()["dns"]["rfc2136"]["server"] == "10.0.0.53"


def test_secrets_never_in_errors(write: Write, tmp_path: Path) -> None:
    settings = write(SECRET_PROPS, SECRET_TOML)
    calls: list[Callable[[], object]] = [
        settings.cluster("backup").require_usable,
        lambda: settings.cluster("nope"),
        lambda: settings.flow("backup", "primary"),
    ]
    broken = [
        (SECRET_PROPS + "offset.lag.max = x\n", SECRET_TOML),
        (SECRET_PROPS + "primary->backup.enabled = maybe\n", SECRET_TOML),
        (SECRET_PROPS + "topics = (\n", SECRET_TOML),
        (SECRET_PROPS.replace(f'"{CANARY}";', f'"{CANARY}"'), SECRET_TOML),
        (SECRET_PROPS.replace(f'"{CANARY}";', f'"{CANARY}'), SECRET_TOML),
        (SECRET_PROPS + f"x = \\u{CANARY}\n", SECRET_TOML),
        (SECRET_PROPS, f'typo = "{CANARY}"\n' + SECRET_TOML),
        (SECRET_PROPS, SECRET_TOML + f'tsig = "{CANARY}\n'),
        (SECRET_PROPS, SECRET_TOML + f'[clusters.dr.client]\n"sasl.password" = "{CANARY}"\n'),
    ]
    for props, toml in broken:
        calls.append(functools.partial(use_error_of_raising, write, props, toml))
    for call in calls:
        with pytest.raises(ConfigError) as info:
            call()
        assert CANARY not in str(info.value)
        assert CANARY not in repr(info.value)


def use_error_of_raising(write: Write, props: str, toml: str) -> None:
    """Load, then use every flow and cluster: a deferred problem raises as it would in use."""
    settings = write(props, toml)
    for source, target in settings.flows:
        settings.flows[(source, target)].require_valid()
    for cluster in settings.clusters.values():
        cluster.require_usable()
        cluster.consumer_client_config()
        cluster.admin_client_config()


def test_redact_and_is_secret_key() -> None:
    assert is_secret_key("sasl.password") and is_secret_key("ssl.key.password")
    assert is_secret_key("sasl.jaas.config") and is_secret_key("ssl.keystore.password")
    assert is_secret_key("aws_secret_access_key") and is_secret_key("ssl.key.pem")
    assert not is_secret_key("sasl.username") and not is_secret_key("ssl.ca.location")
    data = {"a": 1, "password": "x", "nested": [{"token": "t", "ok": "y"}]}
    assert redact(data) == {"a": 1, "password": "***", "nested": [{"token": "***", "ok": "y"}]}


def test_cluster_repr_masks_directly() -> None:
    cluster = ClusterSettings("c", "h:1", {"bootstrap.servers": "h:1", "sasl.password": CANARY})
    assert CANARY not in repr(cluster) and "'sasl.password': '***'" in repr(cluster)


# --- JAAS parser ------------------------------------------------------------------------------


def test_parse_jaas_config_forms() -> None:
    text = (
        f"/* block */ {PLAIN} Required // line comment\n"
        "  username=bare_user-1 password='it' extra=\"a\\tb\\101\";"
    )
    assert parse_jaas_config(text) == (
        PLAIN,
        {"username": "bare_user-1", "password": "it", "extra": "a\tbA"},
    )


def test_parse_jaas_config_quoted_escapes() -> None:
    module, options = parse_jaas_config(
        f'{SCRAM} required username="a\\"b" password="c\\\\d;e=f" tokenauth=true;'
    )
    assert module == SCRAM
    assert options == {"username": 'a"b', "password": "c\\d;e=f", "tokenauth": "true"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "login module class"),
        (f"{PLAIN};", "control flag"),
        (f"{PLAIN} mandatory;", "control flag"),
        (f'{PLAIN} required password="{CANARY}"', "must end with ';'"),
        (f'{PLAIN} required password="{CANARY}', "unterminated"),
        (f"{PLAIN} required password {CANARY};", "key=value"),
        (f"{PLAIN} required password=;", "key=value"),
        (f"{PLAIN} required; {SCRAM} required;", "exactly one login module"),
        (f"{PLAIN} required /* {CANARY}", "unterminated /*"),
    ],
)
def test_parse_jaas_config_errors_never_quote_the_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_jaas_config(text)
    assert CANARY not in str(info.value)


# --- drkit.toml -------------------------------------------------------------------------------


def test_drkit_toml_paths_are_relative_to_its_directory(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    (etc / "kafka").mkdir(parents=True)
    (etc / "kafka" / "mm2.properties").write_text(KAFKA_LAB_MM2)
    (etc / "drkit.toml").write_text(
        'mm2_config = "kafka/mm2.properties"\nstate_dir = "state"\nrunbook_dir = "books"\n'
        '[failover]\nyes = false\n[status]\nmax_checkpoint_age = "5m"\n'
    )
    settings = load_settings(etc / "drkit.toml", environ={}, cwd=tmp_path)
    assert settings.config_path == etc / "drkit.toml"
    assert settings.mm2_config_path == etc / "kafka" / "mm2.properties"
    assert settings.state_dir == etc / "state"
    assert settings.runbook_dir == etc / "books"
    assert settings.thresholds == {"max_checkpoint_age": "5m"}
    assert settings.failover == {"yes": False}
    assert settings.dns == {}
    assert settings.flow("primary", "backup").topics == (r"orders\..*",)


def test_drkit_toml_state_dir_default_is_next_to_it(write: Write, tmp_path: Path) -> None:
    settings = write(KAFKA_LAB_MM2, "")
    assert settings.state_dir == tmp_path / ".drkit"
    assert settings.config_path == tmp_path / "drkit.toml"


def test_design_md_example(write: Write) -> None:
    toml = (
        'state_dir  = ".drkit"\n'
        "[clusters.backup.client]\n"
        '"ssl.ca.location" = "/etc/kafka/ca.pem"\n'
        "[dns]\n"
        'provider = "rfc2136"\n'
        "[[dns.records]]\n"
        'name = "kafka.example.com."\n'
        'type = "CNAME"\n'
        "ttl  = 60\n"
        'values = { primary = "kafka-primary.example.com.", '
        'backup = "kafka-backup.example.com." }\n'
        "[dns.rfc2136]\n"
        'server = "10.0.0.53"\n'
        'tsig_key_file = "/etc/drkit/tsig.key"\n'
    )
    settings = write(KAFKA_LAB_MM2, toml)
    assert settings.cluster("backup").client_config["ssl.ca.location"] == "/etc/kafka/ca.pem"
    assert settings.dns["provider"] == "rfc2136"
    assert settings.dns["records"][0]["values"]["backup"] == "kafka-backup.example.com."


def test_unknown_top_level_key_is_named(write: Write, tmp_path: Path) -> None:
    message = error_of(write, KAFKA_LAB_MM2, 'stat_dir = "x"\n')
    assert "unknown top-level key 'stat_dir'" in message
    assert str(tmp_path / "drkit.toml") in message


def test_bad_toml_names_file_and_line(write: Write, tmp_path: Path) -> None:
    message = error_of(write, KAFKA_LAB_MM2, 'state_dir = ".drkit"\n[dns\nprovider = "x"\n')
    assert message.startswith(f"{tmp_path / 'drkit.toml'}:3: invalid TOML")


def test_bad_toml_at_end_of_document(write: Write, tmp_path: Path) -> None:
    message = error_of(write, KAFKA_LAB_MM2, "state_dir =")
    assert message.startswith(f"{tmp_path / 'drkit.toml'}:2: invalid TOML")


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ("state_dir = 5\n", "state_dir must be a non-empty string"),
        ('dns = "route53"\n', "dns must be a table"),
        ('[clusters.bakup.client]\n"client.id" = "x"\n', "[clusters.bakup] names no cluster"),
        ("[clusters.backup]\nclinet = 1\n", "may only hold a [clusters.backup.client]"),
        ('[clusters.backup]\nclient = "x"\n', "clusters.backup.client must be a table"),
        ('[clusters.backup.client]\n"a" = [1]\n', 'clusters.backup.client."a" must be a string'),
        ("[mm2]\nversion = 3\n", "mm2.version must be a string"),
        ("[mm2]\nversion = \"new\"\n", "not like 3.7.1"),
        ("[mm2]\nflavour = 1\n", "unknown key 'mm2.flavour'"),
        ('[mm2.topics]\n"checkpoints.dr" = "x"\n', 'mm2.topics key "checkpoints.dr"'),
        ('[mm2.topics]\nheartbeat = "x"\n', 'mm2.topics key "heartbeat"'),
        ('[mm2.topics]\nheartbeats = ""\n', "must be a non-empty topic name"),
    ],
)
def test_drkit_toml_validation(write: Write, toml: str, fragment: str) -> None:
    assert fragment in error_of(write, KAFKA_LAB_MM2, toml)


def test_missing_mm2_config_in_toml(tmp_path: Path) -> None:
    (tmp_path / "drkit.toml").write_text('state_dir = "s"\n')
    with pytest.raises(ConfigError, match="mm2_config is missing"):
        load_settings(tmp_path / "drkit.toml", environ={}, cwd=tmp_path)


def test_missing_mm2_file(tmp_path: Path) -> None:
    (tmp_path / "drkit.toml").write_text('mm2_config = "gone.properties"\n')
    with pytest.raises(ConfigError, match=r"cannot read .*gone\.properties"):
        load_settings(tmp_path / "drkit.toml", environ={}, cwd=tmp_path)


def test_topic_name_overrides(write: Write) -> None:
    toml = (
        "[mm2.topics]\n"
        'heartbeats = "hb"\n'
        '"checkpoints.primary" = "cp-primary"\n'
        'offset-syncs.backup = "os-backup"\n'  # dotted (unquoted) keys nest; still accepted
    )
    settings = write(KAFKA_LAB_MM2, toml)
    expected = {
        "heartbeats": "hb",
        "checkpoints.primary": "cp-primary",
        "offset-syncs.backup": "os-backup",
    }
    assert settings.mm2.topic_overrides == expected
    assert settings.flow("primary", "backup").topic_overrides == expected


# --- policy() ---------------------------------------------------------------------------------


@pytest.fixture
def fake_policy(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    module = types.ModuleType("drkit.mm2.policy")

    def build_policy(class_name: str | None, **kwargs: Any) -> str:
        calls.append({"class_name": class_name, **kwargs})
        if class_name == "Bad":
            raise ConfigError("replication.policy.class 'Bad' is not fully qualified")
        return "policy-object"

    module.build_policy = build_policy  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "drkit.mm2.policy", module)
    return calls


def test_flow_policy_calls_build_policy(write: Write, fake_policy: list[dict[str, Any]]) -> None:
    props = KAFKA_LAB_MM2 + "replication.policy.separator = _\n"
    settings = write(props, '[mm2.topics]\nheartbeats = "hb"\n')
    policy: object = settings.flow("primary", "backup").policy()
    assert policy == "policy-object"
    assert fake_policy[-1] == {
        "class_name": DEFAULT_REPLICATION_POLICY,
        "separator": "_",
        "internal_separator_enabled": True,
        "source_alias": "primary",
        "overrides": {"heartbeats": "hb"},
    }
    top_level: object = settings.mm2.policy()
    assert top_level == "policy-object"
    assert fake_policy[-1]["source_alias"] is None


def test_flow_policy_error_names_origin(write: Write, fake_policy: list[dict[str, Any]]) -> None:
    settings = write(KAFKA_LAB_MM2 + "replication.policy.class = Bad\n")
    with pytest.raises(
        ConfigError, match=r"flow primary->backup; policy from .*mm2\.properties:33"
    ):
        settings.flow("primary", "backup").policy()


def test_flow_policy_with_real_module(write: Write) -> None:
    pytest.importorskip("drkit.mm2.policy")
    policy = write(KAFKA_LAB_MM2).flow("primary", "backup").policy()
    assert policy.checkpoints_topic("primary") == "primary.checkpoints.internal"
    assert policy.format_remote_topic("primary", "orders") == "primary.orders"


# --- locating drkit.toml ----------------------------------------------------------------------


def test_mm2_config_only_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mm2.properties").write_text(KAFKA_LAB_MM2)
    settings = load_settings(mm2_config="conf/mm2.properties")
    assert settings.config_path is None
    assert settings.mm2_config_path == tmp_path / "conf" / "mm2.properties"
    assert settings.state_dir == tmp_path / ".drkit"
    assert settings.dns == {} and settings.thresholds == {}


def test_drkit_config_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "mm2.properties").write_text(KAFKA_LAB_MM2)
    (conf / "custom.toml").write_text(
        'mm2_config = "mm2.properties"\nstate_dir = "/var/lib/drkit"\n'
    )
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv(ENV_VAR, str(conf / "custom.toml"))
    settings = load_settings()
    assert settings.config_path == conf / "custom.toml"
    assert settings.state_dir == Path("/var/lib/drkit")
    assert find_config() == conf / "custom.toml"


def test_explicit_config_beats_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mm2.properties").write_text(KAFKA_LAB_MM2)
    (tmp_path / "a.toml").write_text('mm2_config = "mm2.properties"\nstate_dir = "a"\n')
    (tmp_path / "b.toml").write_text('mm2_config = "mm2.properties"\nstate_dir = "b"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENV_VAR, "b.toml")
    assert load_settings().state_dir == tmp_path / "b"
    assert load_settings("a.toml").state_dir == tmp_path / "a"


def test_env_var_pointing_nowhere_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "drkit.toml").write_text('mm2_config = "x"\n')
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"missing\.toml \(from \$DRKIT_CONFIG\) does not exist"):
        load_settings()


def test_explicit_config_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml \(from --config\) does not exist"):
        load_settings("nope.toml", environ={}, cwd=tmp_path)


def test_empty_env_var_falls_back_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mm2.properties").write_text(KAFKA_LAB_MM2)
    (tmp_path / "drkit.toml").write_text('mm2_config = "mm2.properties"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENV_VAR, "")
    assert load_settings().config_path == tmp_path / "drkit.toml"


def test_mm2_config_flag_overrides_toml(tmp_path: Path) -> None:
    (tmp_path / "drkit.toml").write_text('mm2_config = "missing.properties"\nstate_dir = "s"\n')
    (tmp_path / "other.properties").write_text(KAFKA_LAB_MM2)
    settings = load_settings(mm2_config="other.properties", environ={}, cwd=tmp_path)
    assert settings.config_path == tmp_path / "drkit.toml"
    assert settings.mm2_config_path == tmp_path / "other.properties"
    assert settings.state_dir == tmp_path / "s"


def test_nothing_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no drkit config found .*--mm2-config"):
        load_settings(environ={}, cwd=tmp_path)
    assert find_config(environ={}, cwd=tmp_path) is None
