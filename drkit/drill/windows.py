"""Read small offset windows of many partitions at once, as (offset, digest, timestamp).

One consumer per cluster, assign + seek (no group, nothing committed), ``read_committed``:
aborted records are never mirrored, so they must not be compared either. Every window is
bounded by its caller (``offset.lag.max`` plus the group's drift, capped); a partition is done at
its window's end or at the end of the partition, whichever comes first.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import time
from collections.abc import Iterator, Mapping, Set
from typing import Any, NamedTuple

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


class Rec(NamedTuple):
    """One record of a window: a plain tuple (a drill holds millions), ``(offset, digest, …)`` as
    :func:`drkit.drill.content.match_partition` reads it."""

    offset: int
    digest: bytes
    timestamp_ms: int


# Rec((…)) without NamedTuple's Python-level __new__: one tuple per record read (bench_drill).
new_rec: Any = functools.partial(tuple.__new__, Rec)


NO_MATCH = b""  # the digest of a record that cannot match (never a 16-byte digest)


def read_windows(config: Mapping[str, str], windows: Mapping[TopicPartition, tuple[int, int]],
                 where: str, timeout_s: float = 60.0,
                 candidates: Mapping[TopicPartition, Set[int]] | None = None
                 ) -> dict[TopicPartition, list[Rec]]:
    """The records at offsets ``[lo, hi)`` of each partition (fewer if the log ends sooner).

    With ``candidates`` (timestamps per partition, those of the other cluster's window), a
    record whose timestamp is not among them cannot match any record there (the timestamp is
    part of the digest), so it is not hashed: its digest is :data:`NO_MATCH`, which equals no
    digest. Its offset still counts (e.g. for records skipped)."""
    with paused_gc():
        return _read_windows(config, windows, where, timeout_s, candidates or {})


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a window is read: every record adds tuples that
    hold only ints and bytes (no cycles), and with millions alive the collector's repeated
    passes cost a quarter of the reading (tests/bench/bench_drill.py). Turned back on after,
    unless it was already off (two windows are read at once, one per cluster)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _read_windows(config: Mapping[str, str], windows: Mapping[TopicPartition, tuple[int, int]],
                  where: str, timeout_s: float, candidates: Mapping[TopicPartition, Set[int]]
                  ) -> dict[TopicPartition, list[Rec]]:
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
                    cand = candidates.get(tp)
                    out[tp].append(new_rec((off, digest(msg.key(), msg.value(), ts,
                                                        _headers(msg.headers()))
                                            if cand is None or ts in cand else NO_MATCH, ts)))
                if off >= rng[1] - 1:
                    _done(cons, todo, tp)
    except KafkaException as exc:
        raise ClusterError(f"reading record windows on {where}: {exc.args[0]}") from None
    finally:
        cons.close()
    return out



def _headers(raw: Any) -> Any:
    """The client's headers as ``digest`` takes them: a list of (name, value) or None."""
    return list(raw.items()) if isinstance(raw, dict) else raw


def _done(cons: object, todo: dict[TopicPartition, tuple[int, int]], tp: TopicPartition) -> None:
    if todo.pop(tp, None) is not None:
        cons.pause([KafkaTopicPartition(tp.topic, tp.partition)])  # type: ignore[attr-defined]


def bounded(lo: int, hi: int, start: int, end: int) -> tuple[int, int]:
    """``[lo, hi)`` clipped to the log ``[start, end)`` and to :data:`MAX_WINDOW` records
    (keeping the window's start)."""
    lo, hi = max(lo, start), min(hi, end)
    return lo, max(lo, min(hi, lo + MAX_WINDOW))
