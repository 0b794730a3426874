"""Java client settings (as MM2 uses them) -> librdkafka settings, incl. SSL stores and SASL/JAAS.

Anything that cannot be translated is reported (:attr:`ClusterSettings.unmapped` or ``notes``),
never dropped silently; a drkit.toml ``[clusters.<alias>.client]`` table can supply the replacement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from drkit.config.jaas import parse_jaas_config
from drkit.config.mm2view import Found, MM2View, split_list
from drkit.config.model import ClusterSettings, RoleConfig
from drkit.errors import ConfigError

# Same name and meaning in the Java client and librdkafka.
_PASSTHROUGH = (
    "security.protocol",
    "sasl.mechanism",
    "client.id",
    "ssl.cipher.suites",
    "sasl.kerberos.service.name",
    "reconnect.backoff.ms",
    "reconnect.backoff.max.ms",
    "metadata.max.age.ms",
    "socket.connection.setup.timeout.ms",
    "connections.max.idle.ms",
)
# Handled below (or harmless to drop, like a PEM truststore's unused password).
_HANDLED = frozenset(
    {
        "bootstrap.servers",
        "sasl.jaas.config",
        "ssl.truststore.location",
        "ssl.truststore.type",
        "ssl.truststore.password",
        "ssl.truststore.certificates",
        "ssl.keystore.location",
        "ssl.keystore.type",
        "ssl.keystore.password",
        "ssl.keystore.key",
        "ssl.keystore.certificate.chain",
        "ssl.key.password",
        "ssl.endpoint.identification.algorithm",
        *_PASSTHROUGH,
    }
)
# Java-only settings without which the Java client would not authenticate the same way.
_BLOCKING = {
    "sasl.login.callback.handler.class": ("sasl.*",),
    "sasl.client.callback.handler.class": ("sasl.*",),
    "sasl.login.class": ("sasl.*",),
    "ssl.engine.factory.class": ("ssl.*",),
}
_PLAIN_SCRAM_MODULES = (
    "org.apache.kafka.common.security.plain.PlainLoginModule",
    "org.apache.kafka.common.security.scram.ScramLoginModule",
)
_KRB5_MODULE = "com.sun.security.auth.module.Krb5LoginModule"


@dataclass(frozen=True)
class _Gap:
    """A Java setting librdkafka cannot take; ``fixed_by`` keys (``x.*`` = prefix) replace it."""

    message: str
    fixed_by: tuple[str, ...]

    def fixed(self, given: Mapping[str, str]) -> str | None:
        for want in self.fixed_by:
            for key in given:
                if key == want or (want.endswith("*") and key.startswith(want[:-1])):
                    return key
        return None


# MirrorClientConfig.CLIENT_CONFIG_DEF: bootstrap.servers, security.protocol and the client SSL
# and SASL settings. Only these are inherited from <alias>.* and the top level by MM2's clients.
_SSL_KEYS = frozenset({
    "ssl.cipher.suites", "ssl.enabled.protocols", "ssl.endpoint.identification.algorithm",
    "ssl.engine.factory.class", "ssl.key.password", "ssl.keymanager.algorithm",
    "ssl.keystore.certificate.chain", "ssl.keystore.key", "ssl.keystore.location",
    "ssl.keystore.password", "ssl.keystore.type", "ssl.protocol", "ssl.provider",
    "ssl.secure.random.implementation", "ssl.trustmanager.algorithm",
    "ssl.truststore.certificates", "ssl.truststore.location", "ssl.truststore.password",
    "ssl.truststore.type",
})


def is_client_config_key(name: str) -> bool:
    """Whether MM2 passes ``name`` from ``<alias>.*``/the top level to its clients.

    ``MirrorClientConfig.CLIENT_CONFIG_DEF`` (bootstrap.servers, security.protocol, the client
    SSL settings and the client SASL settings, which are all ``sasl.*``).
    """
    return (name in ("bootstrap.servers", "security.protocol") or name in _SSL_KEYS
            or name.startswith("sasl."))


def _java_client_settings(view: MM2View, alias: str) -> dict[str, Found]:
    """Java client keys for ``alias``: top-level ones, overridden by ``<alias>.``-prefixed ones."""
    merged: dict[str, Found] = {}
    prefix = f"{alias}."
    for key in view.props:
        name = key[len(prefix) :] if key.startswith(prefix) else key
        if name in _HANDLED or name in _BLOCKING or name.startswith(("ssl.", "sasl.")):
            found = view.find(name, alias)
            if found is not None:
                merged[name] = found
    return merged


def _role_java_settings(view: MM2View, alias: str, role: str) -> dict[str, Found]:
    """Java settings MM2's ``role`` clients of ``alias`` get (``MirrorMakerConfig.clusterProps``).

    ``<alias>.<role>.<key>`` (any key) over ``<alias>.<key>`` over the top-level ``<key>``, the
    last two only for :func:`is_client_config_key` keys. A top-level ``<role>.<key>`` is not
    passed to MM2's connector clients, so it is not used here either.
    """
    merged: dict[str, Found] = {}
    role_prefix = f"{alias}.{role}."
    names: list[str] = []
    for key in view.props:
        if key.startswith(role_prefix):
            names.append(key[len(role_prefix) :])
        else:
            name = key[len(alias) + 1 :] if key.startswith(f"{alias}.") else key
            if is_client_config_key(name):
                names.append(name)
    for name in dict.fromkeys(names):
        found = view.get(f"{role_prefix}{name}")
        if found is None and is_client_config_key(name):
            found = view.find(name, alias)
        if found is not None:
            merged[name] = found
    return merged


def _store_kind(found_type: Found | None, location: str) -> str:
    """Keystore type as the Java client sees it: explicit type, else JKS (its default)."""
    if location.lower().endswith(".jks"):
        return "JKS"
    if found_type is not None and found_type.value.strip():
        return found_type.value.strip().upper()
    return "PKCS12" if location.lower().endswith((".p12", ".pfx")) else "JKS"


def _map_ssl(
    java: Mapping[str, Found], alias: str, out: dict[str, str], gaps: list[_Gap], notes: list[str]
) -> None:
    def value(key: str) -> str | None:
        found = java.get(key)
        return None if found is None else found.value.strip()

    trust = value("ssl.truststore.location")
    if trust:
        kind = _store_kind(java.get("ssl.truststore.type"), trust)
        if kind == "PEM":
            out["ssl.ca.location"] = trust
        else:
            gaps.append(
                _Gap(
                    f"{kind} truststore {trust} for cluster {alias} cannot be used by librdkafka; "
                    f'give a PEM via [clusters.{alias}.client] "ssl.ca.location" in drkit.toml',
                    ("ssl.ca.location", "ssl.ca.pem"),
                )
            )
    if value("ssl.truststore.certificates"):
        out["ssl.ca.pem"] = java["ssl.truststore.certificates"].value
    keystore = value("ssl.keystore.location")
    if keystore:
        kind = _store_kind(java.get("ssl.keystore.type"), keystore)
        if kind == "PEM":
            out["ssl.certificate.location"] = keystore
            out["ssl.key.location"] = keystore
        elif kind == "PKCS12":
            out["ssl.keystore.location"] = keystore
            if "ssl.keystore.password" in java:
                out["ssl.keystore.password"] = java["ssl.keystore.password"].value
        else:
            gaps.append(
                _Gap(
                    f"{kind} keystore {keystore} for cluster {alias} cannot be used by librdkafka; "
                    f'give PEM files via [clusters.{alias}.client] "ssl.certificate.location" and '
                    '"ssl.key.location" (or a PKCS12 "ssl.keystore.location") in drkit.toml',
                    ("ssl.certificate.location", "ssl.certificate.pem", "ssl.keystore.location"),
                )
            )
    if value("ssl.keystore.key"):
        out["ssl.key.pem"] = java["ssl.keystore.key"].value
    if value("ssl.keystore.certificate.chain"):
        out["ssl.certificate.pem"] = java["ssl.keystore.certificate.chain"].value
    if "ssl.key.password" in java and ("ssl.key.location" in out or "ssl.key.pem" in out):
        out["ssl.key.password"] = java["ssl.key.password"].value
    algorithm = java.get("ssl.endpoint.identification.algorithm")
    if algorithm is not None:
        text = algorithm.value.strip().lower()
        if text in ("", "none", "https"):
            out["ssl.endpoint.identification.algorithm"] = text or "none"
        else:
            notes.append(
                f"{algorithm.origin}: endpoint identification {text!r} has no "
                "librdkafka equivalent; librdkafka's default (https) applies"
            )


def _map_sasl(java: Mapping[str, Found], alias: str, out: dict[str, str], gaps: list[_Gap]) -> None:
    mechanism = (
        java["sasl.mechanism"].value.strip().upper() if "sasl.mechanism" in java else "GSSAPI"
    )
    protocol = (
        java["security.protocol"].value.strip().upper() if "security.protocol" in java else ""
    )
    jaas = java.get("sasl.jaas.config")
    if jaas is None:
        if protocol.startswith("SASL") and mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
            gaps.append(
                _Gap(
                    f"cluster {alias} uses SASL {mechanism} but {alias}.sasl.jaas.config is "
                    'not set (a JAAS file given to the JVM?); set "sasl.username" and '
                    f'"sasl.password" under [clusters.{alias}.client] in drkit.toml',
                    ("sasl.username",),
                )
            )
        return
    try:
        module, options = parse_jaas_config(jaas.value)
    except ValueError as exc:
        raise ConfigError(f"{jaas.where}: {jaas.key}: {exc}") from None
    if module in _PLAIN_SCRAM_MODULES and "username" in options and "password" in options:
        out["sasl.username"] = options["username"]
        out["sasl.password"] = options["password"]
    elif module == _KRB5_MODULE and "keyTab" in options and "principal" in options:
        out["sasl.kerberos.keytab"] = options["keyTab"]
        out["sasl.kerberos.principal"] = options["principal"]
    else:
        gaps.append(
            _Gap(
                f"{jaas.origin}: login module {module} for cluster {alias} cannot be mapped to "
                "librdkafka (drkit maps PlainLoginModule/ScramLoginModule username+password and "
                f'Krb5LoginModule keyTab+principal); set the librdkafka "sasl.*" settings under '
                f"[clusters.{alias}.client] in drkit.toml",
                ("sasl.*",),
            )
        )


def _map_client(
    java: Mapping[str, Found], alias: str, toml_client: Mapping[str, str], ignore_unknown: bool
) -> tuple[dict[str, str], list[str], list[str]]:
    """(librdkafka config, unmapped, notes) for Java client settings ``java``."""
    out: dict[str, str] = {}
    if "bootstrap.servers" in java:
        out["bootstrap.servers"] = ",".join(split_list(java["bootstrap.servers"].value))
    gaps: list[_Gap] = []
    notes: list[str] = []
    for key in _PASSTHROUGH:
        if key in java and java[key].value.strip():
            out[key] = java[key].value.strip()
    _map_ssl(java, alias, out, gaps, notes)
    _map_sasl(java, alias, out, gaps)
    for key, found in java.items():
        if key in _BLOCKING:
            gaps.append(
                _Gap(
                    f"{found.origin}: {key} for cluster {alias} has no librdkafka equivalent; "
                    f"set the librdkafka equivalents under [clusters.{alias}.client] in drkit.toml",
                    _BLOCKING[key],
                )
            )
        elif key not in _HANDLED and not ignore_unknown:
            notes.append(f"{found.origin}: {key} has no librdkafka equivalent; ignored")
    out.update(toml_client)
    unmapped: list[str] = []
    for gap in gaps:
        fixed = gap.fixed(toml_client)
        if fixed is None:
            unmapped.append(gap.message)
        else:
            notes.append(f'{gap.message} (done: drkit.toml sets "{fixed}")')
    return out, unmapped, notes


def _missing_bootstrap(view: MM2View, alias: str) -> str:
    return (f"{view.props.source}: {alias}.bootstrap.servers is missing; every alias in "
            "'clusters' needs one (or a top-level bootstrap.servers, which MM2 gives every "
            "cluster)")


def _build_role(
    view: MM2View, alias: str, role: str, toml_client: Mapping[str, str]
) -> RoleConfig:
    try:
        java = _role_java_settings(view, alias, role)
        out, unmapped, notes = _map_client(java, alias, toml_client, ignore_unknown=False)
    except ConfigError as exc:
        return RoleConfig({}, problems=(str(exc),))
    if not out.get("bootstrap.servers", "").strip():
        return RoleConfig(out, problems=(_missing_bootstrap(view, alias),))
    return RoleConfig(out, tuple(unmapped), (), tuple(notes))


def build_cluster(view: MM2View, alias: str, toml_client: Mapping[str, str]) -> ClusterSettings:
    """The cluster ``alias``: its cluster-level config and MM2's consumer/admin/producer configs.

    Configuration errors (no bootstrap servers, an unresolvable config provider, a malformed
    JAAS entry) become ``problems``, raised only when the cluster is used.
    """
    roles = {role: _build_role(view, alias, role, toml_client)
             for role in ("consumer", "admin", "producer")}
    try:
        java = _java_client_settings(view, alias)
        bootstrap = view.find("bootstrap.servers", alias)
        if bootstrap is not None:
            java["bootstrap.servers"] = bootstrap
        out, unmapped, notes = _map_client(java, alias, toml_client, ignore_unknown=False)
    except ConfigError as exc:
        return ClusterSettings(alias, "", {}, problems=(str(exc),), roles=roles)
    if not out.get("bootstrap.servers", "").strip():
        return ClusterSettings(alias, "", out, tuple(unmapped), tuple(notes),
                               problems=(_missing_bootstrap(view, alias),), roles=roles)
    if bootstrap is not None and bootstrap.key == "bootstrap.servers":
        notes.append(f"{bootstrap.origin}: cluster {alias} has no {alias}.bootstrap.servers; "
                     "MM2 gives it the top-level bootstrap.servers, and so does drkit")
    for role, config in roles.items():
        if role != "producer":
            notes += [n for n in config.notes if n not in notes]
    return ClusterSettings(alias, out["bootstrap.servers"], out, tuple(unmapped), tuple(notes),
                           roles=roles)
