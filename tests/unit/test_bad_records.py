"""Malformed records on MM2's internal topics: skipped and named, not fatal (issue 17 item 6).

Every byte vector is a record real MirrorMaker 2 4.2.0 wrote (tests/data), the worked example
of mm2-reference §1, or one of those with a length or version field overwritten: nothing is
encoded here with the decoder's own assumptions.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from confluent_kafka import Message

from drkit.errors import CodecError
from drkit.mm2.codec import checkpoint_key_prefix, heartbeat_key_prefix, offset_sync_key_prefix
from drkit.mm2.model import TopicPartition
from drkit.mm2.reader import (
    KEY_HEX_BYTES,
    BadRecord,
    RawRecord,
    ScanResult,
    index_checkpoints,
    index_heartbeats,
    index_offset_syncs,
)

DATA = json.loads((Path(__file__).parent.parent / "data" / "mm2-4.2.0-captured.json").read_text())
CP = DATA["checkpoints"]
KEY0, VALUE0 = bytes.fromhex(CP[0]["key"]), bytes.fromhex(CP[0]["value"])  # g-part/primary.orders/0
KEY1, VALUE1 = bytes.fromhex(CP[1]["key"]), bytes.fromhex(CP[1]["value"])  # g-part/primary.orders/1
# mm2-reference §1 worked example: group g1, topic orders, partition 0, upstream 100, downstream 42.
G1_KEY = bytes.fromhex("00026731" "00066f7264657273" "00000000")
G1_VALUE = bytes.fromhex("0000" "0000000000000064" "000000000000002a" "0000")
TOPIC = "primary.checkpoints.internal"
ORDERS0 = TopicPartition("primary.orders", 0)
ORDERS1 = TopicPartition("primary.orders", 1)


def with_version(value: bytes, version: int) -> bytes:
    """A captured value with its INT16 version header overwritten."""
    return version.to_bytes(2, "big", signed=True) + value[2:]


def with_length(key: bytes, at: int, length: int) -> bytes:
    """A captured key with the INT16 string length at byte ``at`` overwritten."""
    return key[:at] + length.to_bytes(2, "big", signed=True) + key[at + 2:]


BAD_VERSION = with_version(VALUE0, 1)
BAD_GROUP_LEN = with_length(KEY0, 0, 0x7FFF)   # group length past the end: nothing decodes
BAD_TOPIC_LEN = with_length(KEY0, 8, 0x7FFF)   # 2 + len("g-part") = 8: the group still decodes
NEG_TOPIC_LEN = with_length(KEY0, 8, -1)


def scan_of(records: list[tuple[bytes | None, bytes | None]], topic: str = TOPIC,
            history: bool = False) -> ScanResult:
    """What ``reader.scan`` returns for this log: last Message per key (dict order = first
    occurrence, as the scan's ``dict.update``), or every record, and the keyless ones apart."""
    res = ScanResult(topic, "backup", len(records), records_read=len(records))
    for offset, (key, value) in enumerate(records):
        ts = 1_795_638_393_893 + offset
        if key is None:
            res.keyless.append(RawRecord(value, ts, offset))
        elif history:
            res.history.append((key, RawRecord(value, ts, offset)))
        else:
            res.latest[key] = Message(topic=topic, partition=0, offset=offset, key=key,
                                      value=value, timestamp=(1, ts))
    return res


class TestKeyPrefix:
    def test_whole_captured_keys(self) -> None:
        assert checkpoint_key_prefix(KEY0) == ("g-part", "primary.orders", 0)
        assert checkpoint_key_prefix(G1_KEY) == ("g1", "orders", 0)
        sync = bytes.fromhex(DATA["offset_syncs"][1]["key"])
        assert offset_sync_key_prefix(sync) == ("orders", 1)
        hb = bytes.fromhex(DATA["heartbeats_remote"][0]["key"])
        assert heartbeat_key_prefix(hb) == ("backup", "primary")

    def test_bad_lengths_keep_the_fields_before_them(self) -> None:
        assert checkpoint_key_prefix(BAD_GROUP_LEN) == ()
        assert checkpoint_key_prefix(with_length(KEY0, 0, -2)) == ()
        assert checkpoint_key_prefix(BAD_TOPIC_LEN) == ("g-part",)
        assert checkpoint_key_prefix(NEG_TOPIC_LEN) == ("g-part",)
        assert checkpoint_key_prefix(KEY0[:-1]) == ("g-part", "primary.orders")
        assert checkpoint_key_prefix(KEY0[:1]) == ()
        assert checkpoint_key_prefix(None) == ()

    def test_invalid_utf8_group_is_not_guessed(self) -> None:
        broken = KEY0[:2] + b"\xff" + KEY0[3:]  # first byte of "g-part" made invalid UTF-8
        assert checkpoint_key_prefix(broken) == ()


class TestCheckpointIndex:
    def test_bad_version_after_good_hides_the_old_checkpoint(self) -> None:
        # Same key: the bad record replaces the good one, exactly as compaction would.
        index = index_checkpoints(scan_of([(KEY0, VALUE0), (KEY1, VALUE1), (G1_KEY, G1_VALUE),
                                           (KEY0, BAD_VERSION)]))
        assert set(index.by_group) == {"g-part", "g1"}
        assert set(index.by_group["g-part"]) == {ORDERS1}  # orders-0's older one is not current
        assert index.by_group["g1"][TopicPartition("orders", 0)].checkpoint.downstream_offset == 42
        (bad,) = index.bad_for("g-part")
        assert (bad.offset, bad.partition, bad.topic, bad.kind) == (3, 0, TOPIC, "checkpoint")
        assert bad.key_hex == CP[0]["key"] and bad.key_size == len(KEY0)
        assert bad.group == "g-part" and bad.key_partition == ORDERS0
        assert "version 1 is not 0" in bad.reason
        assert bad.describe() == f"checkpoint record at offset 3 is malformed: {bad.reason}"
        assert index.bad_records == (bad,) and index.bad_for("g1") == []
        assert index.bad_for(None) == [] and index.bad_groups == {"g-part"}

    def test_bad_key_length_is_an_unknown_group_and_others_go_on(self) -> None:
        index = index_checkpoints(scan_of([(KEY0, VALUE0), (BAD_GROUP_LEN, VALUE0),
                                           (G1_KEY, G1_VALUE)]))
        assert index.checkpoint_count == 2 and set(index.by_group) == {"g-part", "g1"}
        (bad,) = index.bad_for(None)
        assert bad.offset == 1 and bad.group is None and bad.key_partition is None
        assert bad.key_fields == () and bytes.fromhex(bad.key_hex) == BAD_GROUP_LEN
        assert "truncated" in bad.reason and "'group'" in bad.reason
        assert index.bad_groups == frozenset()

    def test_key_decoding_to_the_group_only_charges_the_group(self) -> None:
        index = index_checkpoints(scan_of([(KEY0, VALUE0), (KEY1, VALUE1),
                                           (BAD_TOPIC_LEN, VALUE0), (G1_KEY, G1_VALUE)]))
        # No partition can be told, so none is dropped: the planner must doubt the whole group.
        assert set(index.by_group["g-part"]) == {ORDERS0, ORDERS1}
        (bad,) = index.bad_for("g-part")
        assert bad.key_fields == ("g-part",) and bad.key_partition is None
        assert "'topic'" in bad.reason

    def test_strict_keeps_failing_closed(self) -> None:
        records: list[tuple[bytes | None, bytes | None]] = [(KEY1, VALUE1), (KEY0, BAD_VERSION)]
        with pytest.raises(CodecError, match=rf"^{TOPIC} offset 1: .*version 1 is not 0"):
            index_checkpoints(scan_of(records), strict=True)
        with pytest.raises(CodecError, match=rf"^{TOPIC} offset 1: checkpoint key: truncated"):
            index_checkpoints(scan_of([(KEY1, VALUE1), (BAD_TOPIC_LEN, VALUE0)]), strict=True)
        assert index_checkpoints(scan_of(records)).checkpoint_count == 1  # default: skipped

    def test_later_good_record_supersedes_an_earlier_bad_one(self) -> None:
        # A trailing byte (ignored, as by Java) gives another Kafka key for the same checkpoint.
        index = index_checkpoints(scan_of([(KEY0 + b"\x00", BAD_VERSION), (KEY0, VALUE0)]))
        assert index.bad_records == ()
        assert index.by_group["g-part"][ORDERS0].log_offset == 1

    def test_later_bad_record_under_another_kafka_key_still_wins(self) -> None:
        index = index_checkpoints(scan_of([(KEY0, VALUE0), (KEY0 + b"\x00", BAD_VERSION)]))
        assert index.by_group == {}
        (bad,) = index.bad_for("g-part")
        assert bad.offset == 1 and bad.key_partition == ORDERS0

    def test_of_two_bad_records_for_one_checkpoint_the_last_counts(self) -> None:
        index = index_checkpoints(scan_of([(KEY0 + b"\x00", BAD_VERSION),
                                           (KEY0 + b"\x01", with_version(VALUE0, 2))]))
        (bad,) = index.bad_records
        assert bad.offset == 1 and "version 2" in bad.reason

    def test_last_record_in_log_order_wins_across_equal_decoded_keys(self) -> None:
        # Dict order is first occurrence (KEY0, then KEY0+00) but KEY0's survivor is newer.
        index = index_checkpoints(scan_of([(KEY0, VALUE1), (KEY0 + b"\x00", VALUE0),
                                           (KEY0, VALUE1)]))
        stamped = index.by_group["g-part"][ORDERS0]
        assert stamped.log_offset == 2 and stamped.checkpoint.upstream_offset == 50

    def test_long_key_is_truncated_in_the_report(self) -> None:
        long_key = KEY0 + bytes(200)
        index = index_checkpoints(scan_of([(long_key, BAD_VERSION)]))
        (bad,) = index.bad_records
        assert bad.key_size == len(long_key) and bad.key_truncated
        assert bad.key_hex == long_key[:KEY_HEX_BYTES].hex() and len(bad.key_hex) == 128

    def test_record_without_key(self) -> None:
        index = index_checkpoints(scan_of([(KEY0, VALUE0), (None, VALUE0)]))
        assert index.checkpoint_count == 1
        (bad,) = index.bad_for(None)
        assert (bad.offset, bad.key_size, bad.key_hex) == (1, None, "")
        assert "without a key" in bad.reason
        with pytest.raises(CodecError, match=rf"{TOPIC} offset 1 on backup: record without"):
            index_checkpoints(scan_of([(KEY0, VALUE0), (None, VALUE0)]), strict=True)

    def test_tombstones_are_deletes_not_bad_records(self) -> None:
        index = index_checkpoints(scan_of([(KEY0, VALUE0), (KEY0, None)]))
        assert index.by_group == {} and index.deleted == 1 and index.bad_records == ()


def json_envelope(raw: bytes) -> bytes:
    """JsonConverter's schemas.enable=true envelope of MM2's bytes (mm2-reference §1, §14)."""
    return json.dumps({"schema": {"type": "bytes", "optional": False},
                       "payload": base64.b64encode(raw).decode()}).encode()


class TestJsonConverter:
    def test_a_topic_of_json_records_still_fails_with_the_hint(self) -> None:
        records: list[tuple[bytes | None, bytes | None]] = [
            (json_envelope(KEY0), json_envelope(VALUE0)),
            (json_envelope(KEY1), json_envelope(VALUE1))]
        for strict in (False, True):
            with pytest.raises(CodecError, match=rf"^{TOPIC} offset 0: .*JsonConverter"):
                index_checkpoints(scan_of(records), strict=strict)

    def test_converter_switched_on_a_running_mm2_fails_too(self) -> None:
        # One JSON record per binary one: a misconfiguration, not a stray record.
        with pytest.raises(CodecError, match="JsonConverter"):
            index_checkpoints(scan_of([(KEY0, VALUE0), (json_envelope(KEY0),
                                                        json_envelope(VALUE0))]))

    def test_one_stray_json_record_is_skipped(self) -> None:
        index = index_checkpoints(scan_of([(KEY0, VALUE0), (KEY1, VALUE1),
                                           (json_envelope(KEY0), json_envelope(VALUE0))]))
        assert index.checkpoint_count == 2
        (bad,) = index.bad_for(None)
        assert bad.json_like and "JsonConverter" in bad.reason and bad.key_fields == ()

    def test_json_value_under_a_binary_key_is_still_charged_to_its_group(self) -> None:
        index = index_checkpoints(scan_of([(KEY1, VALUE1), (G1_KEY, G1_VALUE),
                                           (KEY0, VALUE0), (KEY0, json_envelope(VALUE0))]))
        (bad,) = index.bad_for("g-part")
        assert bad.json_like and bad.key_partition == ORDERS0
        assert set(index.by_group["g-part"]) == {ORDERS1}


SYNCS = DATA["offset_syncs"]
HBS = DATA["heartbeats_remote"]


class TestOffsetSyncs:
    def test_bad_sync_is_skipped_and_named(self) -> None:
        key, value = bytes.fromhex(SYNCS[1]["key"]), bytes.fromhex(SYNCS[1]["value"])
        other = (bytes.fromhex(SYNCS[2]["key"]), bytes.fromhex(SYNCS[2]["value"]))
        res = scan_of([(key, value), other, (key, value[:15])], "mm2-offset-syncs.backup.internal",
                      history=True)
        syncs = index_offset_syncs(res)
        assert isinstance(syncs, dict)
        assert set(syncs) == {TopicPartition("orders", 1), TopicPartition("orders", 2)}
        (bad,) = syncs.bad_records
        assert (bad.kind, bad.offset, bad.key_partition) == ("offset-sync", 2,
                                                            TopicPartition("orders", 1))
        assert bad.group is None and "truncated" in bad.reason
        with pytest.raises(CodecError, match=r"offset-syncs\.backup\.internal offset 2: "):
            index_offset_syncs(res, strict=True)

    def test_bad_sync_followed_by_a_good_one_is_history(self) -> None:
        key, value = bytes.fromhex(SYNCS[1]["key"]), bytes.fromhex(SYNCS[1]["value"])
        res = scan_of([(key, value[:3]), (key, value)], "s", history=True)
        syncs = index_offset_syncs(res)
        assert syncs.bad_records == () and len(syncs[TopicPartition("orders", 1)]) == 1

    def test_bad_key_length(self) -> None:
        key = bytes.fromhex(SYNCS[1]["key"])
        res = scan_of([(with_length(key, 0, 0x7FFF), bytes.fromhex(SYNCS[1]["value"]))], "s",
                      history=True)
        (bad,) = index_offset_syncs(res).bad_records
        assert bad.key_fields == () and bad.key_partition is None


class TestHeartbeats:
    def test_unknown_version_is_skipped_and_named(self) -> None:
        key = bytes.fromhex(HBS[0]["key"])
        good = [(key, bytes.fromhex(h["value"])) for h in HBS]
        res = scan_of([*good, (key, with_version(bytes.fromhex(HBS[1]["value"]), 1))],
                      "primary.heartbeats", history=True)
        beats = index_heartbeats(res)
        assert beats[("backup", "primary")].timestamp_ms == int(HBS[1]["value"][4:], 16)
        (bad,) = beats.bad_records
        assert (bad.kind, bad.offset, bad.aliases) == ("heartbeat", 2, ("backup", "primary"))
        with pytest.raises(CodecError, match=r"^primary\.heartbeats offset 2: .*version 1"):
            index_heartbeats(res, strict=True)

    def test_keyless_heartbeat(self) -> None:
        res = scan_of([(None, bytes.fromhex(HBS[0]["value"]))], "heartbeats", history=True)
        (bad,) = index_heartbeats(res).bad_records
        assert bad.key_size is None and bad.aliases is None


def test_bad_record_is_a_frozen_value() -> None:
    bad = BadRecord("checkpoint", TOPIC, 0, 7, KEY0.hex(), len(KEY0), "r",
                    ("g-part", "primary.orders", 0))
    assert bad.decoded_key == ("g-part", "primary.orders", 0) and not bad.key_truncated
    with pytest.raises(AttributeError):
        bad.offset = 8  # type: ignore[misc]
