"""Decode records captured from real MirrorMaker 2 (Kafka 4.2.0), not bytes we encoded."""

from __future__ import annotations

import json
from pathlib import Path

from drkit.mm2.codec import (
    decode_checkpoint,
    decode_heartbeat,
    decode_offset_sync,
    encode_checkpoint,
    encode_offset_sync,
)

DATA = json.loads((Path(__file__).parent.parent / "data" / "mm2-4.2.0-captured.json").read_text())


def _pairs(name: str) -> list[tuple[bytes, bytes]]:
    return [(bytes.fromhex(r["key"]), bytes.fromhex(r["value"])) for r in DATA[name]]


def test_real_checkpoints_decode_to_the_translation_mm2_did() -> None:
    cps = {cp.partition: cp for cp in (decode_checkpoint(k, v) for k, v in _pairs("checkpoints"))}
    assert {cp.group for cp in cps.values()} == {"g-part"}
    assert {cp.topic for cp in cps.values()} == {"primary.orders"}  # target-cluster name
    # orders-0: the group finished the partition; the flush-time sync (99, 99) makes it exact.
    assert (cps[0].upstream_offset, cps[0].downstream_offset, cps[0].metadata) == (100, 100, "")
    # orders-1: committed at 50; the newest sync at or below 50 is (0, 0), so MM2 gives 0 + 1.
    assert (cps[1].upstream_offset, cps[1].downstream_offset) == (50, 1)


def test_real_offset_syncs_use_source_topic_names() -> None:
    syncs = [decode_offset_sync(k, v) for k, v in _pairs("offset_syncs")]
    assert {s.topic for s in syncs} == {"orders", "orders.ready"}
    latest = {(s.topic, s.partition): (s.upstream_offset, s.downstream_offset) for s in syncs}
    assert latest[("orders", 1)] == (99, 99)


def test_real_heartbeats_name_the_pair_and_carry_a_timestamp() -> None:
    remote = [decode_heartbeat(k, v) for k, v in _pairs("heartbeats_remote")]
    local = [decode_heartbeat(k, v) for k, v in _pairs("heartbeats_local")]
    assert {(h.source_alias, h.target_alias) for h in remote} == {("backup", "primary")}
    assert {(h.source_alias, h.target_alias) for h in local} == {("primary", "backup")}
    assert all(h.timestamp_ms > 1_700_000_000_000 for h in remote + local)
    # The value timestamp is the record timestamp (MM2 writes it as CreateTime).
    assert remote[0].timestamp_ms == DATA["heartbeats_remote"][0]["timestamp_ms"]


def test_our_encoder_reproduces_real_mm2_bytes() -> None:
    for key, value in _pairs("checkpoints"):
        assert encode_checkpoint(decode_checkpoint(key, value)) == (key, value)
    for key, value in _pairs("offset_syncs"):
        assert encode_offset_sync(decode_offset_sync(key, value)) == (key, value)
