"""`drkit plan`'s readiness line (issue 16 §2): the verdict of the one readiness rule, as
preflight and `drkit status` judge it, in the plan table — ready with the evidence, or why a
failover now would be refused, naming the flag — within 100 columns."""

from __future__ import annotations

from drkit.offsets.readiness import ReadinessFacts, ReadinessLimits, judge
from drkit.offsets.render import readiness_lines

NOW = 1_700_000_000_000
HOUR = 3_600_000
LIMITS = ReadinessLimits(max_checkpoint_age_s=300, max_heartbeat_age_s=300)


def _judge(up: bool) -> list[str]:
    r = judge(ReadinessFacts("primary", "backup", NOW, up, "primary.checkpoints.internal", 1,
                             NOW - HOUR - 2_000, "primary.heartbeats", NOW - HOUR), LIMITS)
    return readiness_lines(r)


def test_source_up_and_old_checkpoints_would_be_refused_naming_both_flags() -> None:
    lines = _judge(up=True)
    text = " ".join(line.strip() for line in lines)
    assert lines[0].startswith("  readiness: failover would be refused: ")
    assert "--max-checkpoint-age 3603" in text and "--max-heartbeat-age 3601" in text
    assert all(line.startswith("      ") for line in lines[1:])  # one wrapped line
    assert max(len(line) for line in lines) <= 100


def test_source_down_an_hour_ago_is_ready_with_the_outage_as_evidence() -> None:
    lines = _judge(up=False)
    text = " ".join(line.strip() for line in lines)
    assert text.startswith("readiness: ready: 1 group(s) checkpointed, newest checkpoint 2 s old "
                           "when replication stopped")
    assert "replication stopped 3600 s (60 min) ago (RPO evidence)" in text
    assert max(len(line) for line in lines) <= 100
