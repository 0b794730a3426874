"""Issue 18: drkit reads mm2.properties as MirrorMaker 2 (4.x) does — one test group per item.

The facts asserted here come from MM2's own classes (MirrorMakerConfig.clusterProps/clusterPairs/
connectorBaseConfig, MirrorConnectorConfig's client configs, DefaultReplicationPolicy.configure,
ConfigDef's BOOLEAN parsing, MirrorCheckpointConfig.validate); the differential test under
tests/mm2diff checks the same against MM2 itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from drkit.config import ENV_VAR, Settings, load_settings
from drkit.errors import EXIT_USAGE, ConfigError

SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
BASE = (
    "clusters = primary, backup\n"
    "primary.bootstrap.servers = p:9092\n"
    "backup.bootstrap.servers = b:9092\n"
)
CORPUS = Path(__file__).resolve().parents[1] / "data" / "mm2-corpus"

Write = Callable[..., Settings]


@pytest.fixture
def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Write:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)

    def load(props: str, toml: str | None = None, **kw: object) -> Settings:
        (tmp_path / "mm2.properties").write_text(props, encoding="latin-1")
        if toml is None:
            return load_settings(mm2_config="mm2.properties", environ={}, cwd=tmp_path, **kw)
        (tmp_path / "drkit.toml").write_text('mm2_config = "mm2.properties"\n' + toml)
        return load_settings(tmp_path / "drkit.toml", environ={}, cwd=tmp_path, **kw)

    return load


# --- item 2: per-cluster client overrides for the consumer and admin roles ---------------------


def test_credentials_only_under_consumer_and_admin_reach_those_clients(write: Write) -> None:
    props = BASE + (
        "primary.consumer.security.protocol = SASL_SSL\n"
        "primary.consumer.sasl.mechanism = SCRAM-SHA-512\n"
        f'primary.consumer.sasl.jaas.config = {SCRAM} required username="reader" '
        'password="reader-pw";\n'
        "primary.admin.security.protocol = SASL_SSL\n"
        "primary.admin.sasl.mechanism = SCRAM-SHA-512\n"
        f'primary.admin.sasl.jaas.config = {SCRAM} required username="admin" password="admin-pw";\n'
        "primary->backup.enabled = true\n"
    )
    primary = write(props).cluster("primary")
    consumer = primary.consumer_client_config({"group.id": "g"})
    assert consumer == {
        "bootstrap.servers": "p:9092", "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "reader",
        "sasl.password": "reader-pw", "group.id": "g",
    }
    admin = primary.admin_client_config()
    assert (admin["sasl.username"], admin["sasl.password"]) == ("admin", "admin-pw")
    # The cluster-level config stays what it was (bootstrap only): MM2 gives <alias>.consumer.*
    # to consumers only.
    assert primary.usable_client_config() == {"bootstrap.servers": "p:9092"}
    assert primary.consumer_config["sasl.username"] == "reader"  # unchecked view, as in MM2diff


def test_role_precedence_is_role_then_alias_then_top_level(write: Write) -> None:
    props = BASE + (
        "security.protocol = SASL_SSL\nsasl.mechanism = PLAIN\n"
        f'sasl.jaas.config = {PLAIN} required username="mm2" password="mm2-pw";\n'
        f'backup.admin.sasl.jaas.config = {PLAIN} required username="mm2-admin" '
        'password="admin-pw";\n'
        "backup.consumer.bootstrap.servers = b-consumers:9093\n"
        "backup.security.protocol = SASL_PLAINTEXT\n"
        "consumer.security.protocol = SSL\n"  # top-level consumer.*: not given to MM2's clients
        "backup.client.id = cluster-level\n"  # not a CLIENT_CONFIG_DEF key: not inherited
        "backup.consumer.client.id = consumer-only\n"
    )
    backup = write(props).cluster("backup")
    consumer, admin = backup.consumer_client_config(), backup.admin_client_config()
    assert consumer["bootstrap.servers"] == "b-consumers:9093"
    assert admin["bootstrap.servers"] == "b:9092"
    assert consumer["security.protocol"] == admin["security.protocol"] == "SASL_PLAINTEXT"
    assert consumer["sasl.username"] == "mm2" and admin["sasl.username"] == "mm2-admin"
    assert consumer["client.id"] == "consumer-only" and "client.id" not in admin
    assert backup.client_config["client.id"] == "cluster-level"  # unchanged cluster-level view


def test_role_gaps_and_toml_replacements(write: Write) -> None:
    props = BASE + "primary.consumer.ssl.truststore.location = /t.jks\n"
    settings = write(props)
    with pytest.raises(ConfigError, match=r"JKS truststore /t\.jks for cluster primary"):
        settings.cluster("primary").consumer_client_config()
    settings.cluster("primary").admin_client_config()  # the admin role has no JKS
    toml = '[clusters.primary.client]\n"ssl.ca.location" = "/ca.pem"\n'
    fixed = write(props, toml).cluster("primary").consumer_client_config()
    assert fixed["ssl.ca.location"] == "/ca.pem"


# --- item 3: empty separator and a top-level source.cluster.alias ------------------------------


def test_empty_separator_and_empty_source_alias_keep_names(write: Write) -> None:
    props = (CORPUS / "item3-empty-separator-and-alias.properties").read_text("latin-1")
    flow = write(props).flow("source", "target")
    assert flow.replication_policy_separator == ""
    assert flow.source_cluster_alias == ""
    policy = flow.policy()
    assert policy.format_remote_topic("source", "orders") == "orders"
    assert policy.checkpoints_topic("source") == "checkpointsinternal"
    assert policy.is_checkpoints_topic("checkpointsinternal")
    assert flow.checkpoints_topic() == "checkpointsinternal"
    assert flow.remote_topic("orders") == "orders"
    # Offset syncs live on the source, named after the target alias (not overridden here).
    assert flow.offset_syncs_topic() == ("source", "mm2-offset-syncstargetinternal")
    assert flow.remote_heartbeats_topic() == "heartbeats"


def test_top_level_source_alias_names_every_flow(write: Write) -> None:
    settings = write(BASE + "source.cluster.alias = dc1\nprimary->backup.enabled = true\n"
                     "backup->primary.enabled = true\n")
    forward = settings.flow("primary", "backup")
    assert forward.checkpoints_topic() == "dc1.checkpoints.internal"
    assert forward.remote_topic("orders") == "dc1.orders"
    assert forward.policy().checkpoints_topic(forward.source) == "dc1.checkpoints.internal"
    assert forward.policy().topic_source("dc1.orders", ["primary", "backup"]) == "primary"
    assert settings.flow("backup", "primary").remote_topic("x") == "dc1.x"


def test_flow_level_target_alias_names_offset_syncs(write: Write) -> None:
    settings = write(BASE + "primary->backup.enabled = true\n"
                     "primary->backup.target.cluster.alias = dr\n")
    assert settings.flow("primary", "backup").offset_syncs_topic() == (
        "primary", "mm2-offset-syncs.dr.internal")
    assert settings.flows[("backup", "primary")].naming_aliases == {}


# --- item 4: removed / never-read filter settings follow the MM2 version ------------------------


def test_blacklists_are_ignored_by_4x_with_a_note(write: Write) -> None:
    props = BASE + "primary->backup.enabled = true\ngroups.blacklist =\ntopics.blacklist = x.*\n"
    settings = write(props)
    flow = settings.flow("primary", "backup")
    assert flow.groups_exclude == ("console-consumer-.*", "connect-.*", "__.*")
    assert flow.group_exclusion_reason("connect-sink") == (
        "matches MM2 groups.exclude pattern 'connect-.*'")
    assert flow.topic_included("x.orders")
    notes = settings.notes_for([("primary", "backup")])
    assert any("mm2.properties:5 groups.blacklist: groups.blacklist was removed in Kafka 4.0"
               in n and "(assumed" in n and "rename it to groups.exclude" in n for n in notes)
    assert any("topics.blacklist was removed" in n for n in notes)
    explicit = write(props, '[mm2]\nversion = "4.1.0"\n').flow("primary", "backup")
    assert any("MM2 4.1.0 ignores it" in n for n in explicit.notes)


def test_blacklists_apply_before_4_0_with_a_deprecation_note(write: Write) -> None:
    props = BASE + "primary->backup.enabled = true\ngroups.blacklist = legacy-.*\n"
    flow = write(props, '[mm2]\nversion = "3.7.1"\n').flow("primary", "backup")
    assert flow.groups_exclude == ("legacy-.*",)
    assert any("deprecated" in n for n in flow.notes)


def test_whitelists_were_never_read(write: Write) -> None:
    props = BASE + "primary->backup.enabled = true\ntopics.whitelist = orders.*\n"
    for toml in (None, '[mm2]\nversion = "2.8.0"\n'):
        flow = write(props, toml).flow("primary", "backup")
        assert flow.topics == (".*",)
        assert any("no MM2 version reads topics.whitelist" in n for n in flow.notes)


# --- item 5: settings that stop checkpoints are named -------------------------------------------


@pytest.mark.parametrize("key", ["emit.checkpoints.enabled", "emit.offset-syncs.enabled"])
def test_checkpoints_disabled_reason_names_setting_and_line(write: Write, key: str) -> None:
    flow = write(BASE + f"primary->backup.enabled = true\nprimary->backup.{key} = false\n").flow(
        "primary", "backup")
    reason = flow.checkpoints_disabled_reason()
    assert reason is not None
    assert f"{key} = false at " in reason and f"mm2.properties:5 primary->backup.{key}" in reason
    assert write(BASE + "primary->backup.enabled = true\n").flow(
        "primary", "backup").checkpoints_disabled_reason() is None


# --- item 6: which flows are enabled ---------------------------------------------------------


def test_top_level_enabled_enables_every_pair(write: Write) -> None:
    settings = write(BASE + "enabled = true\nbackup->primary.enabled = false\n")
    assert settings.flows[("primary", "backup")].enabled
    assert not settings.flows[("backup", "primary")].enabled


def test_trailing_blank_enabled_counts_only_while_heartbeats_make_a_herder(write: Write) -> None:
    # ConfigDef trims "true " for the connectors, but clusterPairs() uses parseBoolean.
    assert write(BASE + "primary->backup.enabled = true \n").flows[("primary", "backup")].enabled
    settings = write(BASE + "emit.heartbeats.enabled = false\nprimary->backup.enabled = true \n")
    flow = settings.flows[("primary", "backup")]
    assert not flow.enabled
    assert any("Boolean.parseBoolean" in n for n in flow.notes)
    with pytest.raises(ConfigError, match="not enabled"):
        settings.flow("primary", "backup")


def test_top_level_enabled_without_heartbeats_makes_no_herder(write: Write) -> None:
    settings = write(BASE + "enabled = true\nemit.heartbeats.enabled = false\n")
    assert not settings.flows[("primary", "backup")].enabled


def test_internal_separator_flag_uses_parse_boolean(write: Write) -> None:
    props = BASE + ("replication.policy.separator = -\n"
                    "replication.policy.internal.topic.separator.enabled = true \n"
                    "primary->backup.enabled = true\n")
    flow = write(props).flow("primary", "backup")
    assert flow.internal_separator_enabled is False  # "true " is not true to parseBoolean
    assert flow.checkpoints_topic() == "primary.checkpoints.internal"
    assert flow.remote_topic("orders") == "primary-orders"


def test_offset_syncs_location_is_case_sensitive(write: Write) -> None:
    props = BASE + "primary->backup.enabled = true\noffset-syncs.topic.location = Target\n"
    with pytest.raises(ConfigError, match="must be 'source' or 'target'"):
        write(props).flow("primary", "backup")


# --- item 7: one bad flow or cluster does not block the others ---------------------------------


def test_invalid_value_on_other_flow_only_warns(write: Write) -> None:
    props = BASE + "primary->backup.enabled = true\nbackup->primary.enabled = true # failback\n"
    settings = write(props)
    flow = settings.flow("primary", "backup")  # no error
    assert flow.enabled
    notes = settings.notes_for([("primary", "backup")])
    assert any(n.startswith("warning: flow backup->primary (not used here): ") and
               "mm2.properties:5: backup->primary.enabled" in n and "inline '#'" in n
               for n in notes)
    with pytest.raises(ConfigError) as info:
        settings.flow("backup", "primary")
    assert info.value.exit_code == EXIT_USAGE
    assert "not a boolean" in str(info.value) and "\n" not in str(info.value)


def test_cluster_without_bootstrap_only_blocks_its_flows(write: Write) -> None:
    props = ("clusters = primary, backup, dr\nprimary.bootstrap.servers = p:1\n"
             "backup.bootstrap.servers = b:1\nprimary->backup.enabled = true\n"
             "primary->dr.enabled = true\n")
    settings = write(props)
    settings.flow("primary", "backup")
    settings.cluster("backup").usable_client_config()
    assert any(n.startswith("warning: cluster dr (not used here): ") and
               "dr.bootstrap.servers is missing" in n
               for n in settings.notes_for([("primary", "backup")]))
    with pytest.raises(ConfigError, match=r"dr\.bootstrap\.servers is missing"):
        settings.flow("primary", "dr")
    with pytest.raises(ConfigError, match=r"dr\.bootstrap\.servers is missing"):
        settings.cluster("dr").consumer_client_config()


def test_bad_jaas_on_one_cluster_does_not_block_the_others(write: Write) -> None:
    props = BASE + f"backup.sasl.jaas.config = {PLAIN} required\nprimary->backup.enabled = true\n"
    settings = write(props)
    settings.cluster("primary").usable_client_config()
    with pytest.raises(ConfigError, match=r"mm2\.properties:4: backup\.sasl\.jaas\.config"):
        settings.flow("primary", "backup")


# --- item 8: custom replication policies: where the names go ------------------------------------


CUSTOM = BASE + "primary->backup.enabled = true\nreplication.policy.class = com.example.Policy\n"


def test_custom_policy_error_says_where_the_names_go(write: Write) -> None:
    with pytest.raises(ConfigError) as info:
        write(CUSTOM).flow("primary", "backup").policy()
    message = str(info.value)
    assert "[mm2.topics]" in message and "--topic-name" in message and "drkit.toml" in message


def test_topic_overrides_from_the_command_line(write: Write) -> None:
    names = {"heartbeats": "hb", "checkpoints.primary": "cp", "offset-syncs.backup": "os"}
    flow = write(CUSTOM, topic_overrides=names).flow("primary", "backup")
    assert flow.checkpoints_topic() == "cp"
    assert flow.offset_syncs_topic() == ("primary", "os")
    # The command line wins over drkit.toml's [mm2.topics].
    toml = '[mm2.topics]\nheartbeats = "from-toml"\n"checkpoints.primary" = "toml-cp"\n'
    flow = write(CUSTOM, toml, topic_overrides={"checkpoints.primary": "cli-cp"}).flow(
        "primary", "backup")
    assert flow.checkpoints_topic() == "cli-cp" and flow.policy().heartbeats_topic() == "from-toml"
    with pytest.raises(ConfigError, match=r'--topic-name "checkpoints\.nope"'):
        write(CUSTOM, topic_overrides={"checkpoints.nope": "x"})


def test_parse_topic_names() -> None:
    from drkit.config.loader import parse_topic_names

    assert parse_topic_names(["checkpoints.a=x.y", " heartbeats = hb "]) == {
        "checkpoints.a": "x.y", "heartbeats": "hb"}
    with pytest.raises(ConfigError, match="KEY=NAME"):
        parse_topic_names(["checkpoints.a"])


def test_topic_name_option_reaches_the_settings(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import click
    from click.testing import CliRunner

    from drkit.commands.common import mm2_config_option, settings_from

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)
    (tmp_path / "mm2.properties").write_text(CUSTOM)

    @click.command()
    @mm2_config_option
    @click.pass_context
    def show(ctx: click.Context, mm2_config: Path | None) -> None:
        click.echo(settings_from(ctx, mm2_config).flow("primary", "backup").checkpoints_topic())

    result = CliRunner().invoke(show, ["--mm2-config", "mm2.properties",
                                       "--topic-name", "checkpoints.primary=cp.x",
                                       "--topic-name", "heartbeats=hb"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "cp.x"
