"""Is a failover possible now, judged by how fresh MM2's checkpoints are? One rule, pure.

``drkit status``, ``drkit plan`` and the runbook's ``preflight`` step all call :func:`judge`, so
they cannot disagree. The rule, with the source cluster:

* **up** (a planned switchover, or a source that still answers): freshness is judged against
  the clock. The newest checkpoint must be younger than ``max_checkpoint_age`` and the newest
  heartbeat of the source mirrored onto the standby younger than ``max_heartbeat_age``.
* **unreachable** (an unplanned failover): MM2 can write nothing new, so the clock says only
  how long ago the outage began. Freshness is judged *at the moment replication stopped*: the
  newest heartbeat value in ``<source>.heartbeats`` on the standby (or the newest mirrored
  record, whichever is later) marks that moment; the newest checkpoint must have been younger
  than ``max_checkpoint_age`` then. The time since then is the outage's age: reported as RPO
  evidence, never a reason to refuse (``strict`` makes a stale heartbeat one).

Every refusal is one clause that names the flag that overrides it. No checkpointed group is
not a refusal (a producers-only failover moves no group) but is said plainly; ``--min-groups``
turns it into one (the plan's safety threshold).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

#: Between a refusal's finding and what to do (the form ``drkit status`` uses for its checks).
REMEDY = " — "

@dataclass(frozen=True)
class ReadinessFacts:
    """What was read: times in ms since the epoch, None when not seen."""

    source: str
    target: str
    now_ms: int
    source_reachable: bool
    checkpoints_topic: str
    checkpointed_groups: int
    newest_checkpoint_ms: int | None
    heartbeats_topic: str
    newest_heartbeat_ms: int | None  # the heartbeat *value's* timestamp (MM2 stamps it)
    newest_mirrored_ms: int | None = None  # newest record in the standby's remote topics


@dataclass(frozen=True)
class ReadinessLimits:
    """None switches a limit off. ``strict``: a stale heartbeat refuses even with the source
    down (the shipped runbook leaves it off: with the source down it is expected)."""

    max_checkpoint_age_s: float | None = None
    max_heartbeat_age_s: float | None = None
    strict: bool = False


@dataclass(frozen=True)
class Readiness:
    ready: bool
    source_reachable: bool
    #: When freshness is judged: now (source up) or when replication stopped (source down).
    reference_ms: int
    #: Source down: the newest heartbeat or mirrored record, i.e. when replication stopped.
    replication_stopped_ms: int | None
    #: Source down: now minus ``replication_stopped_ms`` (the outage's age, RPO evidence).
    outage_age_s: float | None
    #: The newest checkpoint's age at ``reference_ms``.
    checkpoint_age_s: float | None
    #: The newest heartbeat's age now (wall clock).
    heartbeat_age_s: float | None
    checkpointed_groups: int
    refusals: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def no_groups(self) -> bool:
        return self.checkpointed_groups == 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "refusals": list(self.refusals), "notes": list(self.notes)}

    def summary(self) -> str:
        """One line: the verdict and the evidence (for preflight, plan and status)."""
        if self.no_groups:
            groups = "no group checkpointed"
        else:
            groups = (f"{self.checkpointed_groups} group(s) checkpointed, newest checkpoint "
                      f"{age(self.checkpoint_age_s)} old"
                      + ("" if self.source_reachable else " when replication stopped"))
        if self.source_reachable:
            evidence = f"source up, heartbeat {age(self.heartbeat_age_s)} old"
        elif self.outage_age_s is None:
            evidence = "source UNREACHABLE, when replication stopped is unknown (no heartbeat)"
        else:
            evidence = (f"source UNREACHABLE, replication stopped {age(self.outage_age_s)} ago "
                        "(RPO evidence)")
        return f"{'ready' if self.ready else 'NOT ready'}: {groups}; {evidence}"


def age(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds >= 7200:
        return f"{seconds:.0f} s ({seconds / 3600:.1f} h)"
    if seconds >= 120:
        return f"{seconds:.0f} s ({seconds / 60:.0f} min)"
    return f"{seconds:.0f} s"


def _since(later_ms: int, earlier_ms: int | None) -> float | None:
    return None if earlier_ms is None else max(0.0, (later_ms - earlier_ms) / 1000)


def judge(f: ReadinessFacts, limits: ReadinessLimits) -> Readiness:
    """The readiness of a failover ``f.source`` -> ``f.target`` now (see the module doc)."""
    refusals: list[str] = []
    notes: list[str] = []
    flow = f"{f.source}->{f.target}"
    hb_age = _since(f.now_ms, f.newest_heartbeat_ms)
    stopped: int | None = None
    if f.source_reachable:
        reference = f.now_ms
    else:
        seen = [t for t in (f.newest_heartbeat_ms, f.newest_mirrored_ms) if t is not None]
        stopped = max(seen) if seen else None
        # Unknown stop: the newest checkpoint is the last sign of MM2, so judge it there.
        reference = stopped if stopped is not None else (f.newest_checkpoint_ms or f.now_ms)
        reference = min(reference, f.now_ms)
    cp_age = _since(reference, f.newest_checkpoint_ms)
    outage = None if stopped is None else _since(f.now_ms, stopped)

    if f.checkpointed_groups == 0 or f.newest_checkpoint_ms is None:
        notes.append(f"no consumer group has an MM2 checkpoint in {f.checkpoints_topic} on "
                     f"{f.target}: a failover moves no group offsets (MM2 checkpoints only "
                     f"groups that committed on {f.source}); pass --min-groups 1 to refuse that")
    else:
        max_cp = limits.max_checkpoint_age_s
        if max_cp is not None and cp_age is not None and cp_age > max_cp:
            when = ("" if f.source_reachable
                    else " when replication stopped")
            refusals.append(
                f"{flow} newest checkpoint was {age(cp_age)} old{when} (max {max_cp:g} s)"
                f"{REMEDY} is MM2's checkpoint connector for {flow} running? MM2 does not "
                f"re-emit unchanged checkpoints: if every group was idle, pass "
                f"--max-checkpoint-age {math.ceil(cp_age) + 1}")
    max_hb = limits.max_heartbeat_age_s
    if max_hb is not None and (f.source_reachable or limits.strict) and (
            hb_age is not None and hb_age > max_hb):
        up = f" with {f.source} up" if f.source_reachable else " (strict)"
        over = f"pass --max-heartbeat-age {math.ceil(hb_age) + 1}"
        refusals.append(
            f"{flow} newest heartbeat in {f.heartbeats_topic} on {f.target} is {age(hb_age)} "
            f"old{up} (max {max_hb:g} s), so records written since would be lost{REMEDY}"
            f"fix MM2 {flow}, or {over}")
    if not f.source_reachable:
        if stopped is None:
            notes.append(f"{f.source} is unreachable and {f.heartbeats_topic} on {f.target} "
                         "holds no heartbeat: when replication stopped is unknown; checkpoints "
                         "are judged at the newest one")
        else:
            notes.append(f"{f.source} is unreachable: replication stopped {age(outage)} ago; "
                         "checkpoints are judged at that moment, the outage's age is RPO "
                         "evidence, not a reason to refuse")
    return Readiness(ready=not refusals, source_reachable=f.source_reachable,
                     reference_ms=reference, replication_stopped_ms=stopped,
                     outage_age_s=None if outage is None else round(outage, 3),
                     checkpoint_age_s=None if cp_age is None else round(cp_age, 3),
                     heartbeat_age_s=None if hb_age is None else round(hb_age, 3),
                     checkpointed_groups=f.checkpointed_groups, refusals=tuple(refusals),
                     notes=tuple(notes))


def limits_from(configured: dict[str, Any], args: dict[str, Any]) -> ReadinessLimits:
    """The limits a run uses: the runbook step's ``with`` values, each overridden by the flag
    of the same name when given (``--max-checkpoint-age``, ``--max-heartbeat-age``)."""
    def pick(key: str) -> float | None:
        value = args.get(key)
        value = configured.get(key) if value is None else value
        return None if value is None else float(value)

    return ReadinessLimits(max_checkpoint_age_s=pick("max_checkpoint_age"),
                           max_heartbeat_age_s=pick("max_heartbeat_age"),
                           strict=bool(configured.get("strict")))


def newest_checkpoint(by_group: Any) -> tuple[int, int | None]:
    """(groups with a checkpoint, the newest checkpoint's timestamp) of a checkpoint index's
    ``by_group`` ({group: {partition: stamped checkpoint}})."""
    stamps = [sc.timestamp_ms for parts in by_group.values() for sc in parts.values()]
    groups = sum(1 for parts in by_group.values() if parts)
    return groups, max(stamps, default=None)
