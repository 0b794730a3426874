"""The plan table says why partitions are skipped: a count per reason with what to do, and
each group's reason (issue 16 §4). Before, "51 of 64 skipped" was only in the JSON."""

from __future__ import annotations

import re

from drkit.kafka.groups import SourceGroup
from drkit.mm2.model import Checkpoint, OffsetSync, StampedCheckpoint, TopicPartition
from drkit.offsets.checkpoint_planner import MISSING_ON_STANDBY, NO_CHECKPOINT_YET, build_plan
from drkit.offsets.inputs import PlanOptions
from drkit.offsets.plan import OffsetPlan
from drkit.offsets.render import OTHER_REASON, SKIP_REASONS, plan_table, skip_reason, skip_summary
from tests.unit.test_hostile_rendering import Naming

GROUPS = [f"payments-consumer-{i}" for i in range(8)]
PARTS = range(8)


def old_positions_plan() -> OffsetPlan:
    """8 groups x 8 partitions; MM2 checkpointed 13 of the 64, the other 51 source commits are
    older than the oldest offset-sync MM2 still retains."""
    src = {g: SourceGroup(g, {TopicPartition("orders", p): 5 for p in PARTS}) for g in GROUPS}
    syncs = {TopicPartition("orders", p): [OffsetSync("orders", p, 100, 90)] for p in PARTS}
    cps: dict[str, dict[TopicPartition, StampedCheckpoint]] = {}
    pairs = [(g, p) for g in GROUPS for p in PARTS][:13]
    for g, p in pairs:
        tp = TopicPartition("primary.orders", p)
        cps.setdefault(g, {})[tp] = StampedCheckpoint(Checkpoint(g, tp.topic, p, 120, 110, ""),
                                                      1_000, 1)
    ranges = {TopicPartition("primary.orders", p): (0, 500) for p in PARTS}
    return build_plan("primary", "backup", cps, {}, ranges, Naming(), PlanOptions(now_ms=61_000),
                      source_groups=src, offset_syncs=syncs)


def test_table_counts_skips_per_reason_with_what_to_do() -> None:
    plan = old_positions_plan()
    assert sum(p.action == "skip" for g in plan.groups for p in g.partitions) == 51
    text = plan_table(plan)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "Skipped 51 of 64 partitions (nothing committed for them):" in lines
    assert re.search(r"^ +51  source commit older than oldest offset-sync$", text, re.M)
    hint = " ".join(text.split("source commit older than oldest offset-sync", 1)[1].split())
    assert hint.startswith("→ MM2 cannot translate positions that old; choose --untranslated "
                           "earliest|latest or commit by hand")
    # Per group: how many partitions were skipped, and why.
    rows = {line.split()[0]: line for line in lines if line.startswith("payments-consumer-")}
    assert set(rows) == set(GROUPS)
    assert "8 skip: old offset-sync" in rows["payments-consumer-7"]
    assert "3 skip: old offset-sync" in rows["payments-consumer-1"]  # 5 of its 8 committed
    assert "skip" not in rows["payments-consumer-0"]  # all 8 committed


def test_several_reasons_are_counted_apart_worst_first() -> None:
    plan = old_positions_plan()
    text = "\n".join(skip_summary(plan))
    assert text.count("→") == 1  # one reason here
    mixed = [f"no checkpoint: {NO_CHECKPOINT_YET}; policy skip: nothing committed",
             f"no checkpoint: no offset-sync yet for orders-1; {MISSING_ON_STANDBY}",
             "not committed: group is active on backup; would advance 1 -> translated 5",
             "something a future planner says"]
    assert [skip_reason(r).short for r in mixed] == [
        "no checkpoint yet", "not on standby", "active on standby", "other"]
    assert skip_reason(mixed[-1]) is OTHER_REASON


def test_every_reason_renders_within_100_columns() -> None:
    for r in [*SKIP_REASONS, OTHER_REASON]:
        assert len(r.label) <= 60 and len(r.short) <= 17
        assert len(f"26 skip: {r.short}") <= 26
        for flag in re.findall(r"--[a-z-]+", r.hint):
            assert flag in ("--untranslated", "--output")
