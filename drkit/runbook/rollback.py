"""Undo a run's commit: put back the standby offsets snapshotted before drkit committed.

Only into empty groups (a running consumer owns its offsets). A group that had no offsets
before is deleted (the broker refuses if it has members). A partition drkit committed that had
no offset before cannot be un-committed through the AdminClient while the group keeps others;
it is reported so the operator can remove it with ``kafka-consumer-groups --delete-offsets``.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field

from confluent_kafka import KafkaException

from drkit.config import Settings
from drkit.errors import StateError
from drkit.kafka.admin import KafkaAdmin
from drkit.kafka.groups import group_is_active
from drkit.mm2.model import TopicPartition
from drkit.offsets.apply import commit_offsets
from drkit.runbook.state import RunState
from drkit.runbook.steps.common import offsets_from_json, stored_plan


@dataclass
class RollbackResult:
    restored: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    left_over: dict[str, list[str]] = field(default_factory=dict)
    dns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def snapshot_of(run: RunState) -> dict[str, dict[TopicPartition, int]]:
    for step in run.steps:
        if step.uses == "commit" and "snapshot" in step.outputs:
            raw = step.outputs["snapshot"]
            return {g: offsets_from_json(rows) for g, rows in raw.items()}
    return {}


def committed_by_run(run: RunState) -> dict[str, set[TopicPartition]]:
    """Partitions the run's plan committed, per group (from the stored plan)."""
    plan = stored_plan(run)
    return {} if plan is None else {g: set(o) for g, o in plan.commits()}


def rollback(run: RunState, target: KafkaAdmin, settings: Settings) -> RollbackResult:
    snapshot = snapshot_of(run)
    if not snapshot and not any(s.uses == "dns-flip" and s.outputs.get("records")
                                for s in run.steps):
        raise StateError(f"run {run.run_id} changed nothing (its commit and dns-flip steps "
                         "never started), so there is nothing to roll back")
    touched = committed_by_run(run)
    result = RollbackResult()
    states = target.describe_groups(snapshot)
    restore: list[tuple[str, dict[TopicPartition, int]]] = []
    delete: list[str] = []
    for group, before in sorted(snapshot.items()):
        state, members = states.get(group, ("EMPTY", 0))
        if group_is_active(state, members):
            result.refused[group] = f"{members} members, state {state}: stop its consumers first"
            continue
        if not before:
            delete.append(group)
            continue
        restore.append((group, before))
        extra = sorted(str(tp) for tp in touched.get(group, set()) - set(before))
        if extra:
            result.left_over[group] = extra
    applied = commit_offsets(target, restore)
    for r in applied.results:
        if r.outcome == "committed":
            result.restored.append(r.group)
        elif r.outcome == "refused":
            result.refused[r.group] = r.error
        else:
            result.failed[r.group] = r.error
    if delete:
        futs = target.admin.delete_consumer_groups(delete, request_timeout=target.timeout_s)
        for group, fut in futs.items():
            try:
                fut.result(timeout=target.timeout_s + 5)
                result.deleted.append(group)
            except KafkaException as exc:
                msg = str(exc.args[0].str() if exc.args else exc)
                if "GROUP_ID_NOT_FOUND" in msg:
                    result.deleted.append(group)
                elif "NON_EMPTY_GROUP" in msg:
                    result.refused[group] = "group has members: stop its consumers first"
                else:
                    result.failed[group] = msg
            except concurrent.futures.TimeoutError:
                result.failed[group] = "timed out deleting the group"
    result.dns = rollback_dns(run, settings)
    return result


def rollback_dns(run: RunState, settings: Settings) -> list[str]:
    """Restore every record the run's dns-flip step changed to the value it found before."""
    from drkit.dns.flip import provider_for, restore_record
    from drkit.dns.settings import dns_settings

    flipped = next((s.outputs.get("records") for s in run.steps
                    if s.uses == "dns-flip" and s.outputs.get("records")), None)
    if not flipped:
        return []
    dns = dns_settings(settings)
    if dns is None:
        return [f"{name}: not restored: [dns] is no longer configured" for name in flipped]
    provider = provider_for(dns)
    return [restore_record(provider, spec, flipped[spec.name])
            for spec in dns.records if spec.name in flipped]
