"""Read a whole MM2 internal topic once, to the end offset captured when the read starts.

MM2's own client (``RemoteClusterUtils.translateOffsets``) scans the checkpoints topic once per
group and silently returns a partial map on timeout. drkit scans once for all groups, reads
``read_committed``, keeps the last record per key in log order (never the max: a source rewind
legitimately lowers a checkpoint), and fails rather than plan from a partial read.

Only the surviving record per key is decoded: compaction semantics make older ones irrelevant,
and decoding survivors keeps a 1,000,000-record scan close to a bare consume loop.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar, cast

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, Message
from confluent_kafka import TopicPartition as KafkaTopicPartition

from drkit import kafka_clients
from drkit.errors import ClusterError, CodecError
from drkit.mm2.codec import (
    JSON_CONVERTER_HINT,
    decode_checkpoint,
    decode_heartbeat,
    decode_offset_sync,
    looks_like_json,
)
from drkit.mm2.model import Heartbeat, OffsetSync, StampedCheckpoint, TopicPartition

Progress = Callable[[int, int], None]
BATCH = 10_000
# consume() returns a partial batch only when this wait expires, so every scan pays it once at
# the tail (0.1 s was half the time of a 24,000-record scan); a full queue returns at once.
WAIT_S = 0.01
READER_CONFIG: dict[str, object] = {
    "isolation.level": "read_committed", "group.id": "drkit-internal-reader",
    "fetch.max.bytes": 52428800, "queued.max.messages.kbytes": 262144,
    "enable.partition.eof": True, "auto.offset.reset": "earliest",
    # librdkafka (>= 2.3) pauses a partition's fetching for fetch.queue.backoff.ms (default
    # 1000 ms) whenever its prefetch queue holds queued.min.messages (100,000); a 1,000,000-
    # record scan then sleeps ~1 s per 100,000 records. 10 ms keeps the queue (and memory)
    # bounded without stalling: tests/bench/bench_scan.py went from ~150k to ~1M records/s.
    "fetch.queue.backoff.ms": 10,
}


@dataclass(frozen=True)
class RawRecord:
    value: bytes | None
    timestamp_ms: int
    offset: int


@dataclass
class ScanResult:
    """Last record per key, plus what the scan saw (for reports and benchmarks)."""

    topic: str
    cluster: str
    end_offset: int
    records_read: int = 0
    # The surviving Message per key: it already holds value, timestamp and offset as Python
    # objects, so no second object is built per survivor.
    latest: dict[bytes, Message] = field(default_factory=dict)
    history: list[tuple[bytes, RawRecord]] = field(default_factory=list)
    seconds: float = 0.0


def _where(cluster: str, config: Mapping[str, str]) -> str:
    return f"{cluster} ({config.get('bootstrap.servers', '?')})"


def scan(config: Mapping[str, str], topic: str, cluster: str, *, timeout_s: float = 60.0,
         keep_history: bool = False, progress: Progress | None = None) -> ScanResult:
    """Read partition 0 of ``topic`` from the beginning to the end offset seen at the start."""
    where = _where(cluster, config)
    consumer = kafka_clients.consumer(config, **READER_CONFIG)
    started = time.monotonic()
    deadline = started + timeout_s
    gc_was_enabled = gc.isenabled()
    try:
        try:
            md = consumer.list_topics(topic, timeout=min(timeout_s, 15.0))
        except KafkaException as exc:
            raise ClusterError(f"cannot reach {where} to read {topic}: {exc.args[0]}; "
                               "check the cluster is up and bootstrap.servers") from exc
        tmeta = md.topics.get(topic)
        if tmeta is None or tmeta.error is not None:
            if tmeta is not None and tmeta.error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise ClusterError(f"{topic} on {where}: {tmeta.error.str()}")
            raise ClusterError(f"topic {topic} does not exist on {where}")
        tp = KafkaTopicPartition(topic, 0)
        try:
            _low, end = consumer.get_watermark_offsets(tp, timeout=min(timeout_s, 15.0))
        except KafkaException as exc:
            raise ClusterError(f"cannot read the end offset of {topic} on {where}: "
                               f"{exc.args[0]}") from exc
        result = ScanResult(topic, cluster, end)
        if end <= 0:
            return result
        consumer.assign([KafkaTopicPartition(topic, 0, OFFSET_BEGINNING)])
        # The hot loop keeps the last Message per key (no object built per record); the
        # survivors are decoded by the caller. Dict order and "last wins" follow the log.
        last: dict[bytes, Message] = {}
        history, keep = result.history, keep_history
        read = 0
        # A million Messages set off ~10 full cyclic collections, each walking every survivor
        # kept above (a third of the loop's time); the loop creates no cycles. Re-enabled below.
        gc.disable()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ClusterError(
                    f"read {read} records of {topic} on {where} but not to its end offset {end} "
                    f"within {timeout_s:.0f} s; nothing was planned from a partial read "
                    "(raise --timeout, or check for an open transaction on the topic)")
            msgs = consumer.consume(BATCH, timeout=min(remaining, WAIT_S))
            at_eof = False
            keyless = None
            if not keep:
                # Fast path, all in C: the batch goes into the dict in log order, so the last
                # record per key wins exactly as in the loop below. Error events (the end-of-
                # partition one included) have no key: only then is the batch walked again.
                last.update(zip(map(_KEY, msgs), msgs, strict=False))  # type: ignore[arg-type]
                keyless = last.pop(None, None)  # type: ignore[call-overload]
            if keep or keyless is not None:
                msgs_ok = []
                for m in msgs:
                    err = m.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            at_eof = True
                            continue
                        raise ClusterError(f"reading {topic} on {where}: {err.str()}")
                    key = m.key()
                    if key is None:
                        raise CodecError(f"{topic} offset {m.offset()} on {where}: record "
                                         "without a key; MM2 always writes keys (wrong topic?)")
                    if keep:
                        last[key] = m
                        history.append((key, _raw(m)))
                    msgs_ok.append(m)
            else:
                msgs_ok = msgs
            read += len(msgs_ok)
            tail = cast(int, msgs[-1].offset()) + 1 if msgs else -1
            if progress is not None and msgs:
                progress(tail, end)
            upto = tail if msgs and msgs[-1].error() is None else -1
            if upto >= end or ((at_eof or not msgs) and _position(consumer, tp) >= end):
                break
        result.latest = last
        result.records_read = read
        result.seconds = time.monotonic() - started
        return result
    finally:
        if gc_was_enabled:
            gc.enable()
        consumer.close()


_KEY = Message.key
_stamped = StampedCheckpoint._make


def _raw(m: Message) -> RawRecord:
    return RawRecord(m.value(), m.timestamp()[1], cast(int, m.offset()))


def _position(consumer: object, tp: KafkaTopicPartition) -> int:
    pos = consumer.position([tp])[0].offset  # type: ignore[attr-defined]
    return int(pos) if pos >= 0 else -1


def _decode_error(topic: str, offset: int, key: bytes, value: bytes | None,
                  exc: CodecError) -> CodecError:
    if looks_like_json(key) or looks_like_json(value):
        return CodecError(f"{topic} offset {offset}: {JSON_CONVERTER_HINT}")
    return CodecError(f"{topic} offset {offset}: {exc}; the record is not in MM2's binary "
                      "format (is this really an MM2 internal topic?)")


@dataclass(frozen=True)
class CheckpointIndex:
    """Every group's last checkpoint per target partition, from one complete scan."""

    topic: str
    end_offset: int
    records_read: int
    deleted: int
    seconds: float
    by_group: dict[str, dict[TopicPartition, StampedCheckpoint]]

    @property
    def checkpoint_count(self) -> int:
        return sum(len(p) for p in self.by_group.values())


def index_checkpoints(scan_result: ScanResult) -> CheckpointIndex:
    by_group: dict[str, dict[TopicPartition, StampedCheckpoint]] = {}
    partitions: dict[tuple[str, int], TopicPartition] = {}  # one object per partition
    deleted = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()  # tens of thousands of small frozen objects, no cycles: skip the collections
    try:
        for key, msg in scan_result.latest.items():
            value = msg.value()
            if value is None:
                deleted += 1  # a tombstone deletes the key (MM2 writes none, compaction may)
                continue
            try:
                cp = decode_checkpoint(key, value)
            except CodecError as exc:
                raise _decode_error(scan_result.topic, cast(int, msg.offset()), key, value,
                                    exc) from exc
            tp = partitions.get((cp.topic, cp.partition))
            if tp is None:
                tp = partitions[(cp.topic, cp.partition)] = TopicPartition(cp.topic,
                                                                           cp.partition)
            group = by_group.get(cp.group)
            if group is None:
                group = by_group[cp.group] = {}
            group[tp] = _stamped((cp, msg.timestamp()[1], msg.offset()))
    finally:
        if gc_was_enabled:
            gc.enable()
    return CheckpointIndex(scan_result.topic, scan_result.end_offset, scan_result.records_read,
                           deleted, scan_result.seconds, by_group)


def read_checkpoints(config: Mapping[str, str], topic: str, cluster: str, *,
                     timeout_s: float = 60.0, progress: Progress | None = None
                     ) -> CheckpointIndex:
    return index_checkpoints(scan(config, topic, cluster, timeout_s=timeout_s,
                                  progress=progress))


T = TypeVar("T")


def _decoded_history(config: Mapping[str, str], topic: str, cluster: str, timeout_s: float,
                     decode: Callable[[bytes, bytes], T]) -> Iterator[T]:
    """Every record of the topic in log order, decoded; deletes skipped, bad records named."""
    res = scan(config, topic, cluster, timeout_s=timeout_s, keep_history=True)
    for key, rec in res.history:
        if rec.value is None:
            continue
        try:
            yield decode(key, rec.value)
        except CodecError as exc:
            raise _decode_error(topic, rec.offset, key, rec.value, exc) from exc


def read_offset_syncs(config: Mapping[str, str], topic: str, cluster: str, *,
                      timeout_s: float = 60.0) -> dict[TopicPartition, list[OffsetSync]]:
    """Every retained sync per *source* partition, in log order (oldest first)."""
    out: dict[TopicPartition, list[OffsetSync]] = {}
    for sync in _decoded_history(config, topic, cluster, timeout_s, decode_offset_sync):
        out.setdefault(TopicPartition(sync.topic, sync.partition), []).append(sync)
    return out


def read_heartbeats(config: Mapping[str, str], topic: str, cluster: str, *,
                    timeout_s: float = 30.0) -> dict[tuple[str, str], Heartbeat]:
    """Newest heartbeat per (source, target) alias pair, by the value's own timestamp."""
    out: dict[tuple[str, str], Heartbeat] = {}
    for hb in _decoded_history(config, topic, cluster, timeout_s, decode_heartbeat):
        pair = (hb.source_alias, hb.target_alias)
        if pair not in out or hb.timestamp_ms >= out[pair].timestamp_ms:
            out[pair] = hb
    return out
