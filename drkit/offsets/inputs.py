"""What a planner is given: the flow's naming view, the operator's options, and the read's facts.

Pure types shared by every planner strategy (the MM2-checkpoint planner today; drill shadow
positions, exact content match and reverse translation next), so each strategy module holds only
its rules. The consumer-group facts a planner reads (:class:`~drkit.kafka.groups.TargetGroup`,
:class:`~drkit.kafka.groups.SourceGroup`) live in :mod:`drkit.kafka.groups`, where the admin edge
that builds them can import them too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from drkit.errors import ConfigError
from drkit.mm2.versions import MM2Behaviour, behaviour
from drkit.offsets.plan import POLICIES, UntranslatedPolicy


class FlowView(Protocol):
    """What a planner needs to know about one MM2 flow: its naming policy and its filters."""

    def to_target_topic(self, source_topic: str) -> str:
        """Name of ``source_topic``'s replica on the target (``orders`` → ``primary.orders``)."""
        ...

    def group_exclusion_reason(self, group: str) -> str | None:
        """Why MM2's group filter skips ``group`` (e.g. ``groups.exclude connect-.*``), or None."""
        ...

    def topic_included(self, source_topic: str) -> bool:
        """Whether MM2's topic filter replicates ``source_topic``."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    """Operator choices; regexes must match whole names, ``topic_regex`` the target topic's."""

    group_regex: str | None = None
    topic_regex: str | None = None
    allow_rewind: bool = False
    untranslated: UntranslatedPolicy = "skip"
    now_ms: int
    #: Fail on a malformed MM2 record (CodecError) instead of skipping and naming it.
    strict: bool = False

    def __post_init__(self) -> None:
        if self.untranslated not in POLICIES:
            raise ConfigError(f"--untranslated must be one of {', '.join(POLICIES)}, "
                              f"not {self.untranslated!r}")
        compile_regex(self.group_regex, "--group")
        compile_regex(self.topic_regex, "--topic")


def compile_regex(pattern: str | None, flag: str) -> re.Pattern[str] | None:
    """``pattern`` compiled, or a ConfigError naming the ``flag`` it came from."""
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{flag} {pattern!r} is not a valid regular expression: {exc}") from exc


@dataclass(frozen=True)
class PlanInputs:
    """Facts about how the plan was made, shown next to it and stored in the run journal."""

    checkpoints_topic: str
    checkpoint_records: int
    checkpoint_scan_s: float
    source_reachable: bool
    source_error: str | None
    inventory_age_s: float | None
    offset_syncs: str  # where the syncs came from, or why not
    mm2: MM2Behaviour = field(default_factory=lambda: behaviour(None))
    #: What the configuration says about this flow (e.g. MM2 writes no checkpoints for it, a
    #: setting its MM2 version ignores, problems of other flows): shown with the plan.
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "mm2": self.mm2.to_dict(), "notes": list(self.notes)}
