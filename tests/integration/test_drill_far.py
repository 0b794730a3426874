"""A group far past MM2's retained offset-syncs is still verified by content (issue 10).

MM2 translates a group's position to the newest offset-sync at or before it, and keeps fewer
syncs the further back they go: after a burst, a group at 800 may be translated to ~405, far
more than offset.lag.max behind. The drill widens its read windows by the plan's own bound, so
such a partition is verified with the exact count (equal to the bound here), not "unverified".
"""

from __future__ import annotations

import json
import uuid

from drkit.lab.lab import Lab
from drkit.lab.ready import create_topics
from tests.helpers import consume_and_commit, drkit, end_offsets, produce, topic_exists, wait_until
from tests.integration.test_drill import _checkpointed


def test_group_far_ahead_of_its_translation_is_verified(lab: Lab) -> None:
    topic = f"orders.drill-far-{uuid.uuid4().hex[:6]}"
    remote = f"primary.{topic}"
    create_topics(lab.bootstrap("primary"), {topic: 1})
    produce(lab.bootstrap("primary"), topic,
            [(0, f"k{i}".encode(), f"far-{i}".encode()) for i in range(1000)])
    wait_until(lambda: topic_exists(lab.bootstrap("backup"), remote)
               and end_offsets(lab.bootstrap("backup"), remote) == {0: 1000}, 90,
               "1000 records mirrored")
    group = f"far-{uuid.uuid4().hex[:6]}"
    consume_and_commit(lab.bootstrap("primary"), group, topic, {0: 800})
    wait_until(lambda: _checkpointed(lab, {group}, remote), 120, f"checkpoints for {group}")
    res = drkit("drill", "--from", "primary", "--to", "backup", "--group", group, "--topic",
                remote, "-o", "json", config=lab.config_path)
    assert res.returncode == 0, res.stderr + res.stdout
    (check,) = [c for c in json.loads(res.stdout)["partitions"] if c["status"] != "skipped"]
    # far beyond offset.lag.max (100) + the drill's margin (50): the case this test is about
    assert 800 - check["translated"] > 150, check
    assert check["status"] == "verified", check
    # The records between the translated position and 800 are exactly what is seen again.
    assert check["records_again"] == 800 - check["translated"]
    assert check["records_again"] == check["predicted_bound"]
