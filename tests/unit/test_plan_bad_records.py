"""Issue 17 item 6 (planner): malformed checkpoint records make exactly what they name
untranslatable, never filled by the untranslated policy; others go on."""

from __future__ import annotations

import re

import pytest

from drkit.kafka.groups import SourceGroup, TargetGroup
from drkit.mm2.model import Checkpoint, StampedCheckpoint, TopicPartition
from drkit.mm2.reader import BadRecord
from drkit.offsets.checkpoint_planner import build_plan
from drkit.offsets.inputs import PlanOptions
from drkit.offsets.plan import OffsetPlan
from drkit.offsets.render import plan_json, plan_table

NOW = 1_700_000_000_000
TOPIC = "primary.checkpoints.internal"
O0 = TopicPartition("primary.orders", 0)
O1 = TopicPartition("primary.orders", 1)
RANGES = {O0: (0, 1000), O1: (0, 800)}


class Flow:
    def to_target_topic(self, source_topic: str) -> str:
        return f"primary.{source_topic}"

    def group_exclusion_reason(self, group: str) -> str | None:
        return "groups.exclude connect-.*" if re.fullmatch("connect-.*", group) else None

    def topic_included(self, source_topic: str) -> bool:
        return True


def cp(group: str, tp: TopicPartition, up: int, down: int) -> StampedCheckpoint:
    return StampedCheckpoint(Checkpoint(group, tp.topic, tp.partition, up, down, ""),
                             NOW - 5000, 3)


def bad_part(group: str, tp: TopicPartition, offset: int = 41) -> BadRecord:
    return BadRecord("checkpoint", TOPIC, 0, offset, "00ab01", 40,
                     "unknown checkpoint value version 7", (group, tp.topic, tp.partition))


def bad_group(group: str, offset: int = 42) -> BadRecord:
    return BadRecord("checkpoint", TOPIC, 0, offset, "00ab", 9, "key too short for partition",
                     (group,))


def bad_unknown(offset: int = 43) -> BadRecord:
    return BadRecord("checkpoint", TOPIC, 0, offset, "ff", 1, "key too short for group", ())


def plan(bad: list[BadRecord], policy: str = "skip", targets: tuple[TargetGroup, ...] = (),
         sources: tuple[SourceGroup, ...] | None = None) -> OffsetPlan:
    checkpoints = {"good": {O0: cp("good", O0, 10, 110), O1: cp("good", O1, 5, 105)},
                   "half": {O0: cp("half", O0, 10, 120)},
                   "whole": {O0: cp("whole", O0, 10, 130)}}
    return build_plan("primary", "backup", checkpoints, {t.group: t for t in targets}, RANGES,
                      Flow(), PlanOptions(now_ms=NOW, untranslated=policy),  # type: ignore[arg-type]
                      source_groups=None if sources is None else {s.group: s for s in sources},
                      bad_records=bad)


@pytest.mark.parametrize("policy", ["skip", "earliest", "latest"])
def test_bad_partition_is_skipped_never_filled_others_commit(policy: str) -> None:
    p = plan([bad_part("half", O1)], policy)
    groups = {g.group: g for g in p.groups}
    assert groups["good"].commit_offsets == {O0: 110, O1: 105}
    half = groups["half"]
    assert half.commit_offsets == {O0: 120}  # its good partition still commits
    broken = next(x for x in half.partitions if x.topic_partition == O1)
    assert broken.action == "skip" and broken.new_offset is None
    assert "checkpoint record at offset 41" in broken.reason and "00ab01" in broken.reason
    assert "unknown checkpoint value version 7" in broken.reason
    assert "malformed" in half.reason
    assert p.stats.untranslated_partitions == 1 and p.stats.bad_records == 1


def test_bad_partition_with_a_standby_commit_is_not_kept_as_settled() -> None:
    p = plan([bad_part("half", O1)], "latest", targets=(TargetGroup("half", "Empty", 0, {O1: 3}),))
    broken = next(x for g in p.groups if g.group == "half" for x in g.partitions
                  if x.topic_partition == O1)
    assert broken.action == "skip" and "untranslatable" in broken.reason


def test_group_only_bad_record_blocks_that_whole_group_only() -> None:
    p = plan([bad_group("whole")], "earliest")
    groups = {g.group: g for g in p.groups}
    assert groups["whole"].verdict == "untranslated"
    assert groups["whole"].commit_offsets == {}
    assert "offset 42" in groups["whole"].reason and "key too short" in groups["whole"].reason
    assert all(not x.translated for x in groups["whole"].partitions)
    assert groups["good"].verdict == "commit" and groups["half"].verdict == "commit"
    assert dict(p.commits())["good"] == {O0: 110, O1: 105}


def test_group_known_only_from_a_bad_record_is_planned_untranslated() -> None:
    p = plan([bad_group("ghost")])
    ghost = next(g for g in p.groups if g.group == "ghost")
    assert ghost.verdict == "untranslated" and ghost.partitions == ()
    assert "offset 42" in ghost.reason


def test_unknown_group_record_is_listed_and_blocks_nothing() -> None:
    p = plan([bad_unknown()])
    assert [g.verdict for g in p.groups] == ["commit", "commit", "commit"]
    assert [b.offset for b in p.unattributed_bad_records] == [43]
    table = plan_table(p)
    assert "of no known group" in table and "offset 43" in table


def test_bad_records_are_in_json_digest_and_survive_the_journal() -> None:
    p = plan([bad_part("half", O1), bad_unknown()])
    clean = plan([])
    assert p.digest() != clean.digest()
    data = plan_json(p)
    assert [b["offset"] for b in data["plan"]["bad_records"]] == [41, 43]
    assert data["stats"]["bad_records"] == 2
    again = OffsetPlan.from_dict(p.to_dict())
    assert again == p and again.digest() == p.digest()
    old = p.to_dict()
    del old["bad_records"]  # a journal written before this field existed
    assert OffsetPlan.from_dict(old).bad_records == ()


def test_hostile_text_in_a_bad_record_renders_safely() -> None:
    evil = BadRecord("checkpoint", TOPIC, 0, 9, "1b", 4, "bad", ("g\x1b[2Jx", "t\nforged", 0))
    table = plan_table(plan([evil]))
    assert "\x1b" not in table
    assert "g\\x1b[2Jx" in table
