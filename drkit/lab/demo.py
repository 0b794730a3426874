"""The newcomer's demo: a real lab, real replication, MM2's checkpoints read back by drkit."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, Producer, TopicPartition

from drkit import kafka_clients
from drkit.errors import LabError
from drkit.lab.lab import Lab
from drkit.mm2.codec import decode_checkpoint
from drkit.mm2.model import Checkpoint

RECORDS_PER_PARTITION = 200
PARTITIONS = 3

# (group, how many records per partition it has processed on the primary)
DEMO_GROUPS = (("billing", 200), ("shipping", 130), ("analytics", 50))


@dataclass(frozen=True)
class DemoResult:
    checkpoints: list[Checkpoint]
    seconds_to_checkpoints: float


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
    cons: Consumer = kafka_clients.consumer({"bootstrap.servers": bootstrap},
                                            **{"isolation.level": "read_committed"})
    try:
        _low, high = cons.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        if high == 0:
            return []
        cons.assign([TopicPartition(topic, 0, 0)])
        latest: dict[tuple[str, str, int], Checkpoint] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = cons.poll(0.5)
            if msg is None or msg.error():
                continue
            if msg.value() is not None:
                cp = decode_checkpoint(msg.key(), msg.value())
                latest[(cp.group, cp.topic, cp.partition)] = cp
            if msg.offset() + 1 >= high:
                return sorted(latest.values(), key=lambda c: (c.group, c.topic, c.partition))
        raise LabError(f"could not read {topic} on {bootstrap} to its end within 30 s")
    finally:
        cons.close()


def run(lab: Lab, say: Callable[[str], None]) -> DemoResult:
    primary, backup = lab.bootstrap("primary"), lab.bootstrap("backup")
    say(f"producing {RECORDS_PER_PARTITION * PARTITIONS} orders to `orders` on primary")
    produce_orders(primary)
    for group, offset in DEMO_GROUPS:
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
