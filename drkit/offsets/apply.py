"""Commit an OffsetPlan on the standby: many groups at once, retried, refusals never successes.

Kafka's AlterConsumerGroupOffsets is accepted only while a group has no members; a broker answer
such as UNKNOWN_MEMBER_ID means a consumer is (or just became) active, so the group is reported
as refused and left alone. Committing the same offsets twice is harmless, so re-applying a plan
(e.g. on resume) is safe.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException
from confluent_kafka import TopicPartition as KafkaTopicPartition
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from drkit.kafka.admin import WAVE, KafkaAdmin
from drkit.mm2.model import TopicPartition
from drkit.offsets.plan import OffsetPlan

Outcome = Literal["committed", "refused", "failed"]

ACTIVE_GROUP_ERRORS = frozenset({
    "UNKNOWN_MEMBER_ID", "ILLEGAL_GENERATION", "REBALANCE_IN_PROGRESS", "STALE_MEMBER_EPOCH",
    "FENCED_MEMBER_EPOCH", "NON_EMPTY_GROUP",
})
RETRIABLE_ERRORS = frozenset({
    "COORDINATOR_LOAD_IN_PROGRESS", "COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR",
    "REQUEST_TIMED_OUT", "_TIMED_OUT", "NETWORK_EXCEPTION", "_TRANSPORT", "_ALL_BROKERS_DOWN",
})


@dataclass(frozen=True)
class GroupResult:
    group: str
    outcome: Outcome
    offsets: Mapping[TopicPartition, int] = field(default_factory=dict)
    error: str = ""
    attempts: int = 1


@dataclass(frozen=True)
class ApplyResult:
    results: tuple[GroupResult, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.outcome == "committed" for r in self.results)

    def by_outcome(self, outcome: Outcome) -> list[GroupResult]:
        return [r for r in self.results if r.outcome == outcome]


class _Retriable(Exception):
    """A broker answer that says 'try again' (coordinator moving, timeouts)."""


def _code_name(exc: KafkaException) -> str:
    err = exc.args[0] if exc.args else None
    if isinstance(err, KafkaError):
        return str(err.name())
    return str(exc)


def _partition_errors(res: ConsumerGroupTopicPartitions) -> list[str]:
    return [f"{tp.topic}-{tp.partition}: {tp.error.name()}"
            for tp in res.topic_partitions or [] if tp.error is not None]


def commit_offsets(cluster: KafkaAdmin, commits: Iterable[tuple[str, Mapping[TopicPartition, int]]],
                   *, attempts: int = 5, progress: Callable[[int, int], None] | None = None
                   ) -> ApplyResult:
    """Commit each group's offsets concurrently (in waves); one result per group."""
    started = time.monotonic()
    todo = [(g, dict(o)) for g, o in commits if o]
    results: list[GroupResult] = []
    for i in range(0, len(todo), WAVE):
        results.extend(_wave(cluster, todo[i:i + WAVE], attempts))
        if progress:
            progress(min(i + WAVE, len(todo)), len(todo))
    return ApplyResult(tuple(sorted(results, key=lambda r: r.group)),
                       time.monotonic() - started)


def apply_plan(cluster: KafkaAdmin, plan: OffsetPlan, *, attempts: int = 5,
               progress: Callable[[int, int], None] | None = None) -> ApplyResult:
    return commit_offsets(cluster, plan.commits(), attempts=attempts, progress=progress)


def _wave(cluster: KafkaAdmin, todo: list[tuple[str, dict[TopicPartition, int]]], attempts: int
          ) -> list[GroupResult]:
    """Send a whole wave at once, then retry only the groups that got a retriable answer."""
    pending = dict(todo)
    done: list[GroupResult] = []
    tries = dict.fromkeys(pending, 0)
    try:
        for attempt in Retrying(stop=stop_after_attempt(attempts),
                                wait=wait_exponential(multiplier=0.2, max=5),
                                retry=retry_if_exception_type(_Retriable), reraise=True):
            with attempt:
                for g in pending:
                    tries[g] += 1
                retry_again = _send(cluster, pending, done, tries)
                pending = retry_again
                if pending:
                    raise _Retriable(", ".join(sorted(pending)))
    except (_Retriable, RetryError):
        for g, offsets in pending.items():
            done.append(GroupResult(g, "failed", offsets,
                                    f"still failing after {tries[g]} attempts (coordinator "
                                    "unavailable or timing out)", tries[g]))
    return done


def _send(cluster: KafkaAdmin, pending: dict[str, dict[TopicPartition, int]],
          done: list[GroupResult], tries: dict[str, int]) -> dict[str, dict[TopicPartition, int]]:
    futs = {}
    for g, o in pending.items():  # one group per request (AdminClient rule), all in flight
        req = ConsumerGroupTopicPartitions(
            g, [KafkaTopicPartition(tp.topic, tp.partition, off) for tp, off in sorted(o.items())])
        futs.update(cluster.admin.alter_consumer_group_offsets(
            [req], request_timeout=cluster.timeout_s))
    again: dict[str, dict[TopicPartition, int]] = {}
    for g, fut in futs.items():
        offsets = pending[g]
        try:
            res = fut.result(timeout=cluster.timeout_s + 5)
        except concurrent.futures.TimeoutError:
            again[g] = offsets
            continue
        except KafkaException as exc:
            name = _code_name(exc)
            if name in ACTIVE_GROUP_ERRORS:
                done.append(GroupResult(g, "refused", offsets,
                                        f"group has active members on {cluster.alias} ({name}); "
                                        "stop its consumers there, then re-run", tries[g]))
            elif name in RETRIABLE_ERRORS:
                again[g] = offsets
            else:
                done.append(GroupResult(g, "failed", offsets, f"{name}: {exc}", tries[g]))
            continue
        errors = _partition_errors(res)
        if errors:
            if any(e.endswith(tuple(ACTIVE_GROUP_ERRORS)) for e in errors):
                done.append(GroupResult(g, "refused", offsets,
                                        "group has active members: " + "; ".join(errors),
                                        tries[g]))
            else:
                done.append(GroupResult(g, "failed", offsets, "; ".join(errors), tries[g]))
            continue
        done.append(GroupResult(g, "committed", offsets, "", tries[g]))
    return again
