"""Offset translation plan: every rule of mm2-reference §3-§5/§7 with plain values."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drkit.errors import ConfigError, DrkitError, UnsafeError
from drkit.kafka.groups import SourceGroup, TargetGroup
from drkit.mm2.model import Checkpoint, OffsetSync, StampedCheckpoint, TopicPartition
from drkit.offsets.checkpoint_planner import MISSING_ON_STANDBY, NO_CHECKPOINT_YET, build_plan
from drkit.offsets.inputs import PlanOptions
from drkit.offsets.plan import GroupPlan, OffsetPlan, PartitionPlan, SafetyThresholds

NOW = 1_700_000_000_000
O0 = TopicPartition("primary.orders", 0)
O1 = TopicPartition("primary.orders", 1)
P0 = TopicPartition("primary.payments", 0)
SRC_O0 = TopicPartition("orders", 0)
RANGES = {O0: (0, 1000), O1: (0, 800), P0: (10, 100)}


class Flow:
    """Fake FlowView: DefaultReplicationPolicy with alias ``primary``, MM2's default filters."""

    def __init__(self, excluded_topics: Iterable[str] = ()) -> None:
        self.excluded_topics = set(excluded_topics)

    def to_target_topic(self, source_topic: str) -> str:
        return f"primary.{source_topic}"

    def group_exclusion_reason(self, group: str) -> str | None:
        for pattern in ("console-consumer-.*", "connect-.*", "__.*"):
            if re.fullmatch(pattern, group):
                return f"groups.exclude {pattern}"
        return None

    def topic_included(self, source_topic: str) -> bool:
        return source_topic not in self.excluded_topics


def cp(group: str, tp: TopicPartition, up: int, down: int, age_s: int = 10) -> StampedCheckpoint:
    return StampedCheckpoint(Checkpoint(group, tp.topic, tp.partition, up, down, "m"),
                             NOW - age_s * 1000, 7)


def cps(*items: StampedCheckpoint) -> dict[str, dict[TopicPartition, StampedCheckpoint]]:
    out: dict[str, dict[TopicPartition, StampedCheckpoint]] = {}
    for item in items:
        out.setdefault(item.checkpoint.group, {})[item.checkpoint.topic_partition] = item
    return out


def empty(group: str, committed: Mapping[TopicPartition, int]) -> TargetGroup:
    return TargetGroup(group, "Empty", 0, dict(committed))


def sync(tp: TopicPartition, up: int, down: int) -> OffsetSync:
    return OffsetSync(tp.topic, tp.partition, up, down)


def make(
    checkpoints: Mapping[str, Mapping[TopicPartition, StampedCheckpoint]] | None = None,
    targets: Iterable[TargetGroup] = (),
    ranges: Mapping[TopicPartition, tuple[int, int]] = RANGES,
    *,
    naming: Flow | None = None,
    source_groups: Iterable[SourceGroup] | None = None,
    offset_syncs: Mapping[TopicPartition, Sequence[OffsetSync]] | None = None,
    inventory_age_s: float | None = None,
    **options: Any,
) -> OffsetPlan:
    return build_plan(
        "primary", "backup", checkpoints or {}, {t.group: t for t in targets}, ranges,
        naming or Flow(), PlanOptions(now_ms=NOW, **options),
        source_groups=None if source_groups is None else {s.group: s for s in source_groups},
        offset_syncs=offset_syncs, inventory_age_s=inventory_age_s)


def group(plan: OffsetPlan, name: str) -> GroupPlan:
    (found,) = [g for g in plan.groups if g.group == name]
    return found


def part(plan: OffsetPlan, name: str, tp: TopicPartition) -> PartitionPlan:
    (found,) = [p for p in group(plan, name).partitions if p.topic_partition == tp]
    return found


# --- rule 1: never write to an active group -----------------------------------------------------

def test_group_with_members_is_refused_whole() -> None:
    plan = make(cps(cp("g1", O0, 100, 90), cp("g1", O1, 50, 40)),
                [TargetGroup("g1", "Stable", 2, {})])
    g1 = group(plan, "g1")
    assert g1.verdict == "refused"
    assert "2 member(s)" in g1.reason and "Stable" in g1.reason
    assert "stop its consumers on backup first" in g1.reason
    assert all(p.action != "commit" for p in g1.partitions)
    assert "group is active on backup" in g1.partitions[0].reason
    assert list(plan.commits()) == []
    assert plan.has_refusals and [g.group for g in plan.refused_groups] == ["g1"]
    assert g1.target_state == "Stable" and g1.member_count == 2


@pytest.mark.parametrize(
    ("state", "members", "verdict"),
    [("Empty", 0, "commit"), ("EMPTY", 0, "commit"), ("Dead", 0, "commit"),
     ("Stable", 0, "refused"), ("PreparingRebalance", 0, "refused"),
     ("CompletingRebalance", 0, "refused"), ("Unknown", 0, "refused"), ("Empty", 1, "refused")],
)
def test_refusal_depends_on_state_and_members(state: str, members: int, verdict: str) -> None:
    plan = make(cps(cp("g1", O0, 100, 90)), [TargetGroup("g1", state, members, {})])
    assert group(plan, "g1").verdict == verdict


def test_absent_group_is_committed() -> None:
    plan = make(cps(cp("g1", O0, 100, 90)))
    assert group(plan, "g1").target_state is None
    assert dict(plan.commits()) == {"g1": {O0: 90}}


def test_refused_group_gets_no_untranslated_policy_commit_either() -> None:
    plan = make(None, [TargetGroup("g1", "Stable", 1, {})],
                source_groups=[SourceGroup("g1", {SRC_O0: 5})], untranslated="earliest")
    assert group(plan, "g1").verdict == "refused"
    assert list(plan.commits()) == []


def test_refusals_alone_do_not_make_the_plan_unsafe() -> None:
    plan = make(cps(cp("g1", O0, 100, 90)), [TargetGroup("g1", "Stable", 3, {})])
    plan.raise_if_unsafe(SafetyThresholds())


# --- rule 2: keep, advance, rewind -----------------------------------------------------------

def test_no_standby_commit_commits_the_checkpoint() -> None:
    p = part(make(cps(cp("g1", O0, 100, 90))), "g1", O0)
    assert (p.action, p.new_offset, p.current) == ("commit", 90, None)
    assert "no commit on standby" in p.reason
    assert (p.checkpoint_upstream, p.checkpoint_downstream, p.checkpoint_metadata) == (100, 90, "m")


def test_standby_behind_is_advanced() -> None:
    p = part(make(cps(cp("g1", O0, 100, 90)), [empty("g1", {O0: 50})]), "g1", O0)
    assert (p.action, p.new_offset, p.current) == ("commit", 90, 50)
    assert "advance 50" in p.reason


def test_standby_ahead_is_kept() -> None:
    plan = make(cps(cp("g1", O0, 500, 420)), [empty("g1", {O0: 500})])
    p = part(plan, "g1", O0)
    assert p.action == "keep"
    assert p.reason == "standby already at 500 ≥ translated 420"
    assert group(plan, "g1").verdict == "nothing-to-do"
    assert list(plan.commits()) == []


def test_standby_ahead_is_rewound_only_with_allow_rewind() -> None:
    plan = make(cps(cp("g1", O0, 500, 420)), [empty("g1", {O0: 500})], allow_rewind=True)
    p = part(plan, "g1", O0)
    assert (p.action, p.new_offset, p.rewind) == ("commit", 420, True)
    assert "rewind" in p.reason
    assert plan.stats.rewinds == 1


def test_equal_is_kept_even_with_allow_rewind() -> None:
    p = part(make(cps(cp("g1", O0, 500, 420)), [empty("g1", {O0: 420})], allow_rewind=True),
             "g1", O0)
    assert p.action == "keep" and not p.rewind


# --- rule 3: clamp to the standby log -------------------------------------------------------

def test_checkpoint_beyond_log_end_is_clamped() -> None:
    p = part(make(cps(cp("g1", O1, 1000, 900))), "g1", O1)
    assert (p.action, p.new_offset, p.clamped) == ("commit", 800, True)
    assert "checkpoint 900 beyond log end 800 of primary.orders-1: clamped" in p.reason
    assert (p.log_start, p.log_end) == (0, 800)


def test_checkpoint_below_log_start_is_clamped() -> None:
    p = part(make(cps(cp("g1", P0, 10, 5))), "g1", P0)
    assert (p.action, p.new_offset, p.clamped) == ("commit", 10, True)
    assert "checkpoint 5 below log start 10 of primary.payments-0: clamped" in p.reason


def test_clamped_but_kept_is_flagged_and_not_a_clamped_commit() -> None:
    plan = make(cps(cp("g1", O1, 1000, 900)), [empty("g1", {O1: 800})])
    p = part(plan, "g1", O1)
    assert (p.action, p.clamped) == ("keep", True)
    assert plan.stats.clamped_commits == 0


def test_partition_missing_on_standby_is_skipped() -> None:
    plan = make(cps(cp("g1", O0, 100, 90), cp("g1", TopicPartition("primary.orders", 7), 5, 5)))
    p = part(plan, "g1", TopicPartition("primary.orders", 7))
    assert (p.action, p.new_offset, p.reason) == ("skip", None, MISSING_ON_STANDBY)
    assert (p.expected_duplicates, p.duplicates_basis) == (None, "none")
    assert dict(plan.commits()) == {"g1": {O0: 90}}


# --- rule 4: untranslated reasons, in precedence order ---------------------------------------

def _why(plan: OffsetPlan, name: str, tp: TopicPartition) -> str:
    p = part(plan, name, tp)
    assert p.action == "skip" and not p.translated
    return p.reason


def test_reason_group_excluded_by_mm2_filter() -> None:
    plan = make(None, naming=Flow(excluded_topics={"orders"}),
                source_groups=[SourceGroup("connect-sink", {SRC_O0: 5})])
    assert group(plan, "connect-sink").verdict == "untranslated"
    assert ("group excluded by MM2's group filter (groups.exclude connect-.*)"
            in _why(plan, "connect-sink", O0))  # wins over the topic filter


def test_reason_topic_not_replicated() -> None:
    plan = make(None, naming=Flow(excluded_topics={"audit"}),
                source_groups=[SourceGroup("g1", {TopicPartition("audit", 0): 5})])
    why = _why(plan, "g1", TopicPartition("primary.audit", 0))
    assert "topic audit not replicated" in why and MISSING_ON_STANDBY in why


def test_reason_group_never_committed_on_source() -> None:
    plan = make(None, source_groups=[SourceGroup("g1", {})])
    g1 = group(plan, "g1")
    assert (g1.verdict, g1.partitions) == ("untranslated", ())
    assert "group never committed on the source" in g1.reason


def test_reason_partition_never_committed_on_source() -> None:
    plan = make(cps(cp("g1", O0, 100, 90)), [empty("g1", {O1: 3})],
                source_groups=[SourceGroup("g1", {SRC_O0: 100})])
    assert "group never committed orders-1 on the source" in _why(plan, "g1", O1)
    assert group(plan, "g1").verdict == "commit"


def test_reason_group_not_in_source_inventory() -> None:
    plan = make(None, [empty("g1", {O0: 3})], source_groups=[], inventory_age_s=30)
    assert "group not in the source inventory (no commits on primary; 30s old)" in _why(
        plan, "g1", O0)


def test_reason_no_offset_sync_yet() -> None:
    plan = make(None, source_groups=[SourceGroup("g1", {SRC_O0: 5})],
                offset_syncs={TopicPartition("orders", 1): [sync(TopicPartition("orders", 1),
                                                                 1, 1)]})
    assert "no offset-sync yet for orders-0" in _why(plan, "g1", O0)


def test_reason_source_commit_older_than_oldest_sync() -> None:
    plan = make(None, source_groups=[SourceGroup("g1", {SRC_O0: 5})],
                offset_syncs={SRC_O0: [sync(SRC_O0, 50, 40), sync(SRC_O0, 90, 80)]})
    assert ("source commit 5 older than the oldest retained offset-sync (upstream 50) of orders-0"
            in _why(plan, "g1", O0))


def test_reason_no_checkpoint_yet() -> None:
    plan = make(None, source_groups=[SourceGroup("g1", {SRC_O0: 60})],
                offset_syncs={SRC_O0: [sync(SRC_O0, 50, 40)]})
    why = _why(plan, "g1", O0)
    assert NO_CHECKPOINT_YET in why and "inventory unavailable" not in why


def test_reason_inventory_unavailable() -> None:
    plan = make(None, [empty("g1", {O0: 3})])
    assert not plan.source_inventory_known
    why = _why(plan, "g1", O0)
    assert NO_CHECKPOINT_YET in why and "source group inventory unavailable" in why


def test_standby_commits_outside_mirrored_partitions_are_ignored() -> None:
    plan = make(None, [empty("local-app", {TopicPartition("orders", 0): 3})])
    assert plan.groups == ()


# --- rule 4: untranslated policies -------------------------------------------------------------

def test_policy_skip_commits_nothing() -> None:
    plan = make(None, source_groups=[SourceGroup("g1", {TopicPartition("payments", 0): 77})])
    p = part(plan, "g1", P0)
    assert (p.action, p.new_offset) == ("skip", None)
    assert "policy skip" in p.reason
    assert list(plan.commits()) == []


@pytest.mark.parametrize(("policy", "offset"), [("earliest", 10), ("latest", 100)])
def test_policy_earliest_latest_use_the_standby_log_never_source_offsets(
    policy: str, offset: int
) -> None:
    plan = make(None, source_groups=[SourceGroup("g1", {TopicPartition("payments", 0): 77})],
                untranslated=policy)
    p = part(plan, "g1", P0)
    assert (p.action, p.new_offset, p.expected_duplicates) == ("commit", offset, None)
    assert group(plan, "g1").verdict == "untranslated"
    assert dict(plan.commits()) == {"g1": {P0: offset}}


def test_policy_does_not_override_an_existing_standby_commit() -> None:
    plan = make(None, [empty("g1", {P0: 50})], untranslated="latest")
    p = part(plan, "g1", P0)
    assert (p.action, p.current) == ("keep", 50)
    assert "standby commit 50 kept" in p.reason


def test_policy_cannot_commit_a_missing_partition() -> None:
    plan = make(None, source_groups=[SourceGroup("g1", {TopicPartition("gone", 0): 5})],
                untranslated="earliest")
    assert part(plan, "g1", TopicPartition("primary.gone", 0)).action == "skip"


# --- rule 5: filters --------------------------------------------------------------------------

def test_group_regex_full_matches_and_counts_filtered() -> None:
    plan = make(cps(cp("app", O0, 1, 1), cp("app-2", O0, 1, 1), cp("my-app", O0, 1, 1)),
                group_regex="app")
    assert [g.group for g in plan.groups] == ["app"]
    assert plan.filtered_groups == 2 and plan.stats.filtered_groups == 2


def test_topic_regex_matches_target_names_and_drops_empty_groups() -> None:
    plan = make(cps(cp("g1", O0, 1, 1), cp("g1", P0, 20, 20), cp("g2", P0, 20, 20)),
                topic_regex=r"primary\.orders")
    assert [g.group for g in plan.groups] == ["g1"]
    assert [p.topic_partition for p in group(plan, "g1").partitions] == [O0]
    assert plan.filtered_partitions == 2


@pytest.mark.parametrize("flag", ["group", "topic"])
def test_invalid_regex_is_a_config_error(flag: str) -> None:
    # The CLI's flags are --group and --topic (there is no --group-regex: issue 16 §4).
    with pytest.raises(ConfigError, match=f"--{flag} '\\(' is not a valid regular"):
        if flag == "group":
            PlanOptions(now_ms=NOW, group_regex="(")
        else:
            PlanOptions(now_ms=NOW, topic_regex="(")


def test_invalid_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--untranslated"):
        PlanOptions(now_ms=NOW, untranslated="timestamp")  # type: ignore[arg-type]


# --- rules 6 and 7: expected duplicates and checkpoint age -----------------------------------

def test_duplicates_without_syncs_are_bounded_by_log_end() -> None:
    p = part(make(cps(cp("g1", O0, 500, 420))), "g1", O0)
    assert (p.expected_duplicates, p.duplicates_basis) == (580, "log-end bound")


def test_duplicates_with_syncs_use_nearest_syncs_in_any_order() -> None:
    syncs = [sync(SRC_O0, 300, 270), sync(SRC_O0, 100, 90), sync(SRC_O0, 200, 180)]
    p = part(make(cps(cp("g1", O0, 250, 181)), offset_syncs={SRC_O0: syncs}), "g1", O0)
    # newest below: 180 + (250 - 200) = 230; oldest above: 270; bound 230 - 181
    assert (p.expected_duplicates, p.duplicates_basis) == (49, "offset-syncs")


def test_duplicates_use_the_oldest_sync_above_when_tighter() -> None:
    syncs = [sync(SRC_O0, 100, 90), sync(SRC_O0, 260, 200)]
    p = part(make(cps(cp("g1", O0, 250, 91)), offset_syncs={SRC_O0: syncs}), "g1", O0)
    assert (p.expected_duplicates, p.duplicates_basis) == (109, "offset-syncs")


def test_duplicates_exact_when_a_sync_pins_the_checkpoint() -> None:
    p = part(make(cps(cp("g1", O0, 250, 240)), offset_syncs={SRC_O0: [sync(SRC_O0, 250, 240)]}),
             "g1", O0)
    assert (p.expected_duplicates, p.duplicates_basis) == (0, "exact")


def test_duplicates_of_a_kept_partition_count_from_the_standby_commit() -> None:
    plan = make(cps(cp("g1", O0, 250, 181)), [empty("g1", {O0: 200})],
                offset_syncs={SRC_O0: [sync(SRC_O0, 200, 180)]})
    assert part(plan, "g1", O0).expected_duplicates == 30


def test_group_duplicates_are_the_sum_and_age_is_recorded() -> None:
    plan = make(cps(cp("g1", O0, 500, 900, age_s=120), cp("g1", O1, 10, 700)))
    g1 = group(plan, "g1")
    assert [p.expected_duplicates for p in g1.partitions] == [100, 100]
    assert g1.expected_duplicates == 200 == plan.stats.expected_duplicates
    assert [p.checkpoint_age_s for p in g1.partitions] == [120.0, 10.0]
    assert g1.partitions[0].checkpoint_time_ms == NOW - 120_000


# --- plan value: stats, serialisation, digest ----------------------------------------------------

def _sample() -> OffsetPlan:
    return make(cps(cp("g1", O0, 250, 181), cp("g1", O1, 1000, 900), cp("g2", P0, 20, 30)),
                [empty("g1", {O0: 100}), TargetGroup("g2", "Stable", 1, {})],
                source_groups=[SourceGroup("g3", {SRC_O0: 7}), SourceGroup("g1", {SRC_O0: 250})],
                offset_syncs={SRC_O0: [sync(SRC_O0, 200, 180)]}, inventory_age_s=12.5,
                untranslated="earliest")


def test_stats_count_verdicts_actions_and_filters() -> None:
    stats = _sample().stats
    assert stats.groups_by_verdict == {"commit": 1, "nothing-to-do": 0, "refused": 1,
                                       "untranslated": 1}
    assert stats.partitions_by_action == {"commit": 3, "keep": 0, "skip": 1}
    assert (stats.partitions, stats.untranslated_partitions, stats.clamped_commits) == (4, 1, 1)
    assert stats.to_dict()["translated_groups"] == 2


def test_groups_and_partitions_are_sorted() -> None:
    plan = _sample()
    assert [g.group for g in plan.groups] == ["g1", "g2", "g3"]
    assert [p.topic_partition for p in group(plan, "g1").partitions] == [O0, O1]


def test_json_round_trip_gives_the_same_plan_and_digest() -> None:
    plan = _sample()
    again = OffsetPlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again == plan
    assert again.digest() == plan.digest()
    assert re.fullmatch(r"[0-9a-f]{64}", plan.digest())


def test_digest_is_stable_across_input_order_and_changes_with_content() -> None:
    a = make(cps(cp("g1", O0, 1, 1), cp("g2", O1, 2, 2)))
    b = make(dict(reversed(list(cps(cp("g2", O1, 2, 2), cp("g1", O0, 1, 1)).items()))))
    assert a.digest() == b.digest()
    assert make(cps(cp("g1", O0, 1, 1), cp("g2", O1, 2, 3))).digest() != a.digest()


@pytest.mark.parametrize(
    "damage",
    [lambda d: d.update(format=99), lambda d: d.pop("groups"),
     lambda d: d["groups"][0].update(verdict="maybe"),
     lambda d: d["groups"][0]["partitions"][0].update(action="yolo"),
     lambda d: d["groups"][0]["partitions"][0].update(new_offset=None)],
)
def test_damaged_plan_dict_is_rejected(damage: Any) -> None:
    data = make(cps(cp("g1", O0, 1, 1))).to_dict()
    damage(data)
    with pytest.raises(DrkitError, match="stored offset plan is unreadable"):
        OffsetPlan.from_dict(data)


def _simulate_apply(plan: OffsetPlan, targets: Mapping[str, TargetGroup]) -> list[TargetGroup]:
    out = dict(targets)
    for name, offsets in plan.commits():
        before = out.get(name)
        out[name] = empty(name, {**(before.committed if before else {}), **offsets})
    return list(out.values())


@pytest.mark.parametrize("policy", ["skip", "earliest", "latest"])
def test_replanning_after_apply_commits_nothing(policy: str) -> None:
    checkpoints = cps(cp("g1", O0, 250, 181), cp("g1", O1, 1000, 900), cp("g2", P0, 20, 30))
    sources = [SourceGroup("g3", {TopicPartition("payments", 0): 7})]
    targets = {"g1": empty("g1", {O0: 100})}
    first = make(checkpoints, targets.values(), source_groups=sources, untranslated=policy)
    assert list(first.commits())
    second = make(checkpoints, _simulate_apply(first, targets), source_groups=sources,
                  untranslated=policy)
    assert list(second.commits()) == []
    assert group(second, "g1").verdict == "nothing-to-do"
    assert group(second, "g2").verdict == "nothing-to-do"


# --- safety thresholds ------------------------------------------------------------------------

def test_clamped_commit_is_unsafe_by_default() -> None:
    plan = make(cps(cp("g1", O1, 1000, 900)))
    with pytest.raises(UnsafeError) as err:
        plan.raise_if_unsafe(SafetyThresholds())
    message = str(err.value)
    assert "\n" not in message and err.value.exit_code == 3
    assert "unsafe offset plan primary -> backup" in message
    assert "1 partition(s) would be committed at an offset clamped" in message
    assert "(max 0)" in message and "--max-clamped 1" in message
    plan.raise_if_unsafe(SafetyThresholds(max_clamped_partitions=1))


def test_rewinds_need_allow_rewind_and_respect_an_explicit_cap() -> None:
    rewound = make(cps(cp("g1", O0, 500, 420)), [empty("g1", {O0: 500})], allow_rewind=True)
    rewound.raise_if_unsafe(SafetyThresholds())
    with pytest.raises(UnsafeError, match=r"1 partition\(s\) would be rewound \(max 0\); "
                                          r"the caller's max_rewinds limit allows 0: raise it "
                                          r"to 1") as refused:
        rewound.raise_if_unsafe(SafetyThresholds(max_rewinds=0))
    assert "--max-rewinds" not in str(refused.value)  # no such flag (issue 16 §4)
    tampered = replace(rewound, allow_rewind=False)
    with pytest.raises(UnsafeError, match="pass --allow-rewind"):
        tampered.raise_if_unsafe(SafetyThresholds())


def test_untranslated_fraction_threshold() -> None:
    plan = make(cps(cp("g1", O0, 1, 1)), [empty("g1", {O1: 3})])
    assert plan.safety_violations(SafetyThresholds(max_untranslated_fraction=0.5)) == ()
    with pytest.raises(UnsafeError, match=r"50% of partitions \(1/2\) have no checkpoint "
                                          r"\(max 25%\); pass --max-untranslated 0.5"):
        plan.raise_if_unsafe(SafetyThresholds(max_untranslated_fraction=0.25))


def test_checkpoint_age_threshold_looks_only_at_commits() -> None:
    plan = make(cps(cp("g1", O0, 1, 1, age_s=120), cp("g2", O0, 1, 1, age_s=900)),
                [empty("g2", {O0: 5})])
    with pytest.raises(UnsafeError, match=r"oldest checkpoint to commit is 120s old \(max 60s.*"
                                          r"pass --max-checkpoint-age 120"):
        plan.raise_if_unsafe(SafetyThresholds(max_checkpoint_age_s=60))
    plan.raise_if_unsafe(SafetyThresholds(max_checkpoint_age_s=120))


def test_min_groups_threshold_and_several_violations_on_one_line() -> None:
    plan = make(None, [empty("g1", {O0: 3})])
    with pytest.raises(UnsafeError) as err:
        plan.raise_if_unsafe(SafetyThresholds(min_groups=1, max_untranslated_fraction=0))
    message = str(err.value)
    assert "only 0 group(s) with checkpoints (min 1)" in message and "--min-groups" in message
    assert "have no checkpoint" in message and "\n" not in message


@pytest.mark.parametrize(
    "kwargs", [{"max_clamped_partitions": -1}, {"max_rewinds": -1}, {"min_groups": -2},
               {"max_checkpoint_age_s": -1.0}, {"max_untranslated_fraction": 1.5}])
def test_nonsense_thresholds_are_config_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="safety threshold"):
        SafetyThresholds(**kwargs)


# --- property: whatever the inputs, commits are safe -------------------------------------------

TPS = [TopicPartition(f"primary.{t}", p) for t in ("a", "b") for p in (0, 1)]
STATES = ["Empty", "Dead", "Stable", "PreparingRebalance", "CompletingRebalance", "Unknown"]
offsets = st.integers(min_value=-5, max_value=300)


@st.composite
def _ranges(draw: st.DrawFn) -> dict[TopicPartition, tuple[int, int]]:
    out = {}
    for tp in draw(st.lists(st.sampled_from(TPS), unique=True)):
        start = draw(st.integers(min_value=0, max_value=200))
        out[tp] = (start, start + draw(st.integers(min_value=0, max_value=100)))
    return out


@st.composite
def _groups(draw: st.DrawFn) -> tuple[dict[str, dict[TopicPartition, StampedCheckpoint]],
                                      list[TargetGroup]]:
    checkpoints: dict[str, dict[TopicPartition, StampedCheckpoint]] = {}
    targets = []
    for name in draw(st.lists(st.sampled_from(["g1", "g2", "connect-x"]), unique=True)):
        for tp in draw(st.lists(st.sampled_from(TPS), unique=True)):
            checkpoints.setdefault(name, {})[tp] = cp(name, tp, draw(offsets), draw(offsets))
        if draw(st.booleans()):
            committed = draw(st.dictionaries(st.sampled_from(TPS), offsets))
            targets.append(TargetGroup(name, draw(st.sampled_from(STATES)),
                                       draw(st.integers(0, 2)), committed))
    return checkpoints, targets


@settings(max_examples=300, deadline=None)
@given(groups=_groups(), ranges=_ranges(), allow_rewind=st.booleans(),
       policy=st.sampled_from(["skip", "earliest", "latest"]))
def test_property_commits_stay_in_the_log_never_rewind_never_touch_active_groups(
    groups: tuple[dict[str, dict[TopicPartition, StampedCheckpoint]], list[TargetGroup]],
    ranges: dict[TopicPartition, tuple[int, int]], allow_rewind: bool, policy: str,
) -> None:
    checkpoints, targets = groups
    plan = make(checkpoints, targets, ranges, allow_rewind=allow_rewind, untranslated=policy)
    by_name = {t.group: t for t in targets}
    committed = dict(plan.commits())
    for g in plan.groups:
        tg = by_name.get(g.group)
        active = tg is not None and (tg.member_count > 0 or tg.state not in ("Empty", "Dead"))
        assert (g.verdict == "refused") == active
        if active:
            assert all(p.action != "commit" for p in g.partitions)
            assert g.group not in committed
        for p in g.partitions:
            if p.action != "commit":
                continue
            assert p.new_offset is not None and p.topic_partition in ranges
            start, end = ranges[p.topic_partition]
            assert start <= p.new_offset <= end
            if p.current is not None and not allow_rewind:
                assert p.new_offset > p.current
    assert OffsetPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
