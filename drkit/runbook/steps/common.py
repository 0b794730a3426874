"""Helpers shared by the Kafka-facing steps, rollback and the commands that show a run."""

from __future__ import annotations

from drkit.config import Settings
from drkit.kafka.admin import KafkaAdmin
from drkit.mm2.model import TopicPartition
from drkit.offsets.plan import OffsetPlan
from drkit.runbook.engine import RunContext, StepFailed
from drkit.runbook.state import RunState


def cluster_for(settings: Settings, alias: str, timeout_s: float = 15.0) -> KafkaAdmin:
    return KafkaAdmin.connect(settings, alias, timeout_s)


def cluster(ctx: RunContext, alias: str, timeout_s: float = 15.0) -> KafkaAdmin:
    return cluster_for(ctx.settings, alias, timeout_s)


def stored_plan(run: RunState, *, succeeded_only: bool = False) -> OffsetPlan | None:
    """The plan the run's (last) translate step journaled, or None if it stored none.

    The one reader of a journaled plan: ``drkit failover``/``runs show`` print it (also from a
    translate step that failed its safety check), the later steps apply it (``succeeded_only``)
    and rollback learns from it which partitions the run committed.
    """
    for step in reversed(run.steps):
        if step.uses != "translate" or "plan" not in step.outputs:
            continue
        if succeeded_only and step.status != "succeeded":
            continue
        return OffsetPlan.from_dict(step.outputs["plan"])
    return None


def the_plan(ctx: RunContext) -> OffsetPlan:
    """The plan the translate step stored: a resumed run applies exactly this plan."""
    plan = stored_plan(ctx.run, succeeded_only=True)
    if plan is None:
        raise StepFailed(f"run {ctx.run.run_id}: this step needs a successful 'translate' step "
                         "earlier in the runbook")
    return plan


def offsets_to_json(offsets: dict[TopicPartition, int]) -> list[list[object]]:
    return [[tp.topic, tp.partition, off] for tp, off in sorted(offsets.items())]


def offsets_from_json(rows: list[list[object]]) -> dict[TopicPartition, int]:
    return {TopicPartition(str(t), int(p)): int(o) for t, p, o in rows}  # type: ignore[call-overload]
