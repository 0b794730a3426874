"""Small helpers the integration tests share: polling (never sleeping), producing, reading."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from confluent_kafka import Consumer, Message, Producer, TopicPartition

T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], timeout_s: float, what: str,
               interval_s: float = 0.25) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


def produce(bootstrap: str, topic: str, records: list[tuple[int, bytes, bytes]]) -> None:
    """Produce (partition, key, value) records and wait for every ack."""
    prod = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for partition, key, value in records:
        prod.produce(topic, key=key, value=value, partition=partition)
    assert prod.flush(30) == 0, f"records to {topic} on {bootstrap} not acknowledged"


def read_all(bootstrap: str, topic: str, partitions: list[int] | None = None,
             timeout_s: float = 30.0) -> list[Message]:
    """Every record of a topic from the start to the end offsets seen now."""
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": "drkit-test-reader",
                     "enable.auto.commit": False, "isolation.level": "read_committed"})
    try:
        md = cons.list_topics(topic, timeout=10).topics[topic]
        parts = partitions if partitions is not None else sorted(md.partitions)
        ends = {}
        for p in parts:
            _low, high = cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            ends[p] = high
        cons.assign([TopicPartition(topic, p, 0) for p in parts])
        return _poll_to_end(cons, ends, {p for p in parts if ends[p] > 0}, timeout_s,
                            f"reading {topic}")
    finally:
        cons.close()


def topic_exists(bootstrap: str, topic: str) -> bool:
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": "drkit-test-md"})
    try:
        md = cons.list_topics(timeout=10)
        return topic in md.topics and md.topics[topic].error is None
    finally:
        cons.close()


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": "drkit-test-md"})
    try:
        md = cons.list_topics(topic, timeout=10).topics[topic]
        return {p: cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in sorted(md.partitions)}
    finally:
        cons.close()


def consume_and_commit(bootstrap: str, group: str, topic: str, upto: dict[int, int]) -> None:
    """Consume each partition up to (excluding) ``upto[p]`` and commit that position."""
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        cons.assign([TopicPartition(topic, p, 0) for p in upto])
        cons.commit(offsets=[TopicPartition(topic, p, o) for p, o in upto.items()],
                    asynchronous=False)
    finally:
        cons.close()


def drkit(*args: str, config: object = None, timeout: float = 300,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the drkit CLI the way an operator does, in a child process."""
    full_env = {**os.environ, **(env or {})}
    if config is not None:
        full_env["DRKIT_CONFIG"] = str(config)
    return subprocess.run(["drkit", *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)


def committed(bootstrap: str, group: str, topic: str, partitions: list[int]) -> dict[int, int]:
    """A group's committed offsets (partitions without a commit are left out)."""
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "enable.auto.commit": False})
    try:
        res = cons.committed([TopicPartition(topic, p) for p in partitions], timeout=15)
        return {tp.partition: tp.offset for tp in res if tp.offset >= 0}
    finally:
        cons.close()


def consume_from_committed(bootstrap: str, group: str, topic: str, partitions: list[int],
                           timeout_s: float = 60.0) -> list[Message]:
    """Consume as the group would after failover: from its committed offsets to the end."""
    ends = end_offsets(bootstrap, topic)
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "enable.auto.commit": False, "auto.offset.reset": "error"})
    try:
        start = cons.committed([TopicPartition(topic, p) for p in partitions], timeout=15)
        cons.assign(start)
        return _poll_to_end(cons, ends,
                            {tp.partition for tp in start if tp.offset < ends[tp.partition]},
                            timeout_s, f"consuming {topic} as {group}")
    finally:
        cons.close()


def offset_commit_counts(bootstrap: str, groups: set[str]) -> dict[tuple[str, str, int], int]:
    """How many offset-commit records the broker holds per (group, topic, partition).

    Reads ``__consumer_offsets`` itself (key versions 0 and 1 are offset commits: group,
    topic, partition), so a test can prove that a resumed run committed nothing twice.
    """
    counts: dict[tuple[str, str, int], int] = {}
    for msg in read_all(bootstrap, "__consumer_offsets"):
        key, value = msg.key(), msg.value()
        if key is None or value is None or len(key) < 2:
            continue
        version = int.from_bytes(key[:2], "big")
        if version not in (0, 1):
            continue
        pos = 2
        fields: list[str] = []
        for _ in range(2):
            n = int.from_bytes(key[pos:pos + 2], "big")
            fields.append(key[pos + 2:pos + 2 + n].decode())
            pos += 2 + n
        partition = int.from_bytes(key[pos:pos + 4], "big")
        if fields[0] in groups:
            k = (fields[0], fields[1], partition)
            counts[k] = counts.get(k, 0) + 1
    return counts


def _poll_to_end(cons: Consumer, ends: dict[int, int], todo: set[int], timeout_s: float,
                 what: str) -> list[Message]:
    """Poll until every partition in ``todo`` reached its end offset in ``ends``."""
    out: list[Message] = []
    deadline = time.monotonic() + timeout_s
    while todo:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not at the end within {timeout_s:.0f} s")
        msg = cons.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, f"{what}: {msg.error()}"
        out.append(msg)
        if msg.offset() + 1 >= ends[msg.partition()]:
            todo.discard(msg.partition())
    return out


def mirrored_topic(lab: Any, stem: str, partitions: int, per_partition: int) -> tuple[str, str]:
    """Create ``orders.<stem>-<random>`` on primary, fill it, wait until MM2 created its mirror.

    Returns (source topic, mirror on backup).
    """
    from drkit.lab.ready import create_topics

    topic = f"orders.{stem}-{uuid.uuid4().hex[:6]}"
    remote = f"primary.{topic}"
    create_topics(lab.bootstrap("primary"), {topic: partitions})
    produce(lab.bootstrap("primary"), topic,
            [(p, b"k", f"{p}-{i}".encode()) for p in range(partitions)
             for i in range(per_partition)])
    wait_until(lambda: topic_exists(lab.bootstrap("backup"), remote), 60, f"{remote} on backup")
    return topic, remote


def checkpointed(lab: Any, groups: set[str], topic: str = "primary.checkpoints.internal"
                 ) -> bool:
    """Whether MM2 has written a checkpoint for every group in ``groups`` on backup."""
    from drkit.config import load_settings
    from drkit.mm2.reader import read_checkpoints

    cfg = load_settings(lab.config_path).cluster("backup").usable_client_config()
    return groups <= set(read_checkpoints(cfg, topic, "backup", timeout_s=30).by_group)


OFFLINE_MM2 = """clusters = primary, backup
primary.bootstrap.servers = 127.0.0.1:1
backup.bootstrap.servers = 127.0.0.1:2
primary->backup.enabled = true
"""


def offline_settings(tmp_path: Any) -> Any:
    """Settings for a primary->backup flow nobody listens on, for tests that need no server."""
    from drkit.config import build_settings
    from drkit.config.javaprops import parse_properties

    props = parse_properties(OFFLINE_MM2, str(tmp_path / "mm2.properties"))
    return build_settings({"state_dir": "state"}, props, config_path=tmp_path / "drkit.toml",
                          mm2_config_path=tmp_path / "mm2.properties", base_dir=tmp_path)
