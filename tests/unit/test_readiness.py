"""The one readiness rule (drkit.offsets.readiness) shared by status, plan and preflight."""

from __future__ import annotations

import pytest

from drkit import clock
from drkit.errors import ConfigError
from drkit.offsets.readiness import ReadinessFacts, ReadinessLimits, judge, limits_from

NOW = 1_700_000_000_000
MIN = 60_000
LIMITS = ReadinessLimits(max_checkpoint_age_s=300, max_heartbeat_age_s=30)


def facts(up: bool, cp_ago_ms: int | None, hb_ago_ms: int | None, groups: int = 3
          ) -> ReadinessFacts:
    return ReadinessFacts("primary", "backup", NOW, up, "primary.checkpoints.internal", groups,
                          None if cp_ago_ms is None else NOW - cp_ago_ms,
                          "primary.heartbeats", None if hb_ago_ms is None else NOW - hb_ago_ms)


def test_unplanned_an_hour_after_the_outage_is_ready_and_reports_the_outage_age() -> None:
    # MM2 checkpointed 1 min before the primary died; the decision comes 60 min later.
    r = judge(facts(False, 61 * MIN, 60 * MIN), LIMITS)
    assert r.ready and not r.refusals
    assert r.checkpoint_age_s == 60  # at the moment replication stopped
    assert r.outage_age_s == 3600 and r.replication_stopped_ms == NOW - 60 * MIN
    assert r.reference_ms == NOW - 60 * MIN
    assert "replication stopped 3600 s (60 min) ago" in r.summary()


def test_unplanned_with_checkpoints_already_stale_when_replication_stopped_is_refused() -> None:
    r = judge(facts(False, 80 * MIN, 60 * MIN), LIMITS)
    assert not r.ready
    assert "when replication stopped" in r.refusals[0]
    assert "--max-checkpoint-age 1201" in r.refusals[0]
    assert judge(facts(False, 80 * MIN, 60 * MIN),
                 ReadinessLimits(max_checkpoint_age_s=1201)).ready


def test_planned_judges_against_the_clock_and_names_the_flag_that_works() -> None:
    r = judge(facts(True, 60 * MIN, 1_000), LIMITS)
    assert not r.ready and len(r.refusals) == 1
    assert "--max-checkpoint-age 3601" in r.refusals[0]
    assert judge(facts(True, 60 * MIN, 1_000),
                 limits_from({"max_checkpoint_age": 300.0, "max_heartbeat_age": 30.0},
                             {"max_checkpoint_age": 3601})).ready


def test_stale_heartbeat_refuses_only_with_the_source_up_or_strict() -> None:
    up = judge(facts(True, 1_000, 120_000), LIMITS)
    assert not up.ready and "--max-heartbeat-age 121" in up.refusals[0]
    assert judge(facts(True, 1_000, 120_000),
                 limits_from({"max_heartbeat_age": 30.0}, {"max_heartbeat_age": 121})).ready
    assert judge(facts(False, 1_000, 120_000), LIMITS).ready
    strict = ReadinessLimits(max_checkpoint_age_s=300, max_heartbeat_age_s=30, strict=True)
    assert not judge(facts(False, 1_000, 120_000), strict).ready


def test_no_checkpointed_group_is_said_plainly_not_as_an_age() -> None:
    r = judge(facts(False, None, 60 * MIN, groups=0), LIMITS)
    assert r.ready and r.no_groups
    assert any("no consumer group has an MM2 checkpoint" in n for n in r.notes)
    assert "never" not in " ".join(r.notes + r.refusals)
    assert r.summary().startswith("ready: no group checkpointed")


def test_unknown_stop_time_judges_at_the_newest_checkpoint() -> None:
    r = judge(facts(False, 60 * MIN, None), LIMITS)
    assert r.ready and r.outage_age_s is None and r.checkpoint_age_s == 0
    assert any("unknown" in n for n in r.notes)


def test_the_test_clock_only_moves_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.ENV, raising=False)
    assert clock.override_note() is None
    ahead = clock.now_ms() + 3_600_000
    monkeypatch.setenv(clock.ENV, str(ahead))
    assert clock.now_ms() == ahead
    assert "ahead of the real clock" in (clock.override_note() or "")
    monkeypatch.setenv(clock.ENV, str(ahead - 7_200_000))
    with pytest.raises(ConfigError, match="only move drkit's clock forward"):
        clock.now_ms()
    monkeypatch.setenv(clock.ENV, "soon")
    with pytest.raises(ConfigError, match="not a whole number"):
        clock.now_ms()
