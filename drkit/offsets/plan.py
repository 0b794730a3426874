"""The offset plan, as a value object, with the safety thresholds it is checked against.

Like octoDNS's ``Plan``, an :class:`OffsetPlan` is rendered many ways, checked with
:meth:`OffsetPlan.raise_if_unsafe` against :class:`SafetyThresholds` (kept in this module, as
octoDNS keeps ``Plan`` and ``raise_if_unsafe`` together, so the model and its rules cannot import
each other in a cycle), and stored in the run journal (``to_dict``/``from_dict``/``digest``) so
that a resumed run applies the *same* plan. Every planner strategy makes one:
:func:`drkit.offsets.checkpoint_planner.build_plan` today; the drill-shadow, exact-match and
reverse planners to come return the same type, so rendering, safety, apply and the journal stay
shared.

Expected duplicates are an upper bound on records re-delivered relative to the checkpointed source
position. Records the group consumed on the source *after* its last checkpoint are re-delivered
too; the checkpoint age (``checkpoint_age_s``) bounds how much time that covers.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from drkit.errors import ConfigError, DrkitError, UnsafeError
from drkit.mm2.model import TopicPartition

Verdict = Literal["commit", "nothing-to-do", "refused", "untranslated"]
Action = Literal["commit", "keep", "skip"]
DuplicatesBasis = Literal["offset-syncs", "log-end bound", "exact", "none"]
UntranslatedPolicy = Literal["skip", "earliest", "latest"]
VERDICTS: tuple[Verdict, ...] = ("commit", "nothing-to-do", "refused", "untranslated")
ACTIONS: tuple[Action, ...] = ("commit", "keep", "skip")
BASES: tuple[DuplicatesBasis, ...] = ("offset-syncs", "log-end bound", "exact", "none")
POLICIES: tuple[UntranslatedPolicy, ...] = ("skip", "earliest", "latest")
PLAN_FORMAT = 1


@dataclass(frozen=True, slots=True)
class PartitionPlan:
    """One partition's decision. ``new_offset`` is the proposed offset (translated and clamped, or
    chosen by the untranslated policy); only ``action == "commit"`` writes it."""

    topic: str
    partition: int
    current: int | None
    checkpoint_upstream: int | None
    checkpoint_downstream: int | None
    checkpoint_metadata: str | None
    checkpoint_time_ms: int | None
    checkpoint_age_s: float | None
    log_start: int | None
    log_end: int | None
    new_offset: int | None
    action: Action
    reason: str
    clamped: bool = False
    expected_duplicates: int | None = None
    duplicates_basis: DuplicatesBasis = "none"

    @property
    def topic_partition(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)

    @property
    def translated(self) -> bool:
        """True when MM2 wrote a checkpoint for this partition."""
        return self.checkpoint_downstream is not None

    @property
    def rewind(self) -> bool:
        """A commit that moves the standby group backwards (only with ``allow_rewind``)."""
        return (self.action == "commit" and self.current is not None
                and self.new_offset is not None and self.new_offset < self.current)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartitionPlan:
        plan = cls(**data)
        _choice(plan.action, ACTIONS, "action")
        _choice(plan.duplicates_basis, BASES, "duplicates_basis")
        if plan.action == "commit" and not isinstance(plan.new_offset, int):
            raise ValueError(f"{plan.topic_partition}: commit without an integer new_offset")
        return plan


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """One group's verdict; ``partitions`` are sorted and include kept and skipped ones (audit)."""

    group: str
    verdict: Verdict
    reason: str
    partitions: tuple[PartitionPlan, ...]
    target_state: str | None
    member_count: int

    @property
    def expected_duplicates(self) -> int:
        """Sum of the partitions' upper bounds (partitions without a bound count 0)."""
        return sum(p.expected_duplicates or 0 for p in self.partitions)

    @property
    def commit_offsets(self) -> dict[TopicPartition, int]:
        """Offsets to commit; always empty for a refused group, whatever the partitions say."""
        if self.verdict == "refused":
            return {}
        return {p.topic_partition: p.new_offset for p in self.partitions
                if p.action == "commit" and p.new_offset is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupPlan:
        parts = tuple(PartitionPlan.from_dict(p) for p in data["partitions"])
        plan = cls(**{**data, "partitions": parts})
        _choice(plan.verdict, VERDICTS, "verdict")
        return plan


@dataclass(frozen=True, slots=True)
class PlanBadRecord:
    """A malformed MM2 record the plan was built around (issue 17 item 6): which group it is
    charged to (None: its key does not decode that far), the partition it names, if any, and
    where it is, so an operator can inspect or tombstone it. ``reason`` is the codec's text
    (no record bytes); ``key_hex`` the key's first bytes."""

    kind: str
    topic: str
    offset: int
    key_hex: str
    reason: str
    group: str | None = None
    target_topic: str | None = None
    target_partition: int | None = None

    def describe(self) -> str:
        """``checkpoint record at offset 7 of T is malformed: …; key 00ab…``."""
        key = f"; key {self.key_hex}" if self.key_hex else "; no key"
        return f"{self.kind} record at offset {self.offset} of {self.topic} is malformed: " \
               f"{self.reason}{key}"


@dataclass(frozen=True, slots=True)
class OffsetPlan:
    """Every group's decision for one failover ``source`` → ``target``, plus the inputs' context."""

    source: str
    target: str
    now_ms: int
    groups: tuple[GroupPlan, ...]
    allow_rewind: bool = False
    untranslated_policy: UntranslatedPolicy = "skip"
    group_regex: str | None = None
    topic_regex: str | None = None
    source_inventory_known: bool = False
    inventory_age_s: float | None = None
    offset_syncs_known: bool = False
    filtered_groups: int = 0
    filtered_partitions: int = 0
    #: Malformed checkpoint records in force, skipped by the read (all of them, also those
    #: charged to a group or partition above). Old journals have none.
    bad_records: tuple[PlanBadRecord, ...] = ()

    @property
    def unattributed_bad_records(self) -> tuple[PlanBadRecord, ...]:
        """Bad records of no known group: listed, blocking nothing."""
        return tuple(b for b in self.bad_records if b.group is None)

    @property
    def refused_groups(self) -> tuple[GroupPlan, ...]:
        return tuple(g for g in self.groups if g.verdict == "refused")

    @property
    def has_refusals(self) -> bool:
        return any(g.verdict == "refused" for g in self.groups)

    def commits(self) -> Iterator[tuple[str, dict[TopicPartition, int]]]:
        """``(group, offsets)`` for each group with at least one commit action, in plan order."""
        for group in self.groups:
            offsets = group.commit_offsets
            if offsets:
                yield group.group, offsets

    @property
    def stats(self) -> PlanStats:
        """Counts by verdict and action, duplicates, clamps, rewinds and filtered items."""
        return plan_stats(self)

    def safety_violations(self, thresholds: SafetyThresholds) -> tuple[str, ...]:
        """Each threshold this plan exceeds, as a short sentence naming the override flag."""
        return thresholds.violations(self)

    def raise_if_unsafe(self, thresholds: SafetyThresholds) -> None:
        """Raise :class:`~drkit.errors.UnsafeError` (exit 3) if any threshold is exceeded.

        Refused groups alone do not make the plan unsafe: they are reported, the CLI decides.
        """
        thresholds.check(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists, str keys) for the run journal."""
        data = asdict(self)
        data["groups"] = [{**g, "partitions": list(g["partitions"])} for g in data["groups"]]
        data["bad_records"] = list(data["bad_records"])
        return {"format": PLAN_FORMAT, **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OffsetPlan:
        """Rebuild a plan from :meth:`to_dict` output; a damaged journal raises DrkitError."""
        try:
            if data.get("format") != PLAN_FORMAT:
                raise ValueError(f"unknown plan format {data.get('format')!r}")
            body = {k: v for k, v in data.items() if k != "format"}
            groups = tuple(GroupPlan.from_dict(g) for g in body["groups"])
            bad = tuple(PlanBadRecord(**b) for b in body.get("bad_records", ()))
            plan = cls(**{**body, "groups": groups, "bad_records": bad})
            _choice(plan.untranslated_policy, POLICIES, "untranslated_policy")
        except (KeyError, TypeError, ValueError) as exc:
            raise DrkitError(f"stored offset plan is unreadable ({exc}); "
                             "re-run without --resume to build a new plan") from exc
        return plan

    def digest(self) -> str:
        """SHA-256 of the canonical JSON form: equal plans, equal digests, across processes."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PlanStats:
    """Counts for summaries and safety checks; ``clamped_commits``/``rewinds`` count commits only
    (a kept or skipped partition writes nothing, so its checkpoint cannot do harm)."""

    groups_by_verdict: Mapping[str, int]
    partitions_by_action: Mapping[str, int]
    partitions: int
    untranslated_partitions: int
    clamped_commits: int
    rewinds: int
    translated_groups: int
    expected_duplicates: int
    oldest_commit_checkpoint_age_s: float | None
    filtered_groups: int
    filtered_partitions: int
    #: Malformed checkpoint records in force; those of a known partition are also counted in
    #: ``untranslated_partitions``, those of a whole group put its partitions there too.
    bad_records: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_stats(plan: OffsetPlan) -> PlanStats:
    """The counts of ``plan`` (also :attr:`OffsetPlan.stats`)."""
    parts = [p for g in plan.groups for p in g.partitions]
    ages = [p.checkpoint_age_s for p in parts
            if p.action == "commit" and p.checkpoint_age_s is not None]
    return PlanStats(
        groups_by_verdict={v: sum(g.verdict == v for g in plan.groups) for v in VERDICTS},
        partitions_by_action={a: sum(p.action == a for p in parts) for a in ACTIONS},
        partitions=len(parts),
        untranslated_partitions=sum(not p.translated for p in parts),
        clamped_commits=sum(p.clamped and p.action == "commit" for p in parts),
        rewinds=sum(p.rewind for p in parts),
        translated_groups=sum(any(p.translated for p in g.partitions) for g in plan.groups),
        expected_duplicates=sum(g.expected_duplicates for g in plan.groups),
        oldest_commit_checkpoint_age_s=max(ages) if ages else None,
        filtered_groups=plan.filtered_groups,
        filtered_partitions=plan.filtered_partitions,
        bad_records=len(plan.bad_records),
    )


def _choice(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of {', '.join(allowed)}")


# Safety thresholds, in the manner of octoDNS's ``Plan.raise_if_unsafe``. A plan can be correct
# and still a bad idea: many clamped checkpoints mean the standby log is not what MM2 saw, many
# untranslated partitions mean MM2 was not checkpointing, no groups at all means a wrong regex or
# checkpoints topic. The thresholds make those explicit and overridable by a flag, instead of
# leaving them to whoever reads the plan at 3 a.m.


@dataclass(frozen=True, slots=True)
class SafetyThresholds:
    """Limits a plan must stay within to be applied without an override.

    ``max_rewinds=None`` means 0 for a plan built without ``allow_rewind`` and no limit for one
    built with it (the flag is the consent); an integer caps rewinds either way.
    ``max_untranslated_fraction`` is over all planned partitions. ``max_checkpoint_age_s`` looks
    only at checkpoints about to be committed; it is off by default because MM2 ≥ 3.4.1 does not
    re-emit unchanged checkpoints, so an idle group's checkpoint is old and still right.
    ``min_groups`` counts groups with at least one checkpoint.
    """

    max_clamped_partitions: int = 0
    max_rewinds: int | None = None
    max_untranslated_fraction: float | None = None
    max_checkpoint_age_s: float | None = None
    min_groups: int = 0

    def __post_init__(self) -> None:
        for name in ("max_clamped_partitions", "max_rewinds", "max_checkpoint_age_s",
                     "min_groups"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"safety threshold {name} must not be negative, not {value}")
        fraction = self.max_untranslated_fraction
        if fraction is not None and not 0 <= fraction <= 1:
            raise ConfigError(f"safety threshold max_untranslated_fraction must be within 0..1, "
                              f"not {fraction}")

    def violations(self, plan: OffsetPlan) -> tuple[str, ...]:
        """:func:`safety_violations` of ``plan`` against these limits."""
        return safety_violations(plan, self)

    def check(self, plan: OffsetPlan) -> None:
        """:func:`check_plan`: raise :class:`UnsafeError` if ``plan`` exceeds these limits."""
        check_plan(plan, self)


def safety_violations(plan: OffsetPlan, limits: SafetyThresholds) -> tuple[str, ...]:
    """Each exceeded threshold as one clause: what, the numbers, and the flag that overrides it."""
    stats = plan_stats(plan)
    found: list[str] = []
    if stats.clamped_commits > limits.max_clamped_partitions:
        found.append(f"{stats.clamped_commits} partition(s) would be committed at an offset "
                     f"clamped to the standby log (max {limits.max_clamped_partitions}); inspect "
                     f"them, then pass --max-clamped {stats.clamped_commits}")
    max_rewinds = limits.max_rewinds
    if max_rewinds is None and not plan.allow_rewind:
        max_rewinds = 0
    if max_rewinds is not None and stats.rewinds > max_rewinds:
        # A cap set by the caller (SafetyThresholds(max_rewinds=N), no CLI flag) is not
        # overridable from the command line; without one, --allow-rewind is the consent.
        todo = (f"the caller's max_rewinds limit allows {max_rewinds}: raise it to "
                f"{stats.rewinds} if the rewinds are intended" if limits.max_rewinds is not None
                else "pass --allow-rewind")
        found.append(f"{stats.rewinds} partition(s) would be rewound (max {max_rewinds}); "
                     f"{todo}")
    fraction = limits.max_untranslated_fraction
    if fraction is not None and stats.partitions:
        share = stats.untranslated_partitions / stats.partitions
        if share > fraction:
            found.append(f"{share:.0%} of partitions ({stats.untranslated_partitions}/"
                         f"{stats.partitions}) have no checkpoint (max {fraction:.0%}); "
                         f"pass --max-untranslated {math.ceil(share * 100) / 100:g}")
    age, max_age = stats.oldest_commit_checkpoint_age_s, limits.max_checkpoint_age_s
    if max_age is not None and age is not None and age > max_age:
        found.append(f"oldest checkpoint to commit is {age:.0f}s old (max {max_age:g}s; idle "
                     f"groups are old too); pass --max-checkpoint-age {math.ceil(age)}")
    if stats.translated_groups < limits.min_groups:
        found.append(f"only {stats.translated_groups} group(s) with checkpoints "
                     f"(min {limits.min_groups}); check --group and the checkpoints topic, "
                     f"or pass --min-groups {stats.translated_groups}")
    return tuple(found)


def check_plan(plan: OffsetPlan, limits: SafetyThresholds) -> None:
    """Raise one-line :class:`UnsafeError` (exit 3) naming every exceeded threshold."""
    found = safety_violations(plan, limits)
    if found:
        raise UnsafeError(f"unsafe offset plan {plan.source} -> {plan.target}: "
                          + "; ".join(found))
