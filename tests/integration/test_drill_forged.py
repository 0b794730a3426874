"""A checkpoint forged ahead of the mirrored data makes the drill fail with `loss` (issue 10).

The forged record is a REAL checkpoint MM2 wrote (its raw bytes read from
primary.checkpoints.internal on backup) with only its downstream-offset bytes changed to a
position ahead of what the group processed, yet inside the mirrored log (so the planner does not
clamp it), produced back with the same key. A failover trusting it would skip records the group
never processed; the drill must prove that by content and name the partition.
"""

from __future__ import annotations

import json
import struct

from confluent_kafka import Consumer, Producer, TopicPartition

from drkit.errors import CodecError
from drkit.lab.lab import Lab
from drkit.mm2.codec import decode_checkpoint_key, decode_checkpoint_value
from tests.helpers import drkit, end_offsets, wait_until
from tests.integration.test_drill import _groups_on, _idle_group, _mirrored_topic

CHECKPOINTS = "primary.checkpoints.internal"
DOWNSTREAM_AT = 10  # value layout: version int16, upstream int64, downstream int64, metadata


def _newest_checkpoint(lab: Lab, group: str, remote: str, partition: int
                       ) -> tuple[bytes, bytes] | None:
    """(key, value) raw bytes of the newest checkpoint of group/remote[partition] on backup."""
    cons = Consumer({"bootstrap.servers": lab.bootstrap("backup"),
                     "group.id": "unused-forge-reader", "enable.auto.commit": False})
    try:
        ends = end_offsets(lab.bootstrap("backup"), CHECKPOINTS)
        cons.assign([TopicPartition(CHECKPOINTS, p, 0) for p in ends])
        todo = {p for p, e in ends.items() if e > 0}
        found = None
        while todo:
            msg = cons.poll(10)
            assert msg is not None, "checkpoints topic read timed out"
            if msg.error():
                continue
            if msg.offset() + 1 >= ends[msg.partition()]:
                todo.discard(msg.partition())
            try:
                if decode_checkpoint_key(msg.key()) == (group, remote, partition):
                    found = (msg.key(), msg.value())
            except CodecError:  # other records MM2 may write there
                continue
        return found
    finally:
        cons.close()


def test_forged_checkpoint_ahead_of_the_mirrored_data_is_loss(lab: Lab) -> None:
    topic, remote = _mirrored_topic(lab, "forged")
    wait_until(lambda: sum(end_offsets(lab.bootstrap("backup"), remote).values()) == 900, 90,
               "900 records mirrored")
    group = _idle_group(lab, topic, remote, 100)  # processed 100 of 300 records per partition
    real = wait_until(lambda: _newest_checkpoint(lab, group, remote, 1), 60,
                      "MM2's checkpoint of partition 1")
    key, value = real
    upstream, downstream, _meta = decode_checkpoint_value(value)
    assert upstream == 100
    # MM2 translates conservatively (downstream ≤ the group's real position, here 100 on a
    # freshly mirrored topic); forged: 50 records past it, below the mirrored log end (300).
    assert downstream <= upstream
    forged_at = upstream + 50
    assert forged_at < end_offsets(lab.bootstrap("backup"), remote)[1]
    forged = (value[:DOWNSTREAM_AT] + struct.pack(">q", forged_at)
              + value[DOWNSTREAM_AT + 8:])
    assert len(forged) == len(value) and forged != value
    assert decode_checkpoint_value(forged) == (upstream, forged_at, _meta)
    prod = Producer({"bootstrap.servers": lab.bootstrap("backup")})
    prod.produce(CHECKPOINTS, key=key, value=forged)
    assert prod.flush(30) == 0
    wait_until(lambda: (_newest_checkpoint(lab, group, remote, 1) or (b"", b""))[1] == forged,
               30, "the forged checkpoint is the newest")

    res = drkit("drill", "--from", "primary", "--to", "backup", "--group", group, "--topic",
                remote, "-o", "json", config=lab.config_path)
    assert res.returncode == 1, res.stderr + res.stdout
    report = json.loads(res.stdout)
    by_part = {c["partition"]: c for c in report["partitions"]}
    assert by_part[1]["translated"] == forged_at  # the drill planned from the forged record
    assert by_part[1]["status"] == "loss", by_part[1]
    assert {by_part[p]["status"] for p in (0, 2)} == {"verified"}
    assert any(f"{remote}-1" in f and group in f for f in report["failures"]), report["failures"]
    assert "loss" in res.stderr.lower() or "FAILED" in res.stderr
    assert not {g for g in _groups_on(lab.bootstrap("backup")) if g.endswith(group)}
