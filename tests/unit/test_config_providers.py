"""Issue 16 §5: Kafka config providers in mm2.properties are resolved as Kafka resolves them,
never passed on as placeholders, and their secrets are treated as secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drkit.config import ENV_VAR, Settings, load_settings
from drkit.errors import EXIT_USAGE, ConfigError

CANARY = "prov-canary-S3cr3t-91c"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"
PROVIDERS = (
    "config.providers = file, env,directory\n"
    "config.providers.file.class = org.apache.kafka.common.config.provider.FileConfigProvider\n"
    "config.providers.env.class = org.apache.kafka.common.config.provider.EnvVarConfigProvider\n"
    "config.providers.directory.class = DirectoryConfigProvider\n"
)


def load(tmp_path: Path, props: str, environ: dict[str, str] | None = None) -> Settings:
    (tmp_path / "mm2.properties").write_text(props)
    return load_settings(mm2_config=tmp_path / "mm2.properties", environ=environ or {},
                         cwd=tmp_path)


@pytest.fixture(autouse=True)
def _no_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    # FileConfigProvider reads a Java properties file (UTF-8): escapes and continuations apply.
    (tmp_path / "secrets.properties").write_text(
        f"mm2.password = {CANARY}\nmm2.user : dr\\\n   kit\ntrust=/etc/ca.pem\n", "utf-8")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "bootstrap").write_text("p1:9093,p2:9093")
    (tmp_path / "dir" / "keypass").write_text(f"{CANARY}\n")  # not trimmed, as in Kafka
    return tmp_path


def props_with(secrets: Path, extra: str = "") -> str:
    file = secrets / "secrets.properties"
    return PROVIDERS + (
        "clusters = primary, backup\n"
        f"primary.bootstrap.servers = ${{directory:{secrets / 'dir'}:bootstrap}}\n"
        "backup.bootstrap.servers = ${env:BACKUP_BOOTSTRAP}\n"
        "security.protocol = SASL_SSL\nsasl.mechanism = SCRAM-SHA-512\n"
        f'sasl.jaas.config = {SCRAM} required username="${{file:{file}:mm2.user}}" '
        f'password="${{file:{file}:mm2.password}}";\n'
        "ssl.truststore.type = PEM\n"
        f"ssl.truststore.location = ${{file:{file}:trust}}\n"
        "primary->backup.enabled = ${env:PB_ENABLED}\n"
    ) + extra


def test_file_env_and_directory_values_are_resolved(secrets: Path) -> None:
    settings = load(secrets, props_with(secrets),
                    {"BACKUP_BOOTSTRAP": "b:9093", "PB_ENABLED": "true"})
    primary = settings.cluster("primary").usable_client_config()
    assert primary["bootstrap.servers"] == "p1:9093,p2:9093"
    assert primary["sasl.username"] == "drkit" and primary["sasl.password"] == CANARY
    assert primary["ssl.ca.location"] == "/etc/ca.pem"
    assert settings.cluster("backup").consumer_client_config()["bootstrap.servers"] == "b:9093"
    assert settings.flow("primary", "backup").enabled
    assert "${" not in json.dumps(settings.cluster("backup").admin_client_config())


def test_directory_values_are_not_trimmed(secrets: Path) -> None:
    extra = f"primary.ssl.key.password = ${{directory:{secrets / 'dir'}:keypass}}\n" \
            "primary.ssl.keystore.type = PEM\nprimary.ssl.keystore.location = /k.pem\n"
    settings = load(secrets, props_with(secrets, extra), {"BACKUP_BOOTSTRAP": "b:1",
                                                          "PB_ENABLED": "true"})
    assert settings.cluster("primary").client_config["ssl.key.password"] == f"{CANARY}\n"


@pytest.mark.parametrize(
    ("extra", "environ", "fragment"),
    [
        ("primary.sasl.jaas.config = ${vault:secret/kafka:pw}\n", {},
         "provider 'vault' is not declared in config.providers"),
        ("primary.ssl.key.password = ${file:/nonexistent/s.properties:pw}\n", {},
         "could not read properties from file /nonexistent/s.properties"),
        ("primary.ssl.key.password = ${file:SECRETS:nope}\n", {},
         "no key 'nope' in file"),
        ("primary.ssl.key.password = ${env:MISSING}\n", {}, "no key 'MISSING' in the environment"),
        ("primary.ssl.key.password = ${env:/x:MISSING}\n", {}, "a path is not supported"),
        ("config.providers.env.param.allowlist.pattern = (BACKUP|PB)_.*\n"
         "primary.ssl.key.password = ${env:SECRET}\n", {"SECRET": CANARY},
         "no key 'SECRET' in the environment"),
        ("config.providers.directory.param.allowed.paths = DIR\n"
         "primary.ssl.key.password = ${directory:DIR/../other:keypass}\n", {},
         "is outside allowed.paths"),
    ],
)
def test_unresolvable_variable_is_one_line_naming_key_line_and_provider(
    secrets: Path, extra: str, environ: dict[str, str], fragment: str
) -> None:
    extra = extra.replace("SECRETS", str(secrets / "secrets.properties"))
    extra = extra.replace("DIR", str(secrets / "dir"))
    (secrets / "other").mkdir()
    (secrets / "other" / "keypass").write_text(CANARY)
    props = props_with(secrets, extra)
    settings = load(secrets, props, {"BACKUP_BOOTSTRAP": "b:1", "PB_ENABLED": "true", **environ})
    settings.cluster("backup").usable_client_config()  # the other cluster is fine
    with pytest.raises(ConfigError) as info:
        settings.cluster("primary").usable_client_config()
    message = str(info.value)
    line = props.splitlines().index(extra.splitlines()[-1]) + 1
    assert info.value.exit_code == EXIT_USAGE
    assert f"mm2.properties:{line}: primary." in message and "cannot resolve ${" in message
    assert fragment in message and "\n" not in message and CANARY not in message


def test_provider_declared_without_class_and_unknown_class(secrets: Path) -> None:
    base = "clusters = a\na.bootstrap.servers = ${x:K}\n"
    settings = load(secrets, "config.providers = x\n" + base)
    with pytest.raises(ConfigError, match=r"config\.providers\.x\.class is not set"):
        settings.cluster("a").usable_client_config()
    settings = load(secrets, "config.providers = x\nconfig.providers.x.class = com.acme.Vault\n"
                    + base)
    with pytest.raises(ConfigError, match=r"com\.acme\.Vault is not a provider drkit can run"):
        settings.cluster("a").usable_client_config()


def test_variable_grammar_is_config_transformers(secrets: Path) -> None:
    # ${provider:path:key}: the path runs to the first ':' after the provider; the key is the rest
    (secrets / "s.properties").write_text("a\\:b = colon-key\n")
    from drkit.config.javaprops import parse_properties
    from drkit.config.providers import ConfigProviders

    props = parse_properties(PROVIDERS, "mm2.properties")
    providers = ConfigProviders(props, {"V": "v"})
    path = secrets / "s.properties"
    assert providers.resolve(f"x${{file:{path}:a:b}}y${{env:V}}", "k", "f:1") == "xcolon-keyyv"
    assert providers.resolve("no variables ${ here", "k", "f:1") == "no variables ${ here"


def test_resolved_secrets_are_secrets(secrets: Path) -> None:
    from drkit.runbook.session import secrets_of

    extra = (f'backup.consumer.sasl.jaas.config = {SCRAM} required username="c" '
             'password="${env:CONSUMER_PW}";\n')
    settings = load(secrets, props_with(secrets, extra),
                    {"BACKUP_BOOTSTRAP": "b:1", "PB_ENABLED": "true", "CONSUMER_PW": "cons-pw-77"})
    found = secrets_of(settings)
    assert CANARY in found and "cons-pw-77" in found
    assert set(settings.secret_values()) >= {CANARY, "cons-pw-77"}
    for cluster in settings.clusters.values():
        for text in (repr(cluster), json.dumps(cluster.redacted()), *cluster.notes):
            assert CANARY not in text and "cons-pw-77" not in text
    assert CANARY not in repr(settings) and CANARY not in json.dumps(settings.redacted())
