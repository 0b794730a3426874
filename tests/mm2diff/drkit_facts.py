"""drkit's reading of an mm2.properties file, as the same JSON facts ``Mm2Facts.java`` prints.

Everything here goes through drkit's public config API exactly as drkit's commands use it:
``load_settings(mm2_config=...)``, ``settings.flows``, ``Flow.policy()``, the policy's naming
methods called with ``flow.source`` (as ``drkit/mm2/client.py`` and ``drkit/offsets/gather.py``
do), ``flow.topic_included`` / ``flow.group_exclusion_reason``, and each cluster's librdkafka
client config. Nothing is re-derived from the properties text: if drkit reads a file wrongly,
these facts are wrong too, and the parity test shows where.

librdkafka keys are mapped back to the Java-side facts (see :func:`client_facts`); secrets are
hashed with :func:`secret_hash`, which matches ``Mm2Facts.h``.

A ``<name>.drkit.toml`` next to a corpus file is used as that file's drkit.toml (for what MM2
cannot say, e.g. ``[mm2.topics]`` for a custom replication policy, or PEM files for a JKS store).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drkit.config import ClusterSettings, Flow, load_settings
from drkit.errors import DrkitError

#: Must be the same lists as Mm2Facts.SAMPLE_TOPICS / SAMPLE_GROUPS / SAMPLE_TOPIC.
SAMPLE_TOPICS = (
    "orders", "orders.eu", "orders_eu", "orders-internal", "payments", "billing", "_schemas",
    "__consumer_offsets", "__transaction_state", "connect-offsets", "connect-configs",
    "mm2-offset-syncs.b.internal", "mm2-configs.a.internal", "a.checkpoints.internal",
    "x.internal", "foo.replica", "heartbeats", "a.heartbeats", "audit.log",
)
SAMPLE_GROUPS = (
    "orders-app", "billing-app", "billing", "console-consumer-1", "console-consumer-12345",
    "connect-sink-s3", "connect-cluster", "__amazon_msk_canary", "mm2-x", "test", "_confluent-ksql",
    "payments.v2",
)
SAMPLE_TOPIC = "orders"

_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "GSSAPI": "com.sun.security.auth.module.Krb5LoginModule",
}


def secret_hash(secret: str) -> str:
    """sha256 prefix, as ``Mm2Facts.h`` prints it."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


def sidecar_toml(mm2_file: Path) -> Path | None:
    candidate = mm2_file.with_name(mm2_file.stem + ".drkit.toml")
    return candidate if candidate.is_file() else None


def drkit_facts(mm2_file: Path) -> dict[str, Any]:
    """The facts for one file, or ``{"error": ...}`` when drkit refuses the whole file."""
    try:
        settings = load_settings(
            sidecar_toml(mm2_file), mm2_config=mm2_file, environ={}, cwd=mm2_file.parent
        )
    except DrkitError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    aliases = list(settings.mm2.clusters)
    facts: dict[str, Any] = {"error": None, "clusters": sorted(set(aliases))}
    facts["cluster"] = {alias: _cluster_facts(settings.clusters.get(alias)) for alias in aliases}
    facts["pair"] = {}
    for source in aliases:
        for target in aliases:
            if source == target:
                continue
            flow = settings.flows.get((source, target))
            name = f"{source}->{target}"
            if flow is None:
                facts["pair"][name] = {"error": "drkit has no flow", "enabled": False}
                continue
            problems = getattr(flow, "problems", ())  # issue 18 item 7: per-flow problems
            if problems:
                # drkit uses no flow with a problem (as MM2 runs no connector whose config is
                # invalid): in effect not enabled.
                facts["pair"][name] = {"error": "; ".join(problems), "enabled": False}
                continue
            try:
                facts["pair"][name] = _pair_facts(flow, settings.clusters)
            except DrkitError as exc:
                facts["pair"][name] = {"error": f"{type(exc).__name__}: {exc}",
                                       "enabled": flow.enabled}
    return facts


def _naming(alias: str | None, naming: Mapping[str, str]) -> str | None:
    return None if alias is None else naming.get(alias, alias)


def _cluster_facts(cluster: ClusterSettings | None) -> dict[str, Any]:
    if cluster is None:
        return {"error": "drkit has no settings for this cluster"}
    # A cluster drkit reports as broken (issue 18 item 7: reported when used, not at load).
    problems = getattr(cluster, "problems", ())
    if problems:
        return {"error": "; ".join(problems)}
    try:
        return {
            "error": None,
            "consumer": client_facts(cluster, "consumer"),
            "admin": client_facts(cluster, "admin"),
            "client_usable": not cluster.unmapped,
        }
    except DrkitError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def _pair_facts(flow: Flow, clusters: Mapping[str, ClusterSettings]) -> dict[str, Any]:
    policy = flow.policy()
    # Every drkit call site names topics with flow.source (drkit/mm2/client.py, offsets/gather.py):
    # the policy maps it to the alias MM2's connectors name topics after (source.cluster.alias).
    alias = flow.source
    naming = flow.naming_aliases
    remote = policy.format_remote_topic(alias, SAMPLE_TOPIC)
    checkpoints = policy.checkpoints_topic(alias)
    syncs_cluster, syncs_topic = policy.offset_syncs_location(
        flow.source, flow.target, flow.offset_syncs_topic_location
    )
    remote_hb = policy.remote_heartbeats_topic(alias)
    # drkit has no emit.offset-syncs.enabled setting (issue 18 item 5): it behaves as if true.
    emit_offset_syncs = getattr(flow, "emit_offset_syncs_enabled", True)
    return {
        "error": None,
        "enabled": flow.enabled,
        "checkpoint_connector_runs": (
            flow.enabled and flow.emit_checkpoints_enabled and emit_offset_syncs
        ),
        "policy_class": policy.class_name,
        "separator": getattr(policy, "separator", None),
        "source_alias": naming.get(alias, alias),
        "checkpoints_topic": checkpoints,
        "checkpoints_cluster": flow.target,
        "offset_syncs_topic": syncs_topic,
        "offset_syncs_location": flow.offset_syncs_topic_location,
        "offset_syncs_cluster": syncs_cluster,
        "heartbeats_topic": policy.heartbeats_topic(),
        "remote_heartbeats_topic": remote_hb,
        "remote_topic": remote,
        "upstream_topic": policy.upstream_topic(remote),
        # drkit answers in real aliases; MM2 in the naming alias its connectors used.
        "topic_source": _naming(policy.topic_source(remote), naming),
        "topic_filter": {
            **{t: flow.topic_included(t) for t in SAMPLE_TOPICS},
            # This pair's own names, keyed by role (the names themselves are compared above).
            "@remote_topic": flow.topic_included(remote),
            "@checkpoints_topic": flow.topic_included(checkpoints),
            "@offset_syncs_topic": flow.topic_included(syncs_topic),
            "@remote_heartbeats_topic": flow.topic_included(remote_hb),
        },
        "group_filter": {g: flow.group_exclusion_reason(g) is None for g in SAMPLE_GROUPS},
        "emit_checkpoints_enabled": flow.emit_checkpoints_enabled,
        "emit_checkpoints_interval_s": flow.emit_checkpoints_interval_s,
        "emit_offset_syncs_enabled": emit_offset_syncs,
        "emit_heartbeats_enabled": flow.emit_heartbeats_enabled,
        "sync_group_offsets_enabled": flow.sync_group_offsets_enabled,
        "sync_group_offsets_interval_s": flow.sync_group_offsets_interval_s,
        "heartbeats_replication_enabled": flow.heartbeats_replication_enabled,
        # The clients MM2's connectors build for the pair; drkit uses the clusters' own.
        "source_consumer": _maybe_client(clusters.get(flow.source), "consumer"),
        "target_admin": _maybe_client(clusters.get(flow.target), "admin"),
    }


def _maybe_client(cluster: ClusterSettings | None, role: str) -> dict[str, Any] | None:
    return None if cluster is None else client_facts(cluster, role)


def _librdkafka_config(cluster: ClusterSettings, role: str) -> Mapping[str, str]:
    """The librdkafka config drkit gives its ``role`` ("consumer"/"admin") clients.

    Today drkit has one client config per cluster (``client_config``) for every role. Issue 18
    item 2 gives roles their own settings; adapt this one function when that API lands.
    """
    per_role = getattr(cluster, f"{role}_config", None)
    if callable(per_role):
        per_role = per_role()
    if isinstance(per_role, Mapping):
        return per_role
    return cluster.client_config


def client_facts(cluster: ClusterSettings, role: str) -> dict[str, Any]:
    """librdkafka settings mapped back to the Java-side facts ``Mm2Facts.normaliseClient`` prints.

    Java ``ssl.truststore.*`` (PEM) is librdkafka ``ssl.ca.location``; a PEM keystore is
    ``ssl.certificate.location``, a PKCS12 one ``ssl.keystore.location``; JAAS user/password are
    ``sasl.username``/``sasl.password``; the login module is implied by the mechanism.
    """
    cfg = _librdkafka_config(cluster, role)
    protocol = cfg.get("security.protocol", "PLAINTEXT").strip().upper()
    sasl = protocol.startswith("SASL")
    mechanism = cfg.get("sasl.mechanism", "GSSAPI").strip().upper() if sasl else None
    user, password = cfg.get("sasl.username"), cfg.get("sasl.password")
    module = None
    if sasl and (user is not None or "sasl.kerberos.keytab" in cfg):
        module = _LOGIN_MODULES.get(mechanism or "")
    truststore = f"PEM:{cfg['ssl.ca.location']}" if cfg.get("ssl.ca.location") else None
    if cfg.get("ssl.certificate.location"):
        keystore: str | None = f"PEM:{cfg['ssl.certificate.location']}"
    elif cfg.get("ssl.keystore.location"):
        keystore = f"PKCS12:{cfg['ssl.keystore.location']}"
    else:
        keystore = None
    algorithm = cfg.get("ssl.endpoint.identification.algorithm", "https").strip().lower()
    return {
        "bootstrap.servers": cfg.get("bootstrap.servers"),
        "security.protocol": protocol,
        "sasl.mechanism": mechanism,
        "sasl.login.module": module,
        "sasl.username": None if not sasl or user is None else secret_hash(user),
        "sasl.password": None if not sasl or password is None else secret_hash(password),
        "ssl.truststore": truststore,
        "ssl.keystore": keystore,
        "ssl.endpoint.identification.algorithm": algorithm or "none",
    }
