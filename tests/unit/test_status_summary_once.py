"""``drkit status`` says each phrase once (issue 16 §4): several groups with the same finding
share one headline, and an unreachable cluster's message names its address once before the
cause (it used to say "unreachable: cannot reach primary (p1:9092): …" again)."""

from __future__ import annotations

from drkit.status.evaluate import evaluate
from drkit.status.model import ClusterFacts
from drkit.status.render import summary, table
from tests.unit.test_status_pure import T, facts, flow, group


def test_groups_with_the_same_finding_share_one_headline() -> None:
    f = facts(flows=[flow(groups=[group("billing", ready=False, reason="x"),
                                  group("audit", ready=False, reason="y")])])
    line = summary(f, evaluate(f, T))
    assert line.count("not ready for a failover") == 1, line
    assert "groups audit, billing not ready for a failover" in line or \
        "groups billing, audit not ready for a failover" in line


def test_unreachable_cluster_says_cannot_reach_once() -> None:
    down = [ClusterFacts("primary", "p1:9092", False,
                         "cannot reach primary (p1:9092): p1:9092: Connection refused"),
            ClusterFacts("backup", "b1:9092", True, None)]
    f = facts(clusters=down)
    text = table(f, evaluate(f, T))
    assert "cannot reach primary (p1:9092)" not in text
    assert "cluster primary (p1:9092) unreachable: p1:9092: Connection refused" in " ".join(
        text.split())
