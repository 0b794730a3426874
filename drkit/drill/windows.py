"""Read small offset windows of many partitions at once, as (offset, digest, timestamp).

One consumer per cluster, assign + seek (no group, nothing committed), ``read_committed``:
aborted records are never mirrored, so they must not be compared either. Every window is
bounded by its caller (``offset.lag.max`` plus the group's drift, capped); a partition is done at
its window's end or at the end of the partition, whichever comes first.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import TopicPartition as KafkaTopicPartition

from drkit.drill.content import digest
from drkit.errors import ClusterError
from drkit.kafka import clients
from drkit.mm2.model import TopicPartition

MAX_WINDOW = 20_000  # records per partition window, whatever the drift says
READ_CONFIG = {"group.id": "drkit-drill-reader", "isolation.level": "read_committed",
               "auto.offset.reset": "earliest", "enable.auto.offset.store": False,
               "fetch.wait.max.ms": 50}


@dataclass(frozen=True)
class Rec:
    offset: int
    digest: bytes
    timestamp_ms: int


def read_windows(config: Mapping[str, str], windows: Mapping[TopicPartition, tuple[int, int]],
                 where: str, timeout_s: float = 60.0) -> dict[TopicPartition, list[Rec]]:
    """The records at offsets ``[lo, hi)`` of each partition (fewer if the log ends sooner)."""
    out: dict[TopicPartition, list[Rec]] = {tp: [] for tp in windows}
    todo = {tp: (lo, hi) for tp, (lo, hi) in windows.items() if hi > lo}
    if not todo:
        return out
    cons = clients.consumer(config, **READ_CONFIG)
    deadline = time.monotonic() + timeout_s
    try:
        cons.assign([KafkaTopicPartition(tp.topic, tp.partition, lo)
                     for tp, (lo, _hi) in sorted(todo.items())])
        while todo:
            left = deadline - time.monotonic()
            if left <= 0:
                some = ", ".join(f"{tp.topic}-{tp.partition}" for tp in sorted(todo)[:3])
                raise ClusterError(f"reading {len(todo)} window(s) on {where} did not finish "
                                   f"within {timeout_s:.0f} s ({some}…)")
            for msg in cons.consume(500, timeout=min(left, 0.5)):
                err = msg.error()
                tp = TopicPartition(str(msg.topic()), int(msg.partition() or 0))
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        _done(cons, todo, tp)
                        continue
                    raise ClusterError(f"reading {tp.topic}-{tp.partition} on {where}: "
                                       f"{err.str()}")
                rng = todo.get(tp)
                if rng is None:
                    continue
                off = int(msg.offset() or 0)
                if off < rng[1]:
                    ts = msg.timestamp()[1]
                    out[tp].append(Rec(off, digest(msg.key(), msg.value(), ts,
                                                   _headers(msg.headers())), ts))
                if off >= rng[1] - 1:
                    _done(cons, todo, tp)
    except KafkaException as exc:
        raise ClusterError(f"reading record windows on {where}: {exc.args[0]}") from None
    finally:
        cons.close()
    return out



def _headers(raw: Any) -> list[tuple[str, bytes | None]]:
    items = raw.items() if isinstance(raw, dict) else (raw or [])
    return [(str(k), v.encode() if isinstance(v, str) else v) for k, v in items]


def _done(cons: object, todo: dict[TopicPartition, tuple[int, int]], tp: TopicPartition) -> None:
    if todo.pop(tp, None) is not None:
        cons.pause([KafkaTopicPartition(tp.topic, tp.partition)])  # type: ignore[attr-defined]


def bounded(lo: int, hi: int, start: int, end: int) -> tuple[int, int]:
    """``[lo, hi)`` clipped to the log ``[start, end)`` and to :data:`MAX_WINDOW` records
    (keeping the window's start)."""
    lo, hi = max(lo, start), min(hi, end)
    return lo, max(lo, min(hi, lo + MAX_WINDOW))
