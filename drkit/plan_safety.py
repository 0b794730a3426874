"""Safety thresholds for an offset plan, in the manner of octoDNS's ``Plan.raise_if_unsafe``.

A plan can be correct and still a bad idea: many clamped checkpoints mean the standby log is not
what MM2 saw, many untranslated partitions mean MM2 was not checkpointing, no groups at all means a
wrong regex or checkpoints topic. The thresholds make those explicit and overridable by a flag,
instead of leaving them to whoever reads the plan at 3 a.m. Pure; ``translate.py`` uses it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from drkit.errors import ConfigError, UnsafeError

if TYPE_CHECKING:
    from drkit.translate import OffsetPlan


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_stats(plan: OffsetPlan) -> PlanStats:
    from drkit.translate import ACTIONS, VERDICTS  # lazy: translate imports this module

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
    )


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
        flag = (f"--max-rewinds {stats.rewinds}" if limits.max_rewinds is not None
                else "--allow-rewind")
        found.append(f"{stats.rewinds} partition(s) would be rewound (max {max_rewinds}); "
                     f"pass {flag}")
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
                     f"(min {limits.min_groups}); check --group-regex and the checkpoints topic, "
                     f"or pass --min-groups {stats.translated_groups}")
    return tuple(found)


def check_plan(plan: OffsetPlan, limits: SafetyThresholds) -> None:
    """Raise one-line :class:`UnsafeError` (exit 3) naming every exceeded threshold."""
    found = safety_violations(plan, limits)
    if found:
        raise UnsafeError(f"unsafe offset plan {plan.source} -> {plan.target}: "
                          + "; ".join(found))
