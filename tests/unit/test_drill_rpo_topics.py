"""The drill's RPO table covers data topics only, never MM2's own (issue 10)."""

from __future__ import annotations

from pathlib import Path

from drkit.mm2.policy import ReplicationPolicy
from drkit.runbook.steps.drill import rpo_topics
from tests.helpers import offline_settings

STANDBY = ["primary.orders", "primary.payments", "primary.heartbeats", "heartbeats",
           "primary.checkpoints.internal", "mm2-offset-syncs.primary.internal",
           "local-only", "other.orders"]


def _policy(tmp_path: Path) -> ReplicationPolicy:
    policy: ReplicationPolicy = offline_settings(tmp_path).flow("primary", "backup").policy()
    return policy


def test_every_mirrored_topic_but_mm2_heartbeats_and_internals(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    got = rpo_topics(set(), STANDBY, policy, "primary", every=True)
    assert got == ["primary.orders", "primary.payments"]


def test_a_planned_heartbeats_topic_is_left_out_too(tmp_path: Path) -> None:
    """A group reading the heartbeats (e.g. a monitor) is planned, but its topic has no RPO."""
    policy = _policy(tmp_path)
    got = rpo_topics({"primary.heartbeats", "primary.orders"}, STANDBY, policy, "primary",
                     every=False)
    assert got == ["primary.orders"]
