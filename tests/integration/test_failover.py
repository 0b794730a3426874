"""Unplanned failover on a real lab: the primary broker is killed, drkit moves the groups.

Each case runs a private lab with a different MM2 naming policy, so the same assertions cover
DefaultReplicationPolicy with '.', with a non-default separator '_', and
IdentityReplicationPolicy.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer

from drkit.config import load_settings
from drkit.lab.lab import Lab
from drkit.mm2.reader import read_checkpoints
from tests.helpers import (
    committed,
    consume_and_commit,
    consume_from_committed,
    drkit,
    end_offsets,
    mirrored_topic,
    produce,
    read_all,
    topic_exists,
    wait_until,
)

PER_PARTITION = 300
PARTS = [0, 1, 2]
PARTLY = {0: 120, 1: 250, 2: 10}
FULLY = dict.fromkeys(PARTS, PER_PARTITION)

CASES = [
    pytest.param({"policy": "default", "separator": "."}, "primary.orders",
                 "primary.checkpoints.internal", id="default-dot"),
    pytest.param({"policy": "default", "separator": "_"}, "primary_orders",
                 "primary_checkpoints_internal", id="default-underscore"),
    pytest.param({"policy": "identity"}, "orders", "primary.checkpoints.internal",
                 id="identity"),
]


class IdleMember:
    """A consumer that joins a group on a cluster and stays in it without committing."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                  "enable.auto.commit": False,
                                  "auto.offset.reset": "latest"})
        self.assigned = threading.Event()
        self.consumer.subscribe([topic], on_assign=lambda c, p: self.assigned.set())

    def join(self) -> None:
        wait_until(lambda: self.consumer.poll(0.2) is None and self.assigned.is_set(), 60,
                   "the consumer to join its group")

    def close(self) -> None:
        self.consumer.close()


def _checkpointed(lab: Lab, topic: str, groups: dict[str, dict[int, int]], remote: str) -> bool:
    settings = load_settings(lab.config_path)
    cfg = settings.cluster("backup").usable_client_config()
    index = read_checkpoints(cfg, topic, "backup", timeout_s=30)
    for group, upto in groups.items():
        got = index.by_group.get(group, {})
        ups = {tp.partition: sc.checkpoint.upstream_offset for tp, sc in got.items()
               if tp.topic == remote}
        if ups != upto:
            return False
    return True


def _group(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in doc["plan"]["groups"] if g["group"] == name)


def _predicted(doc: dict[str, Any], name: str) -> int:
    return sum(p["expected_duplicates"] for p in _group(doc, name)["partitions"]
               if p["action"] == "commit")


@pytest.mark.parametrize(("lab_opts", "remote", "checkpoints_topic"), CASES)
def test_unplanned_failover_loses_nothing(make_lab, lab_opts: dict[str, str], remote: str,  # type: ignore[no-untyped-def]
                                          checkpoints_topic: str) -> None:
    lab: Lab = make_lab(dns=False, **lab_opts)
    primary, backup = lab.bootstrap("primary"), lab.bootstrap("backup")
    records = [(p, f"k{p}-{i}".encode(), str(p * PER_PARTITION + i).encode())
               for p in PARTS for i in range(PER_PARTITION)]
    produce(primary, "orders", records)
    wait_until(lambda: topic_exists(backup, remote)
               and sum(end_offsets(backup, remote).values()) == len(records), 90,
               f"{len(records)} records mirrored into {remote}")
    source_seq = {(m.partition(), m.offset()): int(m.value()) for m in read_all(primary, "orders")}

    consume_and_commit(primary, "partly", "orders", PARTLY)
    consume_and_commit(primary, "fully", "orders", FULLY)
    consume_and_commit(primary, "connect-sink-orders", "orders", dict.fromkeys(PARTS, 100))
    never = IdleMember(primary, "never", "orders")  # a live consumer that has not committed
    never.join()
    wait_until(lambda: _checkpointed(lab, checkpoints_topic, {"partly": PARTLY, "fully": FULLY},
                                     remote), 90, "checkpoints for partly and fully")

    # While the primary is up: the plan may use offset-syncs and saves the group inventory.
    alive = drkit("plan", "--from", "primary", "--to", "backup", "-o", "json",
                  config=lab.config_path)
    assert alive.returncode == 0, alive.stderr
    alive_doc = json.loads(alive.stdout)
    assert alive_doc["inputs"]["source_reachable"] is True
    never.close()

    assert drkit("lab", "stop", "primary", "--kill", "--dir", str(lab.dir)).returncode == 0
    res = drkit("failover", "--from", "primary", "--to", "backup", "--yes", "-o", "json",
                config=lab.config_path)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["inputs"]["source_reachable"] is False
    outcomes = {g["group"]: g["outcome"] for g in doc["apply"]["groups"]}
    assert outcomes == {"partly": "committed", "fully": "committed"}

    # Untranslated groups are reported with their reasons and nothing is committed for them.
    excluded = _group(doc, "connect-sink-orders")
    assert excluded["verdict"] == "untranslated" and "connect-" in excluded["reason"]
    assert "never committed" in _group(doc, "never")["reason"]
    assert committed(backup, "connect-sink-orders", remote, PARTS) == {}
    assert committed(backup, "never", remote, PARTS) == {}

    for group, upto in (("partly", PARTLY), ("fully", FULLY)):
        plan_offsets = {p["partition"]: p["new_offset"] for p in _group(doc, group)["partitions"]
                        if p["action"] == "commit"}
        assert committed(backup, group, remote, PARTS) == plan_offsets
        before = {seq for (p, o), seq in source_seq.items() if o < upto[p]}
        after = [int(m.value()) for m in consume_from_committed(backup, group, remote, PARTS)]
        assert before | set(after) == set(source_seq.values()), f"{group} lost records"
        duplicates = len(before & set(after))
        assert duplicates <= _predicted(doc, group), f"{group}: more duplicates than predicted"
        assert duplicates <= _predicted(alive_doc, group), f"{group}: offset-sync bound broken"
    assert _predicted(doc, "fully") == 0  # the last sync is exact at the end of the log


def test_group_with_active_member_on_standby_is_refused_and_untouched(lab: Lab) -> None:
    topic, remote = mirrored_topic(lab, "active", 2, 5)
    group = f"busy-{uuid.uuid4().hex[:6]}"
    consume_and_commit(lab.bootstrap("primary"), group, topic, {0: 4, 1: 5})
    wait_until(lambda: _checkpointed(lab, "primary.checkpoints.internal",
                                     {group: {0: 4, 1: 5}}, remote), 90, f"checkpoints of {group}")
    member = IdleMember(lab.bootstrap("backup"), group, remote)
    try:
        member.join()
        res = drkit("failover", "--from", "primary", "--to", "backup", "--group", group,
                    "--yes", "-o", "json", config=lab.config_path)
        assert res.returncode == 3, res.stderr
        doc = json.loads(res.stdout)
        g = _group(doc, group)
        assert g["verdict"] == "refused" and g["member_count"] == 1
        assert all(p["action"] != "commit" for p in g["partitions"])
        assert doc["apply"] is None
        assert committed(lab.bootstrap("backup"), group, remote, [0, 1]) == {}
    finally:
        member.close()


def test_failover_table_output_and_next_step(lab: Lab) -> None:
    res = drkit("plan", "--from", "primary", "--to", "backup", "--group", "no-such-group-.*",
                config=lab.config_path)
    assert res.returncode == 0, res.stderr
    assert "Plan primary → backup" in res.stdout
    assert all(len(line) <= 100 for line in res.stdout.splitlines())


def test_unreachable_standby_is_one_clear_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from drkit.lab.lab import free_port

    port = free_port()  # nothing listens here
    mm2 = tmp_path / "mm2.properties"
    mm2.write_text("clusters = primary, backup\n"
                   f"primary.bootstrap.servers = 127.0.0.1:{free_port()}\n"
                   f"backup.bootstrap.servers = 127.0.0.1:{port}\n"
                   "primary->backup.enabled = true\n")
    res = drkit("plan", "--from", "primary", "--to", "backup", "--mm2-config", str(mm2),
                timeout=120, env={"DRKIT_CONFIG": ""})
    assert res.returncode == 1
    assert res.stderr.strip().count("\n") == 0
    assert f"127.0.0.1:{port}" in res.stderr and "backup" in res.stderr


def test_unknown_cluster_and_disabled_flow_are_usage_errors(lab: Lab) -> None:
    res = drkit("plan", "--from", "primary", "--to", "nowhere", config=lab.config_path)
    assert res.returncode == 2 and "unknown cluster 'nowhere'" in res.stderr
    res = drkit("plan", "--from", "backup", "--to", "primary", config=lab.config_path)
    assert res.returncode == 2 and "backup->primary.enabled = true" in res.stderr




def test_apply_treats_a_member_that_joined_after_planning_as_refused(lab: Lab) -> None:
    """The broker, not the plan, has the last word: a late joiner makes the commit refused."""
    from drkit.kafka.admin import KafkaAdmin
    from drkit.offsets.apply import apply_plan
    from drkit.offsets.gather import gather_plan
    from drkit.offsets.inputs import PlanOptions
    from drkit.offsets.options import now_ms

    topic, remote = mirrored_topic(lab, "race", 2, 8)
    late, calm = f"late-{uuid.uuid4().hex[:6]}", f"calm-{uuid.uuid4().hex[:6]}"
    for group in (late, calm):
        consume_and_commit(lab.bootstrap("primary"), group, topic, {0: 8, 1: 3})
    wait_until(lambda: _checkpointed(lab, "primary.checkpoints.internal",
                                     {late: {0: 8, 1: 3}, calm: {0: 8, 1: 3}}, remote), 90,
               "checkpoints of both groups")
    settings = load_settings(lab.config_path)
    plan, _ = gather_plan(settings, "primary", "backup",
                          PlanOptions(group_regex=f"{late}|{calm}", now_ms=now_ms()))
    assert {g.group: g.verdict for g in plan.groups} == {late: "commit", calm: "commit"}

    member = IdleMember(lab.bootstrap("backup"), late, remote)
    try:
        member.join()
        cluster = KafkaAdmin("backup", settings.cluster("backup").usable_client_config())
        result = apply_plan(cluster, plan)
        outcome = {r.group: r.outcome for r in result.results}
        assert outcome == {late: "refused", calm: "committed"}
        assert committed(lab.bootstrap("backup"), late, remote, [0, 1]) == {}
        expected = dict(next(o for g, o in plan.commits() if g == calm))
        assert committed(lab.bootstrap("backup"), calm, remote, [0, 1]) == {
            tp.partition: off for tp, off in expected.items()}

        again = apply_plan(cluster, plan)  # re-applying the same plan is harmless
        assert {r.group: r.outcome for r in again.results}[calm] == "committed"
        assert committed(lab.bootstrap("backup"), calm, remote, [0, 1]) == {
            tp.partition: off for tp, off in expected.items()}
    finally:
        member.close()
    replan, _ = gather_plan(settings, "primary", "backup",
                            PlanOptions(group_regex=calm, now_ms=now_ms()))
    assert [g.verdict for g in replan.groups] == ["nothing-to-do"]
