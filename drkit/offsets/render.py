"""The offset plan as a table an operator reads at 3 a.m., and as JSON for automation.

Every planner strategy returns an :class:`~drkit.offsets.plan.OffsetPlan`, so this one renderer
serves them all; text helpers are :mod:`drkit.text`'s.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tabulate import tabulate

from drkit.offsets.inputs import PlanInputs
from drkit.offsets.plan import GroupPlan, OffsetPlan, PartitionPlan
from drkit.offsets.readiness import Readiness
from drkit.text import WIDTH, age, clip, safe

VERDICT_ORDER = {"refused": 0, "untranslated": 1, "commit": 2, "nothing-to-do": 3}
_UNTRANSLATED = "choose --untranslated earliest|latest"


@dataclass(frozen=True)
class SkipReason:
    """Why partitions were skipped, as the table counts them: ``marker`` is a phrase of the
    planner's partition reason, ``label`` its name (≤ 60 columns), ``short`` the group table's
    name for it (≤ 17 columns), ``hint`` what to do."""

    marker: str
    label: str
    hint: str
    short: str


#: Most specific first; the first whose marker is in a partition's reason names it. A planner
#: that adds a reason adds its entry here (and the unit test checks every entry renders).
SKIP_REASONS: list[SkipReason] = [
    SkipReason("untranslatable: ", "malformed checkpoint record in force",
               "inspect the record named in --output json (offset, key); tombstone it or wait "
               "for MM2's next checkpoint, then plan again", "malformed ckpt"),
    SkipReason("not committed: group is active on", "group active on the standby",
               "stop its consumers on the standby, then fail the group over again",
               "active on standby"),
    SkipReason("partition not on standby", "partition not on the standby",
               "the topic is not mirrored or its partition count differs: fix the mirror "
               "first", "not on standby"),
    SkipReason("older than the oldest retained offset-sync",
               "source commit older than oldest offset-sync",
               f"MM2 cannot translate positions that old; {_UNTRANSLATED} or commit by hand",
               "old offset-sync"),
    SkipReason("excluded by MM2's group filter", "group excluded by MM2's group filter",
               f"MM2 never checkpoints it (groups.exclude in mm2.properties); {_UNTRANSLATED}",
               "MM2 group filter"),
    SkipReason("not replicated (MM2's topic filter)", "topic not replicated by MM2",
               "MM2 does not mirror the topic: there is nothing to resume on the standby",
               "MM2 topic filter"),
    SkipReason("not in the source inventory", "group unknown on the source",
               f"no commits seen on the source; {_UNTRANSLATED} if it should resume",
               "unknown on source"),
    SkipReason("never committed", "never committed on the source",
               f"no source position to translate; {_UNTRANSLATED} to pick a start",
               "never committed"),
    SkipReason("no offset-sync yet", "no offset-sync yet",
               f"MM2 has not synced this partition yet; wait for MM2 or {_UNTRANSLATED}",
               "no offset-sync"),
    SkipReason("no checkpoint yet", "no checkpoint yet",
               "wait for MM2's next checkpoint (emit.checkpoints.interval.seconds) or "
               + _UNTRANSLATED, "no checkpoint yet"),
]
OTHER_REASON = SkipReason("", "other", "--output json lists each partition's reason", "other")


def skip_reason(reason: str) -> SkipReason:
    """The :data:`SKIP_REASONS` entry of a partition's ``reason`` (:data:`OTHER_REASON` if
    none)."""
    return next((r for r in SKIP_REASONS if r.marker in reason), OTHER_REASON)


def _skipped(g: GroupPlan) -> Counter[SkipReason]:
    return Counter(skip_reason(p.reason) for p in g.partitions if p.action == "skip")


def _reason_cell(g: GroupPlan) -> str:
    """The group's reason in ≤ 26 columns: refusals say why, skips say how many and why."""
    skipped = _skipped(g)
    if g.verdict == "refused" or not skipped:
        return "" if g.verdict == "commit" else clip(g.reason.removeprefix("no checkpoint: "), 26)
    (top, _count), *more = skipped.most_common()
    rest = f" +{len(more)}" if more else ""
    return clip(f"{sum(skipped.values())} skip: {top.short}", 26 - len(rest)) + rest


def skip_summary(plan: OffsetPlan) -> list[str]:
    """Skipped partitions counted per reason, each with what to do (≤ 100 columns)."""
    counts: Counter[SkipReason] = Counter()
    for g in plan.groups:
        counts.update(_skipped(g))
    if not counts:
        return []
    total = sum(len(g.partitions) for g in plan.groups)
    out = [f"Skipped {sum(counts.values())} of {total} partitions (nothing committed for them):"]
    for reason, n in counts.most_common():
        out.append(f"  {n:>5}  {reason.label}")
        out.extend(textwrap.wrap(f"→ {reason.hint}", WIDTH, initial_indent=" " * 9,
                                 subsequent_indent=" " * 11, break_on_hyphens=False))
    return out


def _group_dups(g: GroupPlan) -> str:
    parts = [p for p in g.partitions if p.action == "commit"]
    if not parts:
        return "-"
    if any(p.expected_duplicates is None for p in parts):
        return "?"
    exact = all(p.duplicates_basis == "exact" for p in parts) or g.expected_duplicates == 0
    return f"{'' if exact else '≤'}{g.expected_duplicates}"


def _oldest_age(g: GroupPlan) -> float | None:
    ages = [p.checkpoint_age_s for p in g.partitions if p.checkpoint_age_s is not None]
    return max(ages) if ages else None


def readiness_lines(r: Readiness) -> list[str]:
    """The plan's verdict under the failover readiness rule (as preflight and ``drkit status``
    judge it), wrapped to the table's width: ready and the evidence, or why a failover now
    would be refused, each reason naming the flag that overrides it."""
    if r.ready:
        text = f"readiness: {r.summary()}"
    else:
        text = "readiness: failover would be refused: " + "; ".join(r.refusals)
    return textwrap.wrap(safe(text), WIDTH, initial_indent="  ", subsequent_indent="      ",
                         break_on_hyphens=False)


def plan_table(plan: OffsetPlan, inputs: PlanInputs | None = None, detail: bool = False,
               readiness: Readiness | None = None) -> str:
    # Names come from the clusters (and the journal): every one is shown through safe/clip.
    source, target = safe(plan.source), safe(plan.target)
    out = [f"Plan {source} → {target}   (digest {plan.digest()[:12]})"]
    if inputs is not None:
        out.append(clip(f"  checkpoints: {inputs.checkpoints_topic}, "
                        f"{inputs.checkpoint_records} records read in "
                        f"{inputs.checkpoint_scan_s:.2f} s", WIDTH))
        src = "reachable" if inputs.source_reachable else "UNREACHABLE"
        inv = ("none" if inputs.inventory_age_s is None
               else f"{age(inputs.inventory_age_s)} old")
        out.append(clip(f"  source {plan.source}: {src}; group inventory: {inv}", WIDTH))
        out.append(clip(f"  offset-syncs: {inputs.offset_syncs}", WIDTH))
        mm2 = inputs.mm2
        out.append(clip(f"  MM2 {mm2.version}{' (assumed)' if mm2.assumed else ''}: "
                        f"{mm2.range_label} checkpoint semantics", WIDTH))
        for note in (*mm2.notes, *inputs.notes):
            out.extend(textwrap.wrap(f"note: {safe(note)}", WIDTH, initial_indent="  ",
                                     subsequent_indent="        "))
    if readiness is not None:
        out.extend(readiness_lines(readiness))
    rows = []
    for g in sorted(plan.groups, key=lambda g: (VERDICT_ORDER.get(g.verdict, 9), g.group)):
        n_commit = sum(1 for p in g.partitions if p.action == "commit")
        rows.append([clip(g.group, 22), g.verdict, f"{n_commit}/{len(g.partitions)}",
                     _group_dups(g), age(_oldest_age(g)), _reason_cell(g)])
    out.append("")
    out.append(tabulate(rows, headers=["group", "verdict", "commit", "dup (rec)",
                                       "ckpt age", "reason"], disable_numparse=True)
               if rows else "(no groups)")
    notes = [g for g in plan.groups if g.verdict in ("refused", "untranslated")]
    if notes:
        out.append("")
        for g in notes[:50]:
            out.extend(textwrap.wrap(f"{safe(g.group)}: {safe(g.reason)}", WIDTH,
                                     initial_indent="  ", subsequent_indent="      ",
                                     break_on_hyphens=False))
        if len(notes) > 50:
            out.append(f"  … and {len(notes) - 50} more (--output json lists all)")
    unknown = plan.unattributed_bad_records
    if unknown:
        out.append("")
        out.append(f"{len(unknown)} malformed checkpoint record(s) of no known group "
                   "(skipped; they block nothing):")
        for b in unknown[:10]:
            out.extend(textwrap.wrap(safe(b.describe()), WIDTH, initial_indent="  ",
                                     subsequent_indent="      ", break_on_hyphens=False))
    skips = skip_summary(plan)
    if skips:
        out.append("")
        out.extend(skips)
    if detail:
        out.append("")
        out.append(partition_table(plan))
    s = plan.stats
    out.append("")
    out.extend(textwrap.wrap(
        f"{len(plan.groups)} groups: "
        + ", ".join(f"{n} {v}" for v, n in s.groups_by_verdict.items() if n)
        + f"; {s.partitions_by_action.get('commit', 0)} partitions to commit, "
        f"expected re-deliveries ≤ {s.expected_duplicates} records", WIDTH))
    return "\n".join(out)


def partition_table(plan: OffsetPlan) -> str:
    rows = []
    for g in plan.groups:
        for p in g.partitions:
            rows.append(_partition_row(g.group, p))
    return str(tabulate(rows, headers=["group", "partition", "now", "new", "ckpt up/down",
                                       "log end", "action"], disable_numparse=True))


def _partition_row(group: str, p: PartitionPlan) -> list[str]:
    def n(v: int | None) -> str:
        return "-" if v is None else str(v)

    ck = ("-" if p.checkpoint_upstream is None
          else f"{p.checkpoint_upstream}/{p.checkpoint_downstream}")
    action = p.action + (" (clamped)" if p.clamped else "")
    return [clip(group, 18), clip(f"{p.topic}-{p.partition}", 24), n(p.current), n(p.new_offset),
            ck, n(p.log_end), action]


def plan_json(plan: OffsetPlan, inputs: PlanInputs | None = None) -> dict[str, Any]:
    return {"plan": plan.to_dict(), "digest": plan.digest(), "stats": plan.stats.to_dict(),
            "inputs": inputs.to_dict() if inputs else None}
