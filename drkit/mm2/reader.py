"""Read a whole MM2 internal topic once, to the end offset captured when the read starts.

MM2's own client (``RemoteClusterUtils.translateOffsets``) scans the checkpoints topic once per
group and silently returns a partial map on timeout. drkit scans once for all groups, reads
``read_committed``, keeps the last record per key in log order (never the max: a source rewind
legitimately lowers a checkpoint), and fails rather than plan from a partial read.

A record that does not decode (bad key length, unknown value version, no key) is skipped and
kept as a ``BadRecord`` naming its offset, key bytes and reason, and the group (or topic,
aliases) its key still names: one malformed record must not stop the failover of every group,
and whoever can write an internal topic must not be able to block DR with it. ``strict=True``
keeps the old fail-closed behaviour (``CodecError`` on the first such record). Records that
look like Connect's JsonConverter output are a misconfiguration, not one stray record: when
they are as many as the records that decode, the read fails in either mode with the hint.

Only the surviving record per key is decoded: compaction semantics make older ones irrelevant,
and decoding survivors keeps a 1,000,000-record scan close to a bare consume loop.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, Message
from confluent_kafka import TopicPartition as KafkaTopicPartition

from drkit.errors import ClusterError, CodecError
from drkit.kafka import clients
from drkit.mm2.codec import (
    JSON_CONVERTER_HINT,
    checkpoint_key_prefix,
    decode_checkpoint,
    decode_heartbeat,
    decode_offset_sync,
    heartbeat_key_prefix,
    looks_like_json,
    offset_sync_key_prefix,
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
    # Records without a key (MM2 always writes one), in log order: the indexers name them.
    keyless: list[RawRecord] = field(default_factory=list)


def _where(cluster: str, config: Mapping[str, str]) -> str:
    return f"{cluster} ({config.get('bootstrap.servers', '?')})"


def scan(config: Mapping[str, str], topic: str, cluster: str, *, timeout_s: float = 60.0,
         keep_history: bool = False, progress: Progress | None = None) -> ScanResult:
    """Read partition 0 of ``topic`` from the beginning to the end offset seen at the start."""
    where = _where(cluster, config)
    consumer = clients.consumer(config, **READER_CONFIG)
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
        history, keep, keyless_records = result.history, keep_history, result.keyless
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
                        keyless_records.append(_raw(m))
                    elif keep:
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


def _keyless_error(scan_result: ScanResult) -> CodecError:
    rec = scan_result.keyless[0]
    return CodecError(f"{scan_result.topic} offset {rec.offset} on {scan_result.cluster}: record "
                      "without a key; MM2 always writes keys (wrong topic?)")


# --------------------------------------------------------------------------------------------
# Malformed records: skipped, named, and charged to what their key still says.

RecordKind = Literal["checkpoint", "offset-sync", "heartbeat"]
KEY_HEX_BYTES = 64
"""How much of a bad record's key ``BadRecord.key_hex`` keeps (an attacker picks its length)."""

_KEY_FIELDS: dict[str, int] = {"checkpoint": 3, "offset-sync": 2, "heartbeat": 2}
_PREFIX = {"checkpoint": checkpoint_key_prefix, "offset-sync": offset_sync_key_prefix,
           "heartbeat": heartbeat_key_prefix}


@dataclass(frozen=True)
class BadRecord:
    """One record of an MM2 internal topic that does not decode; the read skipped it.

    ``key_fields`` holds the key's fields that did decode, in order (checkpoint: group, topic,
    partition; offset-sync: topic, partition; heartbeat: source, target alias): a bad value
    keeps the whole key, a bad key length keeps the fields before it, a JSON key keeps none.
    Text fields come from the cluster as they are: render them through ``drkit.textsafe``.
    """

    kind: RecordKind
    topic: str        # the internal topic the record is on
    partition: int    # its partition there (MM2 writes, and drkit reads, partition 0 only)
    offset: int
    key_hex: str      # the key's first KEY_HEX_BYTES bytes, hex ("" when there is no key)
    key_size: int | None  # the whole key's length in bytes; None for a record without a key
    reason: str       # what is wrong, from the codec (never the record's bytes)
    key_fields: tuple[str | int, ...] = ()
    json_like: bool = False  # key or value looks like JsonConverter output

    @property
    def group(self) -> str | None:
        """The checkpoint's consumer group, if its key decodes that far (None: unknown group)."""
        if self.kind == "checkpoint" and self.key_fields:
            return cast(str, self.key_fields[0])
        return None

    @property
    def key_partition(self) -> TopicPartition | None:
        """The partition the key names, if it decodes whole: a checkpoint's *target* partition,
        an offset-sync's *source* partition; None for heartbeats or a partial key."""
        f = self.key_fields
        if self.kind == "checkpoint" and len(f) == 3:
            return TopicPartition(cast(str, f[1]), cast(int, f[2]))
        if self.kind == "offset-sync" and len(f) == 2:
            return TopicPartition(cast(str, f[0]), cast(int, f[1]))
        return None

    @property
    def aliases(self) -> tuple[str, str] | None:
        """A heartbeat's (source, target) aliases, if its key decodes whole."""
        if self.kind == "heartbeat" and len(self.key_fields) == 2:
            return cast(str, self.key_fields[0]), cast(str, self.key_fields[1])
        return None

    @property
    def decoded_key(self) -> tuple[str | int, ...] | None:
        """The whole decoded key (the record's identity for last-wins), or None if partial."""
        return self.key_fields if len(self.key_fields) == _KEY_FIELDS[self.kind] else None

    @property
    def key_truncated(self) -> bool:
        return self.key_size is not None and self.key_size > KEY_HEX_BYTES

    def describe(self) -> str:
        """``checkpoint record at offset 7 is malformed: <reason>``; names no cluster text."""
        return f"{self.kind} record at offset {self.offset} is malformed: {self.reason}"


def _bad(kind: RecordKind, topic: str, partition: int, offset: int, key: bytes,
         value: bytes | None, exc: CodecError) -> BadRecord:
    json_key = looks_like_json(key)
    json_like = json_key or looks_like_json(value)
    reason = str(exc) + ("; looks like JsonConverter output" if json_like else "")
    fields = () if json_key else _PREFIX[kind](key)
    return BadRecord(kind, topic, partition, offset, key[:KEY_HEX_BYTES].hex(), len(key), reason,
                     fields, json_like)


def _keyless(kind: RecordKind, topic: str, rec: RawRecord) -> BadRecord:
    return BadRecord(kind, topic, 0, rec.offset, "", None,
                     "record without a key (MM2 always writes keys)")


def _refuse_json(topic: str, bad: list[BadRecord], decoded: int) -> None:
    """JsonConverter output as many times as MM2 records is a misconfiguration: fail with the
    hint (a converter switched on a running MM2 writes one JSON record per binary one)."""
    json_bad = [b for b in bad if b.json_like]
    if json_bad and len(json_bad) >= decoded:
        first = min(json_bad, key=_by_offset)
        raise CodecError(f"{topic} offset {first.offset}: {JSON_CONVERTER_HINT} "
                         f"({len(json_bad)} JSON record(s), {decoded} in MM2's format)")


def _by_offset(b: BadRecord) -> int:
    return b.offset


def _current(bad: list[BadRecord], last_good: Mapping[tuple[str | int, ...], int]
             ) -> tuple[BadRecord, ...]:
    """The bad records that are still the last word on their key, in log order.

    Last wins in log order, by decoded key: a bad record followed by a good one for the same
    key is history; of several bad ones only the last counts. A partial key cannot be
    superseded (nothing says which record it meant), so those are all kept.
    """
    partial: list[BadRecord] = []
    whole: dict[tuple[str | int, ...], BadRecord] = {}
    for b in bad:
        k = b.decoded_key
        if k is None:
            partial.append(b)
        elif last_good.get(k, -1) < b.offset and (k not in whole or whole[k].offset < b.offset):
            whole[k] = b
    return tuple(sorted([*partial, *whole.values()], key=_by_offset))


# --------------------------------------------------------------------------------------------
# Checkpoints.


@dataclass(frozen=True)
class CheckpointIndex:
    """Every group's last checkpoint per target partition, from one complete scan.

    ``by_group`` holds only checkpoints that are current: when the last record for a (group,
    topic, partition) in log order is malformed, the older good one is left out and the bad one
    is in ``bad_records`` (never silently used as if current). ``bad_records`` are the malformed
    records still in force, in log order; see ``bad_for``.
    """

    topic: str
    end_offset: int
    records_read: int
    deleted: int
    seconds: float
    by_group: dict[str, dict[TopicPartition, StampedCheckpoint]]
    bad_records: tuple[BadRecord, ...] = ()

    @property
    def checkpoint_count(self) -> int:
        return sum(len(p) for p in self.by_group.values())

    def bad_for(self, group: str | None) -> list[BadRecord]:
        """The malformed records charged to ``group``; ``None``: those of an unknown group.

        A record with a ``key_partition`` makes that partition's checkpoint unknown; one
        without (its key decodes only as far as the group) puts all the group's in doubt.
        """
        return [b for b in self.bad_records if b.group == group]

    @property
    def bad_groups(self) -> frozenset[str]:
        """Groups with a malformed record in force (some may have no good checkpoint left)."""
        return frozenset(g for b in self.bad_records if (g := b.group) is not None)


def index_checkpoints(scan_result: ScanResult, *, strict: bool = False) -> CheckpointIndex:
    """Index the scan's surviving records. ``strict``: a malformed record raises CodecError."""
    topic = scan_result.topic
    if strict and scan_result.keyless:
        raise _keyless_error(scan_result)
    bad = [_keyless("checkpoint", topic, r) for r in scan_result.keyless]
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
                offset = cast(int, msg.offset())
                if strict:
                    raise _decode_error(topic, offset, key, value, exc) from exc
                bad.append(_bad("checkpoint", topic, cast(int, msg.partition()), offset, key,
                                value, exc))
                continue
            tp = partitions.get((cp.topic, cp.partition))
            if tp is None:
                tp = partitions[(cp.topic, cp.partition)] = TopicPartition(cp.topic,
                                                                           cp.partition)
            group = by_group.get(cp.group)
            if group is None:
                group = by_group[cp.group] = {}
            stamped = _stamped((cp, msg.timestamp()[1], msg.offset()))
            # Two keys differing only in trailing bytes (ignored, as by Java) decode alike:
            # the later one in the log wins, as in MirrorClient.
            prev = group.get(tp)
            if prev is None or prev.log_offset < stamped.log_offset:
                group[tp] = stamped
    finally:
        if gc_was_enabled:
            gc.enable()
    current: tuple[BadRecord, ...] = ()
    if bad:
        decoded = len(scan_result.latest) - deleted - (len(bad) - len(scan_result.keyless))
        _refuse_json(topic, bad, decoded)
        current = _charge_checkpoints(by_group, bad)
    return CheckpointIndex(topic, scan_result.end_offset, scan_result.records_read,
                           deleted, scan_result.seconds, by_group, current)


def _charge_checkpoints(by_group: dict[str, dict[TopicPartition, StampedCheckpoint]],
                        bad: list[BadRecord]) -> tuple[BadRecord, ...]:
    """Drop bad records a later good one supersedes; drop good ones a later bad one does."""
    last_good: dict[tuple[str | int, ...], int] = {
        (g, tp.topic, tp.partition): sc.log_offset
        for g, parts in by_group.items() for tp, sc in parts.items()}
    current = _current(bad, last_good)
    for b in current:
        group, tp = b.group, b.key_partition
        if group is None or tp is None:
            continue
        parts = by_group.get(group)
        if parts is not None and tp in parts:  # older than b, or _current had dropped b
            del parts[tp]
            if not parts:
                del by_group[group]
    return current


def read_checkpoints(config: Mapping[str, str], topic: str, cluster: str, *,
                     timeout_s: float = 60.0, progress: Progress | None = None,
                     strict: bool = False) -> CheckpointIndex:
    return index_checkpoints(scan(config, topic, cluster, timeout_s=timeout_s,
                                  progress=progress), strict=strict)


# --------------------------------------------------------------------------------------------
# Offset-syncs and heartbeats: every record in log order.


class OffsetSyncIndex(dict[TopicPartition, list[OffsetSync]]):
    """Every retained sync per *source* partition, oldest first; a plain dict, plus the
    malformed records still in force (``bad_records``, in log order). A bad sync after good
    ones for the same partition means the newest sync is unknown: the older ones stay."""

    bad_records: tuple[BadRecord, ...] = ()


class HeartbeatIndex(dict[tuple[str, str], Heartbeat]):
    """Newest heartbeat per (source, target) alias pair; a plain dict, plus the malformed
    records still in force (``bad_records``, in log order)."""

    bad_records: tuple[BadRecord, ...] = ()


def index_offset_syncs(scan_result: ScanResult, *, strict: bool = False) -> OffsetSyncIndex:
    """Index a ``keep_history`` scan of an offset-syncs topic."""
    topic = scan_result.topic
    if strict and scan_result.keyless:
        raise _keyless_error(scan_result)
    bad = [_keyless("offset-sync", topic, r) for r in scan_result.keyless]
    out = OffsetSyncIndex()
    last_good: dict[tuple[str | int, ...], int] = {}
    for key, rec in scan_result.history:
        if rec.value is None:
            continue
        try:
            sync = decode_offset_sync(key, rec.value)
        except CodecError as exc:
            if strict:
                raise _decode_error(topic, rec.offset, key, rec.value, exc) from exc
            bad.append(_bad("offset-sync", topic, 0, rec.offset, key, rec.value, exc))
            continue
        out.setdefault(TopicPartition(sync.topic, sync.partition), []).append(sync)
        last_good[(sync.topic, sync.partition)] = rec.offset
    if bad:
        _refuse_json(topic, bad, sum(len(v) for v in out.values()))
        out.bad_records = _current(bad, last_good)
    return out


def index_heartbeats(scan_result: ScanResult, *, strict: bool = False) -> HeartbeatIndex:
    """Index a ``keep_history`` scan of a heartbeats topic."""
    topic = scan_result.topic
    if strict and scan_result.keyless:
        raise _keyless_error(scan_result)
    bad = [_keyless("heartbeat", topic, r) for r in scan_result.keyless]
    out = HeartbeatIndex()
    last_good: dict[tuple[str | int, ...], int] = {}
    decoded = 0
    for key, rec in scan_result.history:
        if rec.value is None:
            continue
        try:
            hb = decode_heartbeat(key, rec.value)
        except CodecError as exc:
            if strict:
                raise _decode_error(topic, rec.offset, key, rec.value, exc) from exc
            bad.append(_bad("heartbeat", topic, 0, rec.offset, key, rec.value, exc))
            continue
        decoded += 1
        pair = (hb.source_alias, hb.target_alias)
        if pair not in out or hb.timestamp_ms >= out[pair].timestamp_ms:
            out[pair] = hb
        last_good[pair] = rec.offset
    if bad:
        _refuse_json(topic, bad, decoded)
        out.bad_records = _current(bad, last_good)
    return out


def read_offset_syncs(config: Mapping[str, str], topic: str, cluster: str, *,
                      timeout_s: float = 60.0, strict: bool = False) -> OffsetSyncIndex:
    """Every retained sync per *source* partition, in log order (oldest first)."""
    return index_offset_syncs(scan(config, topic, cluster, timeout_s=timeout_s,
                                   keep_history=True), strict=strict)


def read_heartbeats(config: Mapping[str, str], topic: str, cluster: str, *,
                    timeout_s: float = 30.0, strict: bool = False) -> HeartbeatIndex:
    """Newest heartbeat per (source, target) alias pair, by the value's own timestamp."""
    return index_heartbeats(scan(config, topic, cluster, timeout_s=timeout_s,
                                 keep_history=True), strict=strict)
