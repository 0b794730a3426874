"""Safety thresholds for an offset plan, in the manner of octoDNS's ``Plan.raise_if_unsafe``.

A plan can be correct and still a bad idea: many clamped checkpoints mean the standby log is not
what MM2 saw, many untranslated partitions mean MM2 was not checkpointing, no groups at all means a
wrong regex or checkpoints topic. The thresholds make those explicit and overridable by a flag,
instead of leaving them to whoever reads the plan at 3 a.m. Pure; :class:`~drkit.plan.OffsetPlan`
delegates :meth:`~drkit.plan.OffsetPlan.raise_if_unsafe` here through :class:`SafetyThresholds`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from drkit.errors import ConfigError, UnsafeError
from drkit.plan import OffsetPlan
from drkit.plan import PlanStats as PlanStats  # these two lived here; old imports keep working
from drkit.plan import plan_stats as plan_stats


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
