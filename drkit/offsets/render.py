"""The offset plan as a table an operator reads at 3 a.m., and as JSON for automation.

Every planner strategy returns an :class:`~drkit.offsets.plan.OffsetPlan`, so this one renderer
serves them all; text helpers are :mod:`drkit.text`'s.
"""

from __future__ import annotations

import textwrap
from typing import Any

from tabulate import tabulate

from drkit.offsets.inputs import PlanInputs
from drkit.offsets.plan import GroupPlan, OffsetPlan, PartitionPlan
from drkit.text import WIDTH, age, clip

VERDICT_ORDER = {"refused": 0, "untranslated": 1, "commit": 2, "nothing-to-do": 3}


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


def plan_table(plan: OffsetPlan, inputs: PlanInputs | None = None, detail: bool = False) -> str:
    out = [f"Plan {plan.source} → {plan.target}   (digest {plan.digest()[:12]})"]
    if inputs is not None:
        out.append(f"  checkpoints: {inputs.checkpoints_topic}, {inputs.checkpoint_records} "
                   f"records read in {inputs.checkpoint_scan_s:.2f} s")
        src = "reachable" if inputs.source_reachable else "UNREACHABLE"
        inv = ("none" if inputs.inventory_age_s is None
               else f"{age(inputs.inventory_age_s)} old")
        out.append(f"  source {plan.source}: {src}; group inventory: {inv}")
        out.append(clip(f"  offset-syncs: {inputs.offset_syncs}", WIDTH))
        mm2 = inputs.mm2
        out.append(f"  MM2 {mm2.version}{' (assumed)' if mm2.assumed else ''}: "
                   f"{mm2.range_label} checkpoint semantics")
        for note in mm2.notes:
            out.extend(textwrap.wrap(f"note: {note}", WIDTH, initial_indent="  ",
                                     subsequent_indent="        "))
    rows = []
    for g in sorted(plan.groups, key=lambda g: (VERDICT_ORDER.get(g.verdict, 9), g.group)):
        n_commit = sum(1 for p in g.partitions if p.action == "commit")
        rows.append([clip(g.group, 22), g.verdict, f"{n_commit}/{len(g.partitions)}",
                     _group_dups(g), age(_oldest_age(g)),
                     "" if g.verdict == "commit"
                     else clip(g.reason.removeprefix("no checkpoint: "), 26)])
    out.append("")
    out.append(tabulate(rows, headers=["group", "verdict", "commit", "dup (rec)",
                                       "ckpt age", "reason"]) if rows else "(no groups)")
    notes = [g for g in plan.groups if g.verdict in ("refused", "untranslated")]
    if notes:
        out.append("")
        for g in notes[:50]:
            out.extend(textwrap.wrap(f"{g.group}: {g.reason}", WIDTH, initial_indent="  ",
                                     subsequent_indent="      "))
        if len(notes) > 50:
            out.append(f"  … and {len(notes) - 50} more (--output json lists all)")
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
