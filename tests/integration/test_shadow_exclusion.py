"""The failover planner never plans a drill's shadow groups (issue 10), on the real lab.

A drill commits ``drkit-drill.<group>`` groups. Such a group reaches a ``primary -> backup`` plan
when it sits on primary (a drill rehearsing the failback, ``--from backup --to primary``, leaves
its shadows there): the source inventory lists it and MM2 checkpoints it like any other group.
One on backup (a drill of this flow, kept with ``--keep``) must not be planned either.
``gather.without_shadow_groups`` drops them; this test reads the real clusters with the real
``read_plan_data`` and checks that the groups were there to drop.
"""

from __future__ import annotations

import contextlib
import uuid

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException
from confluent_kafka import TopicPartition as KafkaTopicPartition
from confluent_kafka.admin import AdminClient

from drkit.config import load_settings
from drkit.lab.lab import Lab
from tests.helpers import checkpointed, consume_and_commit, mirrored_topic, wait_until

PREFIX = "drkit-drill."


def _commit(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    """Commit ``offsets`` for ``group`` with the admin API (a group without members)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    req = ConsumerGroupTopicPartitions(
        group, [KafkaTopicPartition(topic, p, o) for p, o in sorted(offsets.items())])
    for fut in admin.alter_consumer_group_offsets([req]).values():
        fut.result(timeout=30)


def _delete(bootstrap: str, groups: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for fut in admin.delete_consumer_groups(groups, request_timeout=30).values():
        with contextlib.suppress(KafkaException):  # already gone is fine for a clean-up
            fut.result(timeout=30)


def test_plan_never_contains_a_drill_shadow_group(lab: Lab) -> None:
    from drkit.offsets.gather import plan_from, read_plan_data
    from drkit.offsets.inputs import PlanOptions
    from drkit.offsets.options import now_ms

    primary, backup = lab.bootstrap("primary"), lab.bootstrap("backup")
    topic, remote = mirrored_topic(lab, "shadow", 2, 8)
    tag = uuid.uuid4().hex[:6]
    group = f"shadowed-{tag}"
    shadow = PREFIX + group
    try:
        consume_and_commit(primary, group, topic, {0: 8, 1: 5})
        _commit(primary, shadow, topic, {0: 6, 1: 4})  # as a failback drill leaves it
        _commit(backup, shadow, remote, {0: 3, 1: 2})  # as a kept drill of this flow leaves it
        wait_until(lambda: checkpointed(lab, {group, shadow}) or None, 120,
                   f"MM2 checkpoints of {group} and {shadow}")

        settings = load_settings(lab.config_path)
        options = PlanOptions(group_regex=f".*{tag}", now_ms=now_ms())  # matches both names
        data = read_plan_data(settings, "primary", "backup", options)
        # The shadow group really is in what the planner is handed ...
        assert shadow in data.index.by_group
        assert data.source_groups is not None and shadow in data.source_groups
        plan, _inputs = plan_from(settings, "primary", "backup", options, data)
        planned = {g.group: g for g in plan.groups}
        # ... and the plan has the real group, with its commit, and no shadow group.
        assert group in planned and planned[group].verdict == "commit"
        assert not [g for g in planned if g.startswith(PREFIX)], sorted(planned)
        assert [g for g, _offsets in plan.commits()] == [group]
    finally:
        _delete(primary, [shadow])
        _delete(backup, [shadow])
