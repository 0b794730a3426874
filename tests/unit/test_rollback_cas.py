"""The rollback compare-and-swap rule, as pure decisions: snapshot, what the run wrote, now."""

from __future__ import annotations

from drkit.dns.base import RecordSet
from drkit.dns.flip import decide_record
from drkit.mm2.model import TopicPartition
from drkit.runbook.rollback import decide_group

T0, T1, T2 = (TopicPartition("orders", p) for p in range(3))


def _actions(decision):  # type: ignore[no-untyped-def]
    return {p.tp.partition: p.action for p in decision.partitions}


def test_restores_only_partitions_still_as_the_run_wrote_them() -> None:
    before = {T0: 5, T1: 5, T2: 5}
    written = {T0: 30, T1: 30, T2: 30}
    now = {T0: 150, T1: 30, T2: 300}  # consumers committed progress on 0 and 2
    d = decide_group("g", before, written, now, "RUN-A")
    assert _actions(d) == {0: "left alone", 1: "restore", 2: "left alone"}
    assert d.action == "restore"
    assert [p.restore_to for p in d.changing()] == [5]
    left = [p for p in d.partitions if p.action == "left alone"]
    assert all(p.why == "changed since run RUN-A; left alone" for p in left)
    assert [(p.now, p.written) for p in left] == [(150, 30), (300, 30)]


def test_already_restored_is_a_no_op() -> None:
    d = decide_group("g", {T0: 5}, {T0: 30}, {T0: 5}, "RUN-A")
    assert _actions(d) == {0: "already"} and d.action == "none" and not d.changing()


def test_a_created_group_is_deleted_only_if_every_partition_is_as_written() -> None:
    written = {T0: 30, T1: 40}
    assert decide_group("g", {}, written, {T0: 30, T1: 40}, "A").action == "delete"
    # one partition moved on: the whole group is kept, nothing is deleted
    kept = decide_group("g", {}, written, {T0: 30, T1: 41}, "A")
    assert kept.action == "none" and _actions(kept) == {0: "left alone", 1: "left alone"}
    assert "group kept" in kept.partitions[0].why
    # a partition the run never wrote was committed since: kept too
    extra = decide_group("g", {}, written, {T0: 30, T1: 40, T2: 1}, "A")
    assert extra.action == "none" and "never wrote" in extra.partitions[0].why
    # already gone (deleted by an earlier rollback): nothing to do
    assert decide_group("g", {}, written, {}, "A").action == "none"


def test_a_partition_added_to_a_kept_group_cannot_be_removed() -> None:
    d = decide_group("g", {T0: 5}, {T0: 30, T1: 40}, {T0: 30, T1: 40}, "A")
    assert _actions(d) == {0: "restore", 1: "cannot remove"}
    assert "--delete-offsets" in d.partitions[1].why


def test_a_later_run_that_wrote_the_same_values_keeps_them() -> None:
    d = decide_group("g", {T0: 5}, {T0: 30}, {T0: 30}, "A", later_run="B")
    assert _actions(d) == {0: "left alone"} and d.action == "none"
    assert d.partitions[0].why == "run B failed over this group later; left alone"
    assert decide_group("g", {}, {T0: 30}, {T0: 30}, "A", later_run="B").action == "none"


def test_a_value_equal_before_and_after_is_never_touched() -> None:
    d = decide_group("g", {T0: 30}, {T0: 30}, {T0: 30}, "A")
    assert _actions(d) == {0: "already"}


def _rs(value: str) -> RecordSet:
    return RecordSet("kafka.example.test.", "CNAME", 60, (value,))


def test_dns_record_compare_and_swap() -> None:
    before, after = _rs("kafka-primary."), _rs("kafka-backup.")
    assert decide_record("r", before, after, after, "A").action == "restore"
    assert decide_record("r", before, after, before, "A").action == "already"
    moved = decide_record("r", before, after, _rs("elsewhere."), "A")
    assert moved.action == "left alone" and moved.why.startswith("changed since run A; left")
    assert decide_record("r", before, after, None, "A").action == "left alone"
    assert decide_record("r", None, after, after, "A").action == "left alone"
    later = decide_record("r", before, after, after, "A", later_run="B")
    assert later.action == "left alone" and "run B" in later.why
