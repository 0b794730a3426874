"""The newcomer's demo: a real lab, real replication, MM2's checkpoints read back by drkit."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, Producer, TopicPartition

from drkit.errors import LabError
from drkit.kafka import clients as kafka_clients
from drkit.lab.lab import Lab
from drkit.mm2 import reader
from drkit.mm2.model import Checkpoint

RECORDS_PER_PARTITION = 200
PARTITIONS = 3

# (group, how many records per partition it has processed on the primary)
DEMO_GROUPS = (("billing", 200), ("shipping", 130), ("analytics", 50))
# A sink connector's group: MM2's default groups.exclude (connect-.*) never checkpoints it.
EXCLUDED_GROUP = ("connect-audit", 100)


@dataclass(frozen=True)
class DemoResult:
    checkpoints: list[Checkpoint]
    seconds_to_checkpoints: float


@dataclass(frozen=True)
class GroupCheck:
    """What one group saw after failing over, against what it had processed before."""

    group: str
    resumes_at: dict[int, int]
    consumed_after: int
    redelivered: int
    lost: int


def produce_orders(bootstrap: str, topic: str = "orders") -> None:
    prod: Producer = kafka_clients.producer({"bootstrap.servers": bootstrap},
                                            **{"enable.idempotence": True})
    for seq in range(RECORDS_PER_PARTITION * PARTITIONS):
        prod.produce(topic, key=f"order-{seq}".encode(), value=f'{{"seq": {seq}}}'.encode(),
                     partition=seq % PARTITIONS)
    if prod.flush(30) != 0:
        raise LabError(f"demo records to {topic} on {bootstrap} were not acknowledged")


def commit_positions(bootstrap: str, group: str, offset: int, topic: str = "orders") -> None:
    """Stand in for an application that processed ``offset`` records of every partition."""
    cons: Consumer = kafka_clients.consumer({"bootstrap.servers": bootstrap},
                                            **{"group.id": group})
    try:
        cons.commit(offsets=[TopicPartition(topic, p, offset) for p in range(PARTITIONS)],
                    asynchronous=False)
    finally:
        cons.close()


def read_checkpoints(bootstrap: str, topic: str) -> list[Checkpoint]:
    index = reader.read_checkpoints({"bootstrap.servers": bootstrap}, topic, "backup",
                                    timeout_s=30)
    cps = [sc.checkpoint for parts in index.by_group.values() for sc in parts.values()]
    return sorted(cps, key=lambda c: (c.group, c.topic, c.partition))


def run(lab: Lab, say: Callable[[str], None]) -> DemoResult:
    primary, backup = lab.bootstrap("primary"), lab.bootstrap("backup")
    say(f"producing {RECORDS_PER_PARTITION * PARTITIONS} orders to `orders` on primary")
    produce_orders(primary)
    for group, offset in (*DEMO_GROUPS, EXCLUDED_GROUP):
        say(f"group {group} commits offset {offset} on each partition of `orders` on primary")
        commit_positions(primary, group, offset)
    started = time.monotonic()
    say("waiting for MirrorMaker 2 to write checkpoints on backup")
    wanted = {g for g, _ in DEMO_GROUPS}
    deadline = started + 120
    while True:
        cps = read_checkpoints(backup, "primary.checkpoints.internal")
        done = {c.group for c in cps if c.group in wanted and c.upstream_offset > 0}
        per_group = {g: sum(1 for c in cps if c.group == g) for g in wanted}
        if done == wanted and all(n == PARTITIONS for n in per_group.values()):
            return DemoResult([c for c in cps if c.group in wanted],
                              time.monotonic() - started)
        if time.monotonic() > deadline:
            raise LabError("MM2 wrote no checkpoints within 120 s; see mm2.log in the lab dir")
        time.sleep(0.5)


def verify(lab: Lab, topic: str = "primary.orders") -> list[GroupCheck]:
    """Consume on backup from each group's committed offsets: nothing lost, how much again."""
    backup = lab.bootstrap("backup")
    everything = set(range(RECORDS_PER_PARTITION * PARTITIONS))
    checks = []
    for group, processed in DEMO_GROUPS:
        # Sequence numbers go round-robin over partitions, so offset o of partition p is
        # seq o * PARTITIONS + p; the group processed offsets below ``processed`` on primary.
        before = {o * PARTITIONS + p for p in range(PARTITIONS) for o in range(processed)}
        cons: Consumer = kafka_clients.consumer({"bootstrap.servers": backup},
                                                **{"group.id": group,
                                                   "auto.offset.reset": "error"})
        try:
            start = cons.committed([TopicPartition(topic, p) for p in range(PARTITIONS)],
                                   timeout=15)
            resumes = {tp.partition: tp.offset for tp in start}
            after = _consume_to_end(cons, topic, start)
        finally:
            cons.close()
        checks.append(GroupCheck(group, resumes, len(after), len(before & after),
                                 len(everything - before - after)))
    return checks


def _consume_to_end(cons: Consumer, topic: str, start: list[TopicPartition]) -> set[int]:
    todo = {tp.partition for tp in start if 0 <= tp.offset < RECORDS_PER_PARTITION}
    cons.assign(start)
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while todo and time.monotonic() < deadline:
        msg = cons.poll(0.5)
        if msg is None or msg.error():
            continue
        seen.add(int(json.loads(msg.value() or b"{}")["seq"]))
        if (msg.offset() or 0) + 1 >= RECORDS_PER_PARTITION:
            todo.discard(msg.partition() or 0)
    if todo:
        raise LabError(f"could not consume {topic} to its end on backup within 60 s")
    return seen
