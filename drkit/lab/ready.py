"""Readiness checks that prove a lab member works, not merely that its process exists."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

from drkit.errors import LabError
from drkit.kafka import clients as kafka_clients


def port_open(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def broker_answers(bootstrap: str, timeout_s: float) -> bool:
    """True when the broker answers a metadata request (its socket opens only once unfenced)."""
    if not port_open(bootstrap):
        return False
    try:
        md = kafka_clients.admin({"bootstrap.servers": bootstrap}).list_topics(timeout=timeout_s)
    except KafkaException:
        return False
    return bool(md.brokers)


def wait_broker(bootstrap: str, timeout_s: float, alive: Callable[[], None]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive()
        if broker_answers(bootstrap, 2.0):
            return
        time.sleep(0.25)
    raise LabError(f"broker at {bootstrap} did not answer metadata requests "
                   f"within {timeout_s:.0f} s")


def create_topics(bootstrap: str, topics: dict[str, int]) -> None:
    client = kafka_clients.admin({"bootstrap.servers": bootstrap})
    existing = client.list_topics(timeout=10).topics
    wanted = [NewTopic(t, n, 1) for t, n in topics.items() if t not in existing]
    if not wanted:
        return
    for topic, fut in client.create_topics(wanted, operation_timeout=30).items():
        try:
            fut.result(timeout=30)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise LabError(f"cannot create topic {topic} on {bootstrap}: {exc}") from exc


def wait_mirrored(source: str, target: str, topics: tuple[str, str], timeout_s: float,
                  alive: Callable[[], None]) -> None:
    """Produce a unique sentinel on ``source`` and poll ``target`` until MM2 has copied it.

    The target topic does not exist until MM2 creates it, so the consumer re-checks metadata
    instead of subscribing (which would need auto-creation, off in the lab).
    """
    src_topic, dst_topic = topics
    token = uuid.uuid4().hex.encode()
    prod = kafka_clients.producer({"bootstrap.servers": source})
    prod.produce(src_topic, value=token, key=b"drkit-sentinel")
    if prod.flush(30) != 0:
        raise LabError(f"could not produce the sentinel record to {src_topic} on {source}")
    deadline = time.monotonic() + timeout_s
    cons = kafka_clients.consumer({"bootstrap.servers": target},
                                  **{"group.id": f"drkit-lab-ready-{token.decode()[:8]}"})
    assigned = False
    try:
        while time.monotonic() < deadline:
            alive()
            if not assigned:
                md = cons.list_topics(timeout=5)
                if dst_topic in md.topics and not md.topics[dst_topic].error:
                    parts = md.topics[dst_topic].partitions
                    cons.assign([TopicPartition(dst_topic, p, 0) for p in parts])
                    assigned = True
                else:
                    time.sleep(0.5)
                    continue
            msg = cons.poll(0.5)
            if msg is not None and msg.error() is None and msg.value() == token:
                return
    finally:
        cons.close()
    raise LabError(
        f"MirrorMaker 2 did not copy a sentinel from {src_topic}@{source} to {dst_topic}@{target} "
        f"within {timeout_s:.0f} s; see mm2.log in the lab dir"
    )
