"""The MM2-checkpoint planner: where each group resumes on the standby (mm2-reference §3-§5, §7).

One planner strategy among those :mod:`drkit.offsets` will hold: this one translates MM2's
checkpoints; drill shadow positions, exact content match (planned switchover) and reverse
translation (failback) will sit beside it as their own modules, all returning an
:class:`~drkit.offsets.plan.OffsetPlan`.

Pure: plain values in (:class:`~drkit.kafka.groups.TargetGroup`,
:class:`~drkit.kafka.groups.SourceGroup`, checkpoints, log ranges,
:class:`~drkit.offsets.inputs.PlanOptions`), an :class:`~drkit.offsets.plan.OffsetPlan` out; no
Kafka, no clock, no I/O. :mod:`drkit.offsets.gather` reads the inputs; :mod:`drkit.offsets.apply`
commits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from drkit.kafka.groups import SourceGroup, TargetGroup
from drkit.mm2.model import OffsetSync, StampedCheckpoint, TopicPartition
from drkit.offsets.inputs import FlowView, PlanOptions, compile_regex
from drkit.offsets.plan import (
    Action,
    DuplicatesBasis,
    GroupPlan,
    OffsetPlan,
    PartitionPlan,
    PlanBadRecord,
    Verdict,
)

MISSING_ON_STANDBY = "partition not on standby (topic not mirrored or partition count differs)"
NO_CHECKPOINT_YET = (
    "no checkpoint yet (MM2 emits every emit.checkpoints.interval.seconds; "
    "new groups appear after refresh.groups.interval.seconds)"
)


class BadRecordLike(Protocol):
    """What the planner reads of a malformed checkpoint record (``mm2.reader.BadRecord``)."""

    @property
    def kind(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def offset(self) -> int: ...
    @property
    def key_hex(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def group(self) -> str | None: ...
    @property
    def key_partition(self) -> TopicPartition | None: ...


def plan_bad_record(bad: BadRecordLike) -> PlanBadRecord:
    tp = bad.key_partition
    return PlanBadRecord(bad.kind, bad.topic, bad.offset, bad.key_hex, bad.reason, bad.group,
                         tp.topic if tp else None, tp.partition if tp else None)


def build_plan(
    source: str,
    target: str,
    checkpoints: Mapping[str, Mapping[TopicPartition, StampedCheckpoint]],
    target_groups: Mapping[str, TargetGroup],
    log_ranges: Mapping[TopicPartition, tuple[int, int]],
    naming: FlowView,
    options: PlanOptions,
    source_groups: Mapping[str, SourceGroup] | None = None,
    offset_syncs: Mapping[TopicPartition, Sequence[OffsetSync]] | None = None,
    inventory_age_s: float | None = None,
    bad_records: Sequence[BadRecordLike] = (),
) -> OffsetPlan:
    """Decide, per group and partition, what to commit on ``target``.

    Groups come from the checkpoints, the source inventory and the standby's commits. Standby
    commits count only on partitions in ``log_ranges`` (the mirrored partitions): commits on the
    standby's own local topics are not the failover's business.

    ``bad_records`` are malformed checkpoint records still in force (the read skipped them). One
    naming a partition makes that partition untranslatable: skipped, never filled by the
    untranslated policy. One naming only its group puts the whole group in doubt: no commits,
    verdict untranslated. One of no known group is listed in the plan and blocks nothing.
    """
    group_re = compile_regex(options.group_regex, "--group")
    topic_re = compile_regex(options.topic_regex, "--topic")
    src_topics = {tp.topic for sg in (source_groups or {}).values() for tp in sg.committed}
    src_topics.update(tp.topic for tp in offset_syncs or {})
    bad = tuple(plan_bad_record(b) for b in bad_records)
    bad_parts: dict[tuple[str, TopicPartition], PlanBadRecord] = {}
    bad_groups: dict[str, PlanBadRecord] = {}
    for b in bad:
        if b.group is None:
            continue
        if b.target_topic is not None and b.target_partition is not None:
            bad_parts.setdefault((b.group, TopicPartition(b.target_topic, b.target_partition)), b)
        else:
            bad_groups.setdefault(b.group, b)
    planner = _Planner(source, target, log_ranges, naming, options, source_groups, offset_syncs,
                       inventory_age_s, {naming.to_target_topic(t): t for t in sorted(src_topics)},
                       bad_parts, bad_groups)
    names = set(checkpoints) | set(source_groups or {}) | {
        name for name, tg in target_groups.items() if any(tp in log_ranges for tp in tg.committed)
    } | {g for g, _tp in bad_parts} | set(bad_groups)
    groups: list[GroupPlan] = []
    filtered_groups = filtered_partitions = 0
    for name in sorted(names):
        if group_re is not None and group_re.fullmatch(name) is None:
            filtered_groups += 1
            continue
        plan, dropped = planner.plan_group(name, checkpoints.get(name, {}),
                                           target_groups.get(name), topic_re)
        filtered_partitions += dropped
        if plan is not None:
            groups.append(plan)
    return OffsetPlan(
        source=source, target=target, now_ms=options.now_ms, groups=tuple(groups),
        allow_rewind=options.allow_rewind, untranslated_policy=options.untranslated,
        group_regex=options.group_regex, topic_regex=options.topic_regex,
        source_inventory_known=source_groups is not None, inventory_age_s=inventory_age_s,
        offset_syncs_known=offset_syncs is not None,
        filtered_groups=filtered_groups, filtered_partitions=filtered_partitions,
        bad_records=bad,
    )


@dataclass(frozen=True, slots=True)
class _Planner:
    """The inputs shared by every group, so the per-group steps stay short."""

    source: str
    target: str
    log_ranges: Mapping[TopicPartition, tuple[int, int]]
    naming: FlowView
    options: PlanOptions
    source_groups: Mapping[str, SourceGroup] | None
    offset_syncs: Mapping[TopicPartition, Sequence[OffsetSync]] | None
    inventory_age_s: float | None
    to_source: Mapping[str, str]  # target topic -> source topic, for the source names we know
    bad_parts: Mapping[tuple[str, TopicPartition], PlanBadRecord] = field(default_factory=dict)
    bad_groups: Mapping[str, PlanBadRecord] = field(default_factory=dict)

    def bad_for(self, group: str, tp: TopicPartition | None = None) -> PlanBadRecord | None:
        """The malformed record that makes ``group`` (or its partition ``tp``) untranslatable."""
        found = self.bad_groups.get(group)
        if found is None and tp is not None:
            found = self.bad_parts.get((group, tp))
        return found

    def plan_group(
        self, name: str, cps: Mapping[TopicPartition, StampedCheckpoint],
        tg: TargetGroup | None, topic_re: re.Pattern[str] | None,
    ) -> tuple[GroupPlan | None, int]:
        """The group's plan (None if all its partitions were filtered) and how many were."""
        sg = self.source_groups.get(name) if self.source_groups is not None else None
        src = source_positions(self.naming, sg)
        current = dict(tg.committed) if tg else {}
        if name in self.bad_groups:
            cps = {}  # every checkpoint of the group is in doubt: none is used
        tps = set(cps) | set(src) | {tp for tp in current if tp in self.log_ranges} | {
            tp for g, tp in self.bad_parts if g == name}
        kept = sorted(tp for tp in tps if topic_re is None or topic_re.fullmatch(tp.topic))
        if (tps and not kept) or (not tps and sg is None and name not in self.bad_groups):
            return None, len(tps)
        active = tg is not None and tg.is_active
        parts = []
        for tp in kept:
            part = self.plan_partition(name, tp, cps.get(tp), current.get(tp), src.get(tp))
            if active and part.action == "commit":
                part = replace(part, action="skip", reason=f"not committed: group is active on "
                               f"{self.target}; would {part.reason}")
            parts.append(part)
        verdict, reason = self.verdict(name, tg, parts, src)
        return GroupPlan(name, verdict, reason, tuple(parts), tg.state if tg else None,
                         tg.member_count if tg else 0), len(tps) - len(kept)

    def verdict(self, name: str, tg: TargetGroup | None, parts: list[PartitionPlan],
                src: Mapping[TopicPartition, tuple[TopicPartition, int]]) -> tuple[Verdict, str]:
        if tg is not None and tg.is_active:
            return "refused", (f"group has {tg.member_count} member(s) on {self.target} "
                               f"(state {tg.state}); stop its consumers on {self.target} first")
        group_bad = self.bad_groups.get(name)
        if group_bad is not None:
            return "untranslated", f"untranslatable: {group_bad.describe()}"
        missing = untranslated_partitions(parts)
        if len(missing) == len(parts):
            whys = dict.fromkeys(self.why_untranslated(name, p.topic_partition,
                                                       src.get(p.topic_partition))
                                 for p in parts) or {self.why_group_untranslated(name): None}
            return "untranslated", "no checkpoint: " + "; ".join(whys)
        gaps = f"; {len(missing)} without checkpoint" if missing else ""
        broken = sum((name, p.topic_partition) in self.bad_parts for p in parts)
        if broken:
            gaps += f" ({broken} with a malformed checkpoint record)"
        commits = sum(p.action == "commit" for p in parts)
        if commits:
            return "commit", f"{commits} of {len(parts)} partition(s) to commit{gaps}"
        return "nothing-to-do", f"standby already at or past every translated offset{gaps}"

    def plan_partition(
        self, group: str, tp: TopicPartition, stamped: StampedCheckpoint | None,
        current: int | None, src: tuple[TopicPartition, int] | None,
    ) -> PartitionPlan:
        rng = self.log_ranges.get(tp)
        start, end = rng if rng is not None else (None, None)
        if stamped is None:
            action, reason, new = self.untranslated(group, tp, current, src, rng)
            return PartitionPlan(tp.topic, tp.partition, current, None, None, None, None, None,
                                 start, end, new, action, reason)
        cp = stamped.checkpoint
        part = PartitionPlan(
            tp.topic, tp.partition, current, cp.upstream_offset, cp.downstream_offset,
            cp.metadata, stamped.timestamp_ms, (self.options.now_ms - stamped.timestamp_ms) / 1000,
            start, end, None, "skip", MISSING_ON_STANDBY)
        if rng is None:
            return part
        new, note = _clamp(cp.downstream_offset, rng, tp)
        action, reason = self.decide(current, new, "translated")
        resume = current if action == "keep" and current is not None else new
        dups, basis = self.duplicates(tp, cp.upstream_offset, resume, rng[1], src)
        return replace(part, new_offset=new, action=action, reason=f"{note}; {reason}" if note
                       else reason, clamped=note is not None, expected_duplicates=dups,
                       duplicates_basis=basis)

    def decide(self, current: int | None, new: int, label: str) -> tuple[Action, str]:
        """Rule: never move a group backwards unless allowed; equal is a no-op (idempotent)."""
        if current is None:
            return "commit", f"commit {label} {new} (no commit on standby)"
        if current < new:
            return "commit", f"advance {current} -> {label} {new}"
        if current > new and self.options.allow_rewind:
            return "commit", f"rewind {current} -> {label} {new} (--allow-rewind)"
        return "keep", f"standby already at {current} ≥ {label} {new}"

    def untranslated(
        self, group: str, tp: TopicPartition, current: int | None,
        src: tuple[TopicPartition, int] | None, rng: tuple[int, int] | None,
    ) -> tuple[Action, str, int | None]:
        """Apply the untranslated policy. It only fills partitions with no standby commit: an
        existing commit is a real position (MM2's offset sync, or checkpoints lost to a delete
        policy), and jumping it to ``latest`` would skip data and not be idempotent."""
        bad = self.bad_for(group, tp)
        if bad is not None:
            # The current checkpoint is unknown: filling it (earliest/latest) or keeping a
            # standby commit as if settled would hide that.
            return "skip", f"untranslatable: {bad.describe()}; nothing committed", None
        reason = f"no checkpoint: {self.why_untranslated(group, tp, src)}"
        policy = self.options.untranslated
        if rng is None:
            return "skip", f"{reason}; {MISSING_ON_STANDBY}", None
        if policy == "skip":
            return "skip", f"{reason}; policy skip: nothing committed", None
        if current is not None:
            return "keep", f"{reason}; standby commit {current} kept (policy {policy} only " \
                           "fills partitions without one)", None
        new = rng[0] if policy == "earliest" else rng[1]
        return "commit", f"{reason}; commit {policy} {new}", new

    def why_group_untranslated(self, group: str) -> str:
        excluded = self.naming.group_exclusion_reason(group)
        if excluded:
            return f"group excluded by MM2's group filter ({excluded})"
        return "group never committed on the source"

    def why_untranslated(self, group: str, tp: TopicPartition,
                         src: tuple[TopicPartition, int] | None) -> str:
        """The likeliest reason MM2 wrote no checkpoint, most specific first (§3c)."""
        bad = self.bad_for(group, tp)
        if bad is not None:
            return f"untranslatable: {bad.describe()}"
        excluded = self.naming.group_exclusion_reason(group)
        if excluded:
            return f"group excluded by MM2's group filter ({excluded})"
        src_tp = src[0] if src else self.source_tp(tp)
        if src_tp is not None and not self.naming.topic_included(src_tp.topic):
            return f"topic {src_tp.topic} not replicated (MM2's topic filter)"
        if self.source_groups is not None:
            sg = self.source_groups.get(group)
            age = "" if self.inventory_age_s is None else f"; {self.inventory_age_s:.0f}s old"
            if sg is None:
                return f"group not in the source inventory (no commits on {self.source}{age})"
            if not sg.committed:
                return "group never committed on the source"
            if src is None:
                return f"group never committed {src_tp or tp} on the source"
        if self.offset_syncs is not None and src_tp is not None:
            syncs = self.offset_syncs.get(src_tp, ())
            if not syncs:
                return f"no offset-sync yet for {src_tp}"
            oldest = min(s.upstream_offset for s in syncs)
            if src is not None and src[1] < oldest:
                return (f"source commit {src[1]} older than the oldest retained offset-sync "
                        f"(upstream {oldest}) of {src_tp}")
        if self.source_groups is None:
            return f"{NO_CHECKPOINT_YET}; source group inventory unavailable"
        return NO_CHECKPOINT_YET

    def source_tp(self, tp: TopicPartition) -> TopicPartition | None:
        topic = self.to_source.get(tp.topic)
        return None if topic is None else TopicPartition(topic, tp.partition)

    def duplicates(self, tp: TopicPartition, upstream: int, resume: int, log_end: int,
                   src: tuple[TopicPartition, int] | None) -> tuple[int, DuplicatesBasis]:
        """Upper bound on records between ``resume`` and the true downstream position D(u).

        Downstream offsets are dense while upstream ones may have gaps, so a sync (su, sd) with
        su ≤ u gives D(u) ≤ sd + (u - su), and one with su ≥ u gives D(u) ≤ sd. Taking the
        minimum over all syncs equals using the newest below and the oldest above u, and does not
        depend on the order the syncs were read in.
        """
        src_tp = src[0] if src else self.source_tp(tp)
        syncs = (self.offset_syncs or {}).get(src_tp, ()) if src_tp is not None else ()
        if not syncs:
            return max(0, log_end - resume), "log-end bound"
        if any(s.upstream_offset == upstream and s.downstream_offset == resume for s in syncs):
            return 0, "exact"
        bound = min(log_end, *(s.downstream_offset + max(0, upstream - s.upstream_offset)
                               for s in syncs))
        return max(0, bound - resume), "offset-syncs"


def _clamp(offset: int, rng: tuple[int, int], tp: TopicPartition) -> tuple[int, str | None]:
    """Keep offsets inside the standby log (§7.6); say why when a checkpoint falls outside it."""
    start, end = rng
    if offset > end:
        return end, f"checkpoint {offset} beyond log end {end} of {tp}: clamped"
    if offset < start:
        return start, (f"checkpoint {offset} below log start {start} of {tp}: clamped "
                       "(earlier records were deleted on the standby)")
    return offset, None


def untranslated_partitions(parts: Sequence[PartitionPlan]) -> list[PartitionPlan]:
    """The partitions MM2 wrote no checkpoint for (the plan's and ``status``'s one test)."""
    return [p for p in parts if not p.translated]


def source_positions(naming: FlowView, group: SourceGroup | None
                     ) -> dict[TopicPartition, tuple[TopicPartition, int]]:
    """The group's source commits keyed by the standby partition they map to:
    ``target tp -> (source tp, source offset)``."""
    return {TopicPartition(naming.to_target_topic(stp.topic), stp.partition): (stp, off)
            for stp, off in (group.committed if group else {}).items()}


def moved_since_checkpoint(source_offset: int, stamped: StampedCheckpoint) -> bool:
    """The group consumed on the source after MM2 checkpointed it: those records come again."""
    return source_offset > stamped.checkpoint.upstream_offset
