"""Malformed records on the real checkpoints topic, next to what MM2 itself wrote (issue 17/6).

MM2 writes real checkpoints for two groups; the test then appends, on the same
``primary.checkpoints.internal``, MM2's own key for one of them with the value's version set to
1, and two of its keys with a string length overwritten. The reader must keep indexing every
good group, name each bad record (offset, key bytes, group when the key still says it), never
use the superseded checkpoint as current, and fail closed with ``strict=True``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import cast

import pytest
from confluent_kafka import KafkaError, Message, Producer

from drkit.config import load_settings
from drkit.errors import CodecError
from drkit.lab.lab import Lab
from drkit.mm2.model import TopicPartition
from drkit.mm2.reader import read_checkpoints, scan
from tests.helpers import consume_and_commit, mirrored_topic, wait_until

CP_TOPIC = "primary.checkpoints.internal"
COMMITS = {0: 10, 1: 5}


def _cfg(lab: Lab) -> dict[str, str]:
    return dict(load_settings(lab.config_path).cluster("backup").usable_client_config())


def _produce(lab: Lab, records: Sequence[tuple[bytes, bytes | None]]) -> list[int]:
    """Produce to partition 0 of the checkpoints topic; the offsets the broker gave, in order."""
    acks: list[tuple[KafkaError | None, Message]] = []
    prod = Producer({"bootstrap.servers": _cfg(lab)["bootstrap.servers"],
                     "enable.idempotence": True})
    for key, value in records:  # one partition, idempotent: acks come back in produce order
        prod.produce(CP_TOPIC, key=key, value=value, partition=0,
                     on_delivery=lambda err, msg: acks.append((err, msg)))
    assert prod.flush(30) == 0
    assert len(acks) == len(records) and all(err is None for err, _m in acks), acks
    return [cast(int, msg.offset()) for _e, msg in acks]


@pytest.fixture
def lab(own_lab: Lab) -> Lab:
    """This module's own lab, never the shared one: it writes malformed records and tombstones
    onto MM2's real checkpoints topic, and MM2 reads that topic back whenever its checkpoint
    task restarts (a tombstone there stops it checkpointing anything mirrored before)."""
    return own_lab


@pytest.fixture
def groups(lab: Lab) -> Iterator[tuple[str, str, str]]:
    """Two groups MM2 has checkpointed on a fresh mirrored topic: (good, victim, remote topic)."""
    topic, remote = mirrored_topic(lab, "badrec", 2, 20)
    suffix = uuid.uuid4().hex[:6]
    good, victim = f"g-good-{suffix}", f"g-victim-{suffix}"
    for g in (good, victim):
        consume_and_commit(lab.bootstrap("primary"), g, topic, COMMITS)

    def both_checkpointed() -> bool:
        index = read_checkpoints(_cfg(lab), CP_TOPIC, "backup", timeout_s=30)
        return all({tp.partition: sc.checkpoint.upstream_offset
                    for tp, sc in index.by_group.get(g, {}).items()} == COMMITS
                   for g in (good, victim))

    wait_until(both_checkpointed, 120, f"MM2 checkpoints for {good} and {victim}")
    yield good, victim, remote


def test_malformed_records_are_skipped_named_and_strict_fails(
        lab: Lab, groups: tuple[str, str, str]) -> None:
    good, victim, remote = groups
    cfg = _cfg(lab)
    # MM2's own record for victim / remote-0: its key and value bytes as written.
    res = scan(cfg, CP_TOPIC, "backup", timeout_s=30)
    before = read_checkpoints(cfg, CP_TOPIC, "backup", timeout_s=30)
    victim_tp = TopicPartition(remote, 0)
    at = before.by_group[victim][victim_tp].log_offset
    key, msg = next((k, m) for k, m in res.latest.items() if m.offset() == at)
    value = msg.value()
    assert key is not None and value is not None
    glen = len(victim.encode())
    version_1 = b"\x00\x01" + value[2:]                              # unknown value version
    bad_group_len = b"\x7f\xff" + key[2:]                            # group length past the end
    bad_topic_len = key[:2 + glen] + b"\x7f\xff" + key[4 + glen:]    # topic length past the end
    produced = [(key, version_1), (bad_group_len, value), (bad_topic_len, value)]
    offsets = _produce(lab, produced)
    try:
        index = read_checkpoints(cfg, CP_TOPIC, "backup", timeout_s=30)
        # Good groups go on: the other group is whole, the victim keeps its other partition.
        assert index.by_group[good] == before.by_group[good]
        assert set(index.by_group[victim]) == {TopicPartition(remote, 1)}
        # MM2 re-emits only changed checkpoints, so the bad record is still the last word.
        by_offset = {b.offset: b for b in index.bad_records}
        v1, no_group, group_only = (by_offset[o] for o in offsets)
        assert v1.group == victim and v1.key_partition == victim_tp
        assert v1.key_hex == key.hex() and "version 1 is not 0" in v1.reason
        assert no_group.group is None and no_group.key_hex == bad_group_len.hex()
        assert no_group in index.bad_for(None)
        assert group_only.group == victim and group_only.key_partition is None
        assert group_only.key_hex == bad_topic_len.hex()
        assert index.bad_for(victim) == [v1, group_only] and index.bad_for(good) == []
        assert index.records_read >= before.records_read + len(produced)

        with pytest.raises(CodecError, match=rf"{CP_TOPIC} offset {offsets[0]}: "
                                             r".*version 1 is not 0"):
            read_checkpoints(cfg, CP_TOPIC, "backup", timeout_s=30, strict=True)
    finally:
        # Delete the three keys again (the victim's remote-0 checkpoint goes too): the reader
        # drops a tombstoned record like any superseded one.
        _produce(lab, [(k, None) for k, _v in produced])
    after = read_checkpoints(cfg, CP_TOPIC, "backup", timeout_s=30, strict=True)
    assert after.bad_for(victim) == [] and after.bad_for(None) == []

