"""Text of every file the lab writes: broker, MM2, logging, drkit.toml, BIND. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

IDENTITY_POLICY = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"
DEFAULT_POLICY = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"

LOG4J2 = """status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.req.name = kafka.request.logger
logger.req.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
"""


@dataclass(frozen=True)
class BrokerPorts:
    client: int
    controller: int


def server_properties(data_dir: Path, ports: BrokerPorts) -> str:
    """A single-node combined KRaft broker on loopback, sized for a 2-core machine."""
    return f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{ports.controller}
listeners=PLAINTEXT://127.0.0.1:{ports.client},CONTROLLER://127.0.0.1:{ports.controller}
advertised.listeners=PLAINTEXT://127.0.0.1:{ports.client}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data_dir}
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=33554432
"""


@dataclass(frozen=True)
class MM2Options:
    """What a lab's MirrorMaker 2 does. Defaults keep MM2's translation realistic.

    ``offset_lag_max`` stays at MM2's default (100) so translation trails like in production;
    only the *intervals* are shortened so a test does not wait minutes for a checkpoint.
    """

    flows: tuple[tuple[str, str], ...] = (("primary", "backup"),)
    topics: str = "orders.*"
    offset_lag_max: int = 100
    sync_group_offsets: bool = False
    policy: str = "default"  # or "identity"
    separator: str = "."
    interval_s: int = 1
    refresh_groups_s: int = 2
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def policy_class(self) -> str:
        return IDENTITY_POLICY if self.policy == "identity" else DEFAULT_POLICY


def mm2_properties(bootstrap: dict[str, str], opts: MM2Options) -> str:
    aliases = list(bootstrap)
    lines = [
        "# MirrorMaker 2, dedicated mode, written by `drkit lab up`.",
        f"clusters = {', '.join(aliases)}",
    ]
    lines += [f"{a}.bootstrap.servers = {bootstrap[a]}" for a in aliases]
    lines.append("")
    for src in aliases:
        for tgt in aliases:
            if src == tgt:
                continue
            enabled = (src, tgt) in opts.flows
            lines.append(f"{src}->{tgt}.enabled = {str(enabled).lower()}")
            if enabled:
                lines.append(f"{src}->{tgt}.topics = {opts.topics}")
    lines += [
        "",
        f"replication.policy.class = {opts.policy_class}",
        f"replication.policy.separator = {_escape(opts.separator)}",
        "",
        "# the connectors' own topics and the Connect internal topics, on 1-broker clusters",
        "replication.factor = 1",
        "checkpoints.topic.replication.factor = 1",
        "heartbeats.topic.replication.factor = 1",
        "offset-syncs.topic.replication.factor = 1",
        "config.storage.replication.factor = 1",
        "offset.storage.replication.factor = 1",
        "status.storage.replication.factor = 1",
        "offset.storage.partitions = 1",
        "status.storage.partitions = 1",
        "",
        "# heartbeats and checkpoints on; short intervals so the lab answers in seconds",
        "emit.heartbeats.enabled = true",
        "emit.checkpoints.enabled = true",
        f"emit.heartbeats.interval.seconds = {opts.interval_s}",
        f"emit.checkpoints.interval.seconds = {opts.interval_s}",
        f"refresh.topics.interval.seconds = {opts.interval_s}",
        f"refresh.groups.interval.seconds = {opts.refresh_groups_s}",
        f"sync.group.offsets.enabled = {str(opts.sync_group_offsets).lower()}",
        f"sync.group.offsets.interval.seconds = {opts.interval_s}",
        "sync.topic.configs.enabled = true",
        "sync.topic.acls.enabled = false",
        f"offset.lag.max = {opts.offset_lag_max}",
        "tasks.max = 1",
        "dedicated.mode.enable.internal.rest = false",
    ]
    lines += [f"{a}.offset.flush.interval.ms = 1000" for a in aliases]
    lines += [f"{a}.plugin.discovery = service_load" for a in aliases]
    lines += [f"{k} = {v}" for k, v in sorted(opts.extra.items())]
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    """Escape a value for a Java .properties file (backslashes, leading blanks)."""
    out = value.replace("\\", "\\\\")
    if out.startswith(" "):
        out = "\\" + out
    return out


def drkit_toml(mm2_file: str, state_dir: str, dns: dict[str, str] | None,
               records: Iterable[tuple[str, dict[str, str]]] = (),
               mm2_version: str | None = None) -> str:
    text = [
        "# drkit configuration for the local lab, written by `drkit lab up`.",
        f'mm2_config = "{mm2_file}"',
        f'state_dir = "{state_dir}"',
    ]
    if mm2_version:
        text += ["", "[mm2]", f'version = "{mm2_version}"   # checkpoint semantics depend on it']
    if dns:
        text += ["", "[dns]", 'provider = "rfc2136"']
        for name, values in records:
            text += ["[[dns.records]]", f'name = "{name}"', 'type = "CNAME"', "ttl = 60"]
            pairs = ", ".join(f'{k} = "{v}"' for k, v in values.items())
            text.append(f"values = {{ {pairs} }}")
        text += [
            "[dns.rfc2136]",
            f'server = "{dns["server"]}"',
            f"port = {dns['port']}",
            f'zone = "{dns["zone"]}"',
            f'tsig_key_file = "{dns["key_file"]}"',
        ]
    return "\n".join(text) + "\n"
