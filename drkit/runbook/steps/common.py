"""Helpers shared by the Kafka-facing steps."""

from __future__ import annotations

from drkit.cluster import Cluster
from drkit.config import Settings
from drkit.mm2.model import TopicPartition
from drkit.plan import OffsetPlan
from drkit.runbook.engine import RunContext


def cluster_for(settings: Settings, alias: str, timeout_s: float = 15.0) -> Cluster:
    return Cluster(alias, settings.cluster(alias).usable_client_config(), timeout_s)


def cluster(ctx: RunContext, alias: str, timeout_s: float = 15.0) -> Cluster:
    return cluster_for(ctx.settings, alias, timeout_s)


def the_plan(ctx: RunContext) -> OffsetPlan:
    """The plan the translate step stored: a resumed run applies exactly this plan."""
    return OffsetPlan.from_dict(ctx.outputs_of("translate")["plan"])


def offsets_to_json(offsets: dict[TopicPartition, int]) -> list[list[object]]:
    return [[tp.topic, tp.partition, off] for tp, off in sorted(offsets.items())]


def offsets_from_json(rows: list[list[object]]) -> dict[TopicPartition, int]:
    return {TopicPartition(str(t), int(p)): int(o) for t, p, o in rows}  # type: ignore[call-overload]
