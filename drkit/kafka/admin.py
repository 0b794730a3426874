"""The Kafka admin calls drkit makes, each bounded by a timeout and turned into a ClusterError.

A thin edge over confluent-kafka's AdminClient: it returns drkit's plain values (TopicPartition,
:class:`~drkit.kafka.groups.TargetGroup`) so the pure planners never see a Kafka object. Every
command and runbook step reaches a cluster through :class:`KafkaAdmin` (a live connection; the
settings it is made from are :class:`~drkit.config.ClusterSettings`).
"""

from __future__ import annotations

import concurrent.futures
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException
from confluent_kafka import TopicPartition as KafkaTopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from drkit.config import Settings
from drkit.errors import ClusterError
from drkit.kafka import clients
from drkit.kafka.groups import TargetGroup, group_is_active
from drkit.mm2.model import TopicPartition

# Consumer groups per ListConsumerGroupOffsets/ListOffsets wave: enough to keep the broker busy
# without queueing thousands of requests in librdkafka at once.
WAVE = 200


@dataclass(frozen=True)
class ClusterInfo:
    alias: str
    bootstrap: str
    cluster_id: str | None
    controller_id: int | None
    broker_count: int


def _err(exc: BaseException) -> str:
    if isinstance(exc, KafkaException) and exc.args:
        kerr = exc.args[0]
        return str(kerr.str() if hasattr(kerr, "str") else kerr)
    return str(exc) or type(exc).__name__


class KafkaAdmin:
    """A live admin connection to one cluster, by its MM2 alias, every call bounded by
    ``timeout_s``."""

    def __init__(self, alias: str, client_config: Mapping[str, str], timeout_s: float = 15.0):
        self.alias = alias
        self.config = dict(client_config)
        self.timeout_s = timeout_s
        self._admin: AdminClient | None = None

    @classmethod
    def connect(cls, settings: Settings, alias: str, timeout_s: float = 15.0) -> KafkaAdmin:
        """The cluster called ``alias`` in ``settings``, with its librdkafka client config."""
        return cls(alias, settings.cluster(alias).admin_client_config(), timeout_s)

    @property
    def where(self) -> str:
        return f"{self.alias} ({self.config.get('bootstrap.servers', '?')})"

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            self._admin = clients.admin(self.config)
        return self._admin

    def _wait(self, fut: concurrent.futures.Future[Any], what: str,
              absent: str | None = None) -> Any:
        """The future's result, bounded by the timeout; None if the error names ``absent``."""
        try:
            return fut.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            raise ClusterError(f"{self.where} did not answer {what} within {self.timeout_s:.0f} s;"
                               " is it up and reachable?") from None
        except KafkaException as exc:
            if absent is not None and absent in _err(exc):
                return None
            raise ClusterError(f"{self.where}: {what} failed: {_err(exc)}") from exc

    def tcp_probe(self) -> None:
        """Fail at once when no bootstrap server accepts a TCP connection.

        librdkafka keeps retrying a refused connection until the request times out; a dead
        region answers "connection refused" (or nothing) and the operator should not wait for
        a timeout to learn that. All servers are tried at once under one deadline.
        """
        targets = []
        for server in self.config.get("bootstrap.servers", "").split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                return  # an address we cannot parse: leave it to the client
            targets.append((host.strip("[]"), int(port)))
        if not targets:
            return
        limit = min(self.timeout_s, 3.0)

        def connect(target: tuple[str, int]) -> None:
            with socket.create_connection(target, timeout=limit):
                pass

        pool = concurrent.futures.ThreadPoolExecutor(len(targets))
        try:
            futs = {pool.submit(connect, t): t for t in targets}
            errors = []
            for fut in concurrent.futures.as_completed(futs, timeout=limit + 1):
                exc = fut.exception()
                if exc is None:
                    return
                host, port_no = futs[fut]
                errors.append(f"{host}:{port_no}: {getattr(exc, 'strerror', None) or exc}")
        except concurrent.futures.TimeoutError:
            errors = [f"no answer within {limit:.0f} s"]
        finally:
            pool.shutdown(wait=False)
        raise ClusterError(f"cannot reach {self.where}: {'; '.join(errors)}")

    def describe(self) -> ClusterInfo:
        """Fails with a one-line ClusterError naming the host when the cluster is down."""
        self.tcp_probe()
        try:
            fut = self.admin.describe_cluster(request_timeout=self.timeout_s)
        except KafkaException as exc:
            raise ClusterError(f"cannot reach {self.where}: {_err(exc)}") from exc
        desc = self._wait(fut, "a metadata request")
        return ClusterInfo(self.alias, self.config.get("bootstrap.servers", ""),
                           desc.cluster_id, desc.controller.id if desc.controller else None,
                           len(desc.nodes))

    def topics(self) -> dict[str, int]:
        """Topic name -> partition count."""
        try:
            md = self.admin.list_topics(timeout=self.timeout_s)
        except KafkaException as exc:
            raise ClusterError(f"cannot list topics on {self.where}: {_err(exc)}; "
                               "is the cluster up?") from exc
        return {t: len(m.partitions) for t, m in md.topics.items() if m.error is None}

    def group_states(self) -> dict[str, str]:
        """Every consumer group on the cluster and its state (e.g. EMPTY, STABLE)."""
        res = self._wait(self.admin.list_consumer_groups(request_timeout=self.timeout_s),
                         "ListGroups")
        return {g.group_id: (g.state.name if g.state is not None else "UNKNOWN")
                for g in res.valid}

    def describe_groups(self, groups: Iterable[str]) -> dict[str, tuple[str, int]]:
        """(state, member count) per existing group; absent groups are left out."""
        out: dict[str, tuple[str, int]] = {}
        ids = sorted(set(groups))
        for i in range(0, len(ids), WAVE):
            futs = self.admin.describe_consumer_groups(ids[i:i + WAVE],
                                                       request_timeout=self.timeout_s)
            for gid, fut in futs.items():
                desc = self._wait(fut, f"describing group {gid}", absent="GROUP_ID_NOT_FOUND")
                if desc is None:
                    continue
                state = desc.state.name if desc.state is not None else "UNKNOWN"
                if state == "DEAD" and not desc.members:
                    continue  # the broker's answer for a group that does not exist
                out[gid] = (state, len(desc.members))
        return out

    def committed(self, groups: Iterable[str]) -> dict[str, dict[TopicPartition, int]]:
        """Committed offsets of many groups, requested concurrently in waves."""
        out: dict[str, dict[TopicPartition, int]] = {}
        ids = sorted(set(groups))
        for i in range(0, len(ids), WAVE):
            # The AdminClient takes one group per request; sending a wave of them at once keeps
            # many requests in flight instead of paying one round trip per group.
            futs = {}
            for g in ids[i:i + WAVE]:
                futs.update(self.admin.list_consumer_group_offsets(
                    [ConsumerGroupTopicPartitions(g)], request_timeout=self.timeout_s))
            for gid, fut in futs.items():
                res = self._wait(fut, f"committed offsets of group {gid}")
                out[gid] = {TopicPartition(tp.topic, tp.partition): tp.offset
                            for tp in res.topic_partitions if tp.offset >= 0 and not tp.error}
        return out

    def target_groups(self, groups: Iterable[str]) -> dict[str, TargetGroup]:
        """State, members and commits of those ``groups`` that exist on this cluster.

        One ListGroups answers which exist and which are Empty; only the others are described
        (for their member count), so a failover of 1,000 fresh groups costs one request, not
        a thousand.
        """
        states = self.group_states()
        listed = sorted(g for g in set(groups) if g in states)
        busy = [g for g in listed if group_is_active(states[g], 0)]
        described = self.describe_groups(busy)
        offsets = self.committed(listed)
        out = {}
        for gid in listed:
            state, members = described.get(gid, (states[gid], 0))
            out[gid] = TargetGroup(gid, state, members, offsets.get(gid, {}))
        return out

    def log_ranges(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition,
                                                                       tuple[int, int]]:
        """(log start, log end) per existing partition; missing partitions are left out."""
        tps = sorted(set(partitions))
        out: dict[TopicPartition, tuple[int, int]] = {}
        for i in range(0, len(tps), WAVE * 10):
            chunk = tps[i:i + WAVE * 10]
            starts = self._list_offsets(chunk, OffsetSpec.earliest())  # type: ignore[no-untyped-call]
            ends = self._list_offsets(chunk, OffsetSpec.latest())  # type: ignore[no-untyped-call]
            for tp in chunk:
                if tp in starts and tp in ends:
                    out[tp] = (starts[tp], ends[tp])
        return out

    def _list_offsets(self, tps: list[TopicPartition], spec: OffsetSpec
                      ) -> dict[TopicPartition, int]:
        if not tps:
            return {}
        req = {KafkaTopicPartition(tp.topic, tp.partition): spec for tp in tps}
        futs = self.admin.list_offsets(req, request_timeout=self.timeout_s)
        out = {}
        for ktp, fut in futs.items():
            res = self._wait(fut, f"listing offsets of {ktp.topic}-{ktp.partition}",
                             absent="UNKNOWN_TOPIC_OR_PART")
            if res is None:
                continue
            out[TopicPartition(ktp.topic, ktp.partition)] = int(res.offset)
        return out
