"""Undo a run: put back the standby offsets and DNS values it found, by compare-and-swap.

The rule, per partition and per DNS record: a value is restored only where the current value is
still exactly what this run wrote (its plan's commit offset; the dns-flip step's "after"). A
value changed since (a later run, consumers that committed, an operator) is left alone and
listed as ``changed since run <id>; left alone``. A value a later run (not itself rolled back)
also wrote is left alone too, even with ``--force``: it belongs to that run now.

A group the run created (it had no offsets before) is deleted only if every partition still
holds what the run wrote and nothing else was committed since. A partition the run added to a
group that kept others cannot be removed through the AdminClient while the group keeps others;
it is reported so the operator can remove it with ``kafka-consumer-groups --delete-offsets``.
Only empty groups are changed (a running consumer owns its offsets).

The journal is read as data, never trusted to choose targets: only groups in the run's own
stored plan (checked against the digest the commit step recorded) and records configured in
``[dns]`` are touched, to values the run recorded (see :func:`check_journal`).
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaException
from tabulate import tabulate

from drkit.config import Settings
from drkit.dns.base import DnsConflict, RecordSet, show_records
from drkit.dns.flip import RecordDecision, provider_for, rollback_record
from drkit.dns.settings import dns_settings
from drkit.errors import StateError, UnsafeError
from drkit.kafka.admin import KafkaAdmin
from drkit.kafka.groups import group_is_active
from drkit.mm2.model import TopicPartition
from drkit.offsets.apply import commit_offsets
from drkit.runbook.state import Journal, RunState, RunSummary
from drkit.runbook.steps.common import offsets_from_json, offsets_to_json, stored_plan
from drkit.text import clip
from drkit.textsafe import safe

#: Partition actions. Only "restore" and "delete" change anything.
RESTORE, DELETE, ALREADY, LEFT_ALONE, CANNOT_REMOVE = (
    "restore", "delete", "already", "left alone", "cannot remove")


@dataclass(frozen=True)
class PartitionDecision:
    """What rollback does with one partition the run wrote, and why."""

    group: str
    tp: TopicPartition
    now: int | None
    written: int
    restore_to: int | None
    action: str
    why: str = ""


@dataclass(frozen=True)
class GroupDecision:
    group: str
    action: str  # "restore" (some partitions), "delete" (the whole group) or "none"
    partitions: tuple[PartitionDecision, ...]

    def changing(self) -> list[PartitionDecision]:
        return [p for p in self.partitions if p.action in (RESTORE, DELETE)]


def decide_group(group: str, before: dict[TopicPartition, int],
                 written: dict[TopicPartition, int], now: dict[TopicPartition, int],
                 run_id: str, later_run: str | None = None) -> GroupDecision:
    """The compare-and-swap rule for one group (pure).

    ``before``: the group's offsets in the run's snapshot (empty: the run created the group);
    ``written``: what the run's plan committed; ``now``: the group's offsets on the cluster;
    ``later_run``: a later run (not rolled back) that failed over this group too, if any.
    """
    created = not before
    parts: list[PartitionDecision] = []
    for tp in sorted(written):
        w, n, b = written[tp], now.get(tp), before.get(tp)
        if n == b:
            act, why = ALREADY, "as before the run"
        elif n != w:
            act, why = LEFT_ALONE, f"changed since run {run_id}; left alone"
        elif later_run:
            act, why = LEFT_ALONE, f"run {later_run} failed over this group later; left alone"
        elif b is None and created:
            act, why = DELETE, "the run created the group"
        elif b is None:
            act, why = CANNOT_REMOVE, ("had no offset before; remove with "
                                       "kafka-consumer-groups --delete-offsets")
        else:
            act, why = RESTORE, ""
        parts.append(PartitionDecision(group, tp, n, w, b, act, why))
    if created and any(p.action == DELETE for p in parts):
        extra = sorted(set(now) - set(written))
        if extra or any(p.action == LEFT_ALONE for p in parts):
            kept = ("other partitions changed since run " + run_id if not extra else
                    f"{len(extra)} partition(s) the run never wrote were committed since")
            why = f"group had no offsets before, but {kept}: group kept; left alone"
            parts = [replace(p, action=LEFT_ALONE, why=why) if p.action == DELETE else p
                     for p in parts]
    if any(p.action == DELETE for p in parts):
        action = DELETE
    elif any(p.action == RESTORE for p in parts):
        action = RESTORE
    else:
        action = "none"
    return GroupDecision(group, action, tuple(parts))


@dataclass(frozen=True)
class LaterRun:
    """A run on the same target created after the rolled-back one, and what it touched."""

    run_id: str
    status: str
    groups: frozenset[str]
    records: frozenset[str]


@dataclass
class RollbackPlan:
    run_id: str
    target: str
    groups: list[GroupDecision]
    records: list[RecordDecision]
    conflicts: list[LaterRun]
    notes: list[str] = field(default_factory=list)

    def changes(self) -> int:
        return (sum(len(g.changing()) for g in self.groups)
                + sum(r.action == RESTORE for r in self.records))


@dataclass
class RollbackResult:
    restored: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    left_over: dict[str, list[str]] = field(default_factory=dict)
    left_alone: list[dict[str, Any]] = field(default_factory=list)
    restored_offsets: dict[str, list[list[object]]] = field(default_factory=dict)
    dns: list[dict[str, Any]] = field(default_factory=list)
    later_runs: list[str] = field(default_factory=list)
    forced: bool = False

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)

    def changed_anything(self) -> bool:
        return bool(self.restored or self.deleted
                    or any(d["action"] == "restored" for d in self.dns))


# --- what the journal says the run did, checked against its own plan and the config ----------


def snapshot_of(run: RunState) -> dict[str, dict[TopicPartition, int]]:
    for step in run.steps:
        if step.uses == "commit" and "snapshot" in step.outputs:
            raw = step.outputs["snapshot"]
            if not isinstance(raw, dict):
                raise _edited(run, "steps[commit].outputs.snapshot is not a mapping of groups")
            try:
                return {g: offsets_from_json(rows) for g, rows in raw.items()}
            except (TypeError, ValueError) as exc:
                raise _edited(run, f"steps[commit].outputs.snapshot cannot be read ({exc})"
                              ) from None
    return {}


def flipped_of(run: RunState) -> dict[str, dict[str, Any]]:
    for step in run.steps:
        if step.uses == "dns-flip" and step.outputs.get("records"):
            records = step.outputs["records"]
            if not isinstance(records, dict) or not all(isinstance(v, dict)
                                                        for v in records.values()):
                raise _edited(run, "steps[dns-flip].outputs.records is not a mapping of records")
            return records
    return {}


def committed_by_run(run: RunState) -> dict[str, dict[TopicPartition, int]]:
    """What the run's plan committed, per group (from the stored plan)."""
    plan = stored_plan(run)
    return {} if plan is None else {g: dict(o) for g, o in plan.commits()}


def _edited(run: RunState, what: str) -> UnsafeError:
    return UnsafeError(f"run {run.run_id}: {what}; the journal does not match what the run did "
                       "(changed outside drkit?): nothing was rolled back")


def check_journal(run: RunState, settings: Settings
                  ) -> tuple[dict[str, dict[TopicPartition, int]],
                             dict[str, dict[TopicPartition, int]], dict[str, dict[str, Any]]]:
    """(snapshot, written, flipped records) of ``run``, each checked against the run's own
    stored plan and the configured ``[dns]`` records; UnsafeError naming the field otherwise."""
    snapshot = snapshot_of(run)
    flipped = flipped_of(run)
    written: dict[str, dict[TopicPartition, int]] = {}
    if snapshot:
        plan = stored_plan(run)
        if plan is None:
            raise _edited(run, "steps[commit].outputs.snapshot exists but no translate step "
                          "stored a plan")
        commit = next(s for s in run.steps if s.uses == "commit" and "snapshot" in s.outputs)
        recorded = commit.outputs.get("plan_digest")
        if recorded is not None and recorded != plan.digest():
            raise _edited(run, f"the stored plan (sha256 {plan.digest()[:12]}) is not the plan "
                          f"the commit step applied: steps[commit].outputs.plan_digest is "
                          f"{safe(str(recorded)[:12])!r}")
        written = {g: dict(o) for g, o in plan.commits()}
        for group in sorted(snapshot):
            if group not in written:
                raise _edited(run, f"steps[commit].outputs.snapshot names group "
                              f"{safe(group)!r} that is not in the run's plan")
    if flipped:
        dns = dns_settings(settings)
        specs = {s.name: s for s in dns.records} if dns is not None else {}
        for name, state in sorted(flipped.items()):
            spec = specs.get(name)
            if spec is None:
                raise _edited(run, f"steps[dns-flip].outputs.records names dns record "
                              f"{safe(name)!r}, which is not configured in [dns] "
                              "([[dns.records]] in drkit.toml)")
            try:
                before = RecordSet.from_dict(state["before"]) if state.get("before") else None
                after = RecordSet.from_dict(state["after"]) if state.get("after") else None
            except (KeyError, TypeError, ValueError):
                raise _edited(run, f"steps[dns-flip].outputs.records[{safe(name)!r}] cannot "
                              "be read") from None
            allowed = [spec.for_cluster(a) for a in (run.source, run.target)
                       if a in spec.values]
            if after is not None and not spec.for_cluster(run.target).same_values(after):
                raise _edited(run, f"steps[dns-flip].outputs.records[{safe(name)!r}].after is "
                              f"{safe(show_records(after))}, not {run.target}'s configured value")
            if before is not None and not any(v.same_values(before) for v in allowed):
                raise _edited(run, f"steps[dns-flip].outputs.records[{safe(name)!r}].before is "
                              f"{safe(show_records(before))}, neither {run.source}'s nor "
                              f"{run.target}'s configured value")
    return snapshot, written, flipped


# --- later runs ------------------------------------------------------------------------------


def _created(stamp: str) -> datetime:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def later_runs(run: RunState, journal: Journal) -> list[LaterRun]:
    """Runs on the same target created after ``run``, not rolled back, that committed (or are
    about to commit) groups or set DNS records: their values are theirs, not ``run``'s."""
    mine = (_created(run.created_at), run.run_id)
    out: list[LaterRun] = []
    for entry in journal.list_runs():
        if not isinstance(entry, RunSummary) or entry.run_id == run.run_id:
            continue
        if entry.target != run.target or (_created(entry.created_at), entry.run_id) <= mine:
            continue
        try:
            other = journal.load(entry.run_id, read_only=True)
        except (StateError, UnsafeError):
            continue
        if getattr(other, "rollbacks", None):
            continue
        commit_started = any(s.uses == "commit" and s.status != "pending" for s in other.steps)
        groups: frozenset[str] = frozenset()
        plan = stored_plan(other)
        if plan is not None and (other.status in ("succeeded", "running", "interrupted")
                                 or commit_started):
            # Every group it placed, even one it found already in place (nothing to commit):
            # the positions it stands on are its own now.
            groups = frozenset(g.group for g in plan.groups if g.verdict != "refused")
        records = frozenset(flipped_of(other)) if _safe_flipped(other) else frozenset()
        if groups or records:
            out.append(LaterRun(other.run_id, other.status, groups, records))
    return out


def _safe_flipped(run: RunState) -> bool:
    try:
        flipped_of(run)
    except UnsafeError:
        return False
    return True


# --- deciding and applying -------------------------------------------------------------------


def plan_rollback(run: RunState, settings: Settings, journal: Journal,
                  target: KafkaAdmin | None) -> RollbackPlan:
    """What a rollback of ``run`` would do now (reads only)."""
    snapshot, written, flipped = check_journal(run, settings)
    if not snapshot and not flipped:
        raise StateError(f"run {run.run_id} changed nothing (its commit and dns-flip steps "
                         "never started), so there is nothing to roll back")
    later = later_runs(run, journal)
    conflicts = [r for r in later if r.groups & set(snapshot) or r.records & set(flipped)]
    later_of_group = {g: r.run_id for r in reversed(later) for g in r.groups}
    later_of_record = {n: r.run_id for r in reversed(later) for n in r.records}
    groups: list[GroupDecision] = []
    if snapshot:
        assert target is not None
        current = target.committed(snapshot)
        for group in sorted(snapshot):
            groups.append(decide_group(group, snapshot[group], written.get(group, {}),
                                       current.get(group, {}), run.run_id,
                                       later_of_group.get(group)))
    records: list[RecordDecision] = []
    if flipped:
        dns = dns_settings(settings)
        assert dns is not None  # check_journal refused otherwise
        provider = provider_for(dns)
        for spec in dns.records:
            if spec.name in flipped:
                records.append(rollback_record(provider, spec, flipped[spec.name], run.run_id,
                                               later_of_record.get(spec.name), dry_run=True))
    return RollbackPlan(run.run_id, run.target, groups, records, conflicts)


def apply_rollback(plan: RollbackPlan, run: RunState, settings: Settings,
                   target: KafkaAdmin | None) -> RollbackResult:
    """Carry out ``plan`` (decided under the lock, just before)."""
    result = RollbackResult(later_runs=[r.run_id for r in plan.conflicts])
    for g in plan.groups:
        for p in g.partitions:
            if p.action == LEFT_ALONE:
                result.left_alone.append({"group": g.group, "topic": p.tp.topic,
                                          "partition": p.tp.partition, "now": p.now,
                                          "run_wrote": p.written, "why": p.why})
        extra = [str(p.tp) for p in g.partitions if p.action == CANNOT_REMOVE]
        if extra:
            result.left_over[g.group] = extra
    acting = [g for g in plan.groups if g.action != "none"]
    if acting:
        assert target is not None
        states = target.describe_groups([g.group for g in acting])
        restore: list[tuple[str, dict[TopicPartition, int]]] = []
        delete: list[str] = []
        for g in acting:
            state, members = states.get(g.group, ("EMPTY", 0))
            if group_is_active(state, members):
                result.refused[g.group] = (f"{members} members, state {state}: stop its "
                                           "consumers first, then roll back again")
            elif g.action == DELETE:
                delete.append(g.group)
            else:
                restore.append((g.group, {p.tp: int(p.restore_to or 0) for p in g.partitions
                                          if p.action == RESTORE}))
        for r in commit_offsets(target, restore).results:
            if r.outcome == "committed":
                result.restored.append(r.group)
                result.restored_offsets[r.group] = offsets_to_json(dict(restore)[r.group])
            elif r.outcome == "refused":
                result.refused[r.group] = r.error
            else:
                result.failed[r.group] = r.error
        _delete_groups(target, delete, result)
    if plan.records:
        dns = dns_settings(settings)
        assert dns is not None
        provider = provider_for(dns)
        flipped = flipped_of(run)
        later = {d.name: d for d in plan.records}
        for spec in dns.records:
            if spec.name not in later:
                continue
            d = later[spec.name]
            if d.action == RESTORE:
                try:
                    d = rollback_record(provider, spec, flipped[spec.name], run.run_id)
                except DnsConflict as exc:
                    d = replace(d, action=LEFT_ALONE,
                                why=f"changed while rolling back; left alone ({exc})")
            result.dns.append({"name": d.name, "action": d.action, "why": d.why,
                               "now": list(d.now.values) if d.now else None,
                               "restore_to": list(d.before.values) if d.before else None})
    return result


def _delete_groups(target: KafkaAdmin, delete: list[str], result: RollbackResult) -> None:
    if not delete:
        return
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
    result.deleted.sort()


# --- rendering -------------------------------------------------------------------------------


def _num(value: int | None) -> str:
    return "-" if value is None else str(value)


def _short(p: PartitionDecision) -> str:
    if p.action == LEFT_ALONE:
        if p.why.startswith("changed since"):
            return "left alone: changed"
        return ("left alone: later run" if "failed over this group later" in p.why
                else "left alone: group kept")
    return {RESTORE: "restore", DELETE: "delete group",
            CANNOT_REMOVE: "cannot remove"}.get(p.action, p.action)


def _values(rs: RecordSet | None) -> str:
    return "absent" if rs is None else ", ".join(rs.values)


def plan_table(plan: RollbackPlan) -> str:
    """The dry run: every partition and record rollback would change or leave alone (≤100
    columns); partitions already as before the run are only counted."""
    rows: list[list[str]] = []
    already = 0
    for g in plan.groups:
        for p in g.partitions:
            if p.action == ALREADY:
                already += 1
                continue
            to = {RESTORE: _num(p.restore_to), DELETE: "none"}.get(p.action, "-")
            where = f"{clip(safe(p.tp.topic), 26)}-{p.tp.partition}"
            rows.append([clip(safe(g.group), 20), where, _num(p.now), to, _short(p)])
    out = [f"Rollback of run {plan.run_id} on {plan.target}: {plan.changes()} change(s)"]
    if rows:
        out += ["", str(tabulate(rows, headers=["group", "partition", "now", "restore to",
                                                "action / why"], disable_numparse=True))]
    reasons = {p.why for g in plan.groups for p in g.partitions
               if p.action in (LEFT_ALONE, CANNOT_REMOVE)}
    out += [f"  {clip(safe(why), 96)}" for why in sorted(reasons)]
    if already:
        out.append(f"{already} partition(s) already hold their value from before the run")
    for d in plan.records:
        if d.action == RESTORE and d.before:
            out.append(f"DNS {clip(safe(d.name), 28)}: {clip(safe(_values(d.now)), 30)} → "
                       f"{clip(safe(_values(d.before)), 30)}")
        else:
            out.append(f"DNS {clip(safe(d.name), 28)}: {d.action}: {clip(safe(d.why), 60)}")
    for r in plan.conflicts:
        out.append(f"later run {r.run_id} ({r.status}) touched the same groups or records")
    return "\n".join(out)


def left_alone_lines(plan: RollbackPlan, limit: int = 40) -> list[str]:
    """One line per partition left alone, naming the run, now and what the run wrote."""
    lines = [f"{clip(safe(p.group), 30)} {clip(safe(str(p.tp)), 30)}: {p.why} "
             f"(now {_num(p.now)}, run wrote {p.written})"
             for g in plan.groups for p in g.partitions if p.action == LEFT_ALONE]
    if len(lines) > limit:
        lines = [*lines[:limit], f"… and {len(lines) - limit} more (see -o json)"]
    return lines
