"""Issue 17 item 6 (planner): one malformed record on the real checkpoints topic blocks only
what it names. MM2 writes real checkpoints for three groups; the test appends MM2's own keys
with an unknown value version for one partition of ``half`` and both of ``whole``, and a record
whose key is unreadable from its group on (an unknown group). ``drkit plan`` goes on: ``good``
commits everything, ``half`` its other partition, ``whole`` is untranslated with the offset
named; ``--strict`` fails closed with the codec's line.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from drkit.lab.lab import Lab
from drkit.mm2.model import TopicPartition
from drkit.mm2.reader import read_checkpoints, scan
from tests.helpers import consume_and_commit, drkit, mirrored_topic, wait_until
from tests.integration.test_reader_bad_records import CP_TOPIC, _cfg, _produce

COMMITS = {0: 10, 1: 5}


@pytest.fixture
def lab(own_lab: Lab) -> Lab:
    """This module's own lab, never the shared one: it writes malformed records onto MM2's real
    checkpoints topic, which MM2 reads back whenever its checkpoint task restarts."""
    return own_lab


@pytest.fixture
def world(lab: Lab) -> Iterator[tuple[str, dict[str, str], str]]:
    topic, remote = mirrored_topic(lab, "planbad", 2, 20)
    suffix = uuid.uuid4().hex[:6]
    names = {n: f"pb-{n}-{suffix}" for n in ("good", "half", "whole")}
    for g in names.values():
        consume_and_commit(lab.bootstrap("primary"), g, topic, COMMITS)

    def all_checkpointed() -> bool:
        index = read_checkpoints(_cfg(lab), CP_TOPIC, "backup", timeout_s=30)
        return all({tp.partition: sc.checkpoint.upstream_offset
                    for tp, sc in index.by_group.get(g, {}).items()} == COMMITS
                   for g in names.values())

    wait_until(all_checkpointed, 120, f"MM2 checkpoints for {sorted(names.values())}")
    yield suffix, names, remote


def test_plan_skips_malformed_records_and_strict_fails(
        lab: Lab, world: tuple[str, dict[str, str], str]) -> None:
    suffix, names, remote = world
    cfg = _cfg(lab)
    res = scan(cfg, CP_TOPIC, "backup", timeout_s=30)
    index = read_checkpoints(cfg, CP_TOPIC, "backup", timeout_s=30)

    def mm2_record(group: str, partition: int) -> tuple[bytes, bytes]:
        at = index.by_group[group][TopicPartition(remote, partition)].log_offset
        key, msg = next((k, m) for k, m in res.latest.items() if m.offset() == at)
        assert key is not None and msg.value() is not None
        return key, msg.value()

    produced = []
    for group, parts in ((names["half"], [0]), (names["whole"], [0, 1])):
        for p in parts:
            key, value = mm2_record(group, p)
            produced.append((key, b"\x00\x01" + value[2:]))  # unknown value version
    key, value = mm2_record(names["good"], 1)
    produced.append((b"\x7f\xff" + key[2:], value))  # group length past the end: no group
    offsets = _produce(lab, produced)
    out = drkit("plan", "--from", "primary", "--to", "backup", "--group",
                f"pb-(good|half|whole)-{suffix}", "-o", "json", config=lab.config_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    groups = {g["group"]: g for g in data["plan"]["groups"]}

    def commits(name: str) -> dict[int, int]:
        return {p["partition"]: p["new_offset"] for p in groups[names[name]]["partitions"]
                if p["action"] == "commit"}

    assert set(commits("good")) == {0, 1}
    assert set(commits("half")) == {1}
    half0 = next(p for p in groups[names["half"]]["partitions"] if p["partition"] == 0)
    assert half0["action"] == "skip" and half0["new_offset"] is None
    assert f"offset {offsets[0]}" in half0["reason"] and "version 1 is not 0" in half0[
        "reason"]
    whole = groups[names["whole"]]
    assert whole["verdict"] == "untranslated" and commits("whole") == {}
    assert f"offset {offsets[1]}" in whole["reason"]
    assert all(p["action"] == "skip" and "untranslatable" in p["reason"]
               for p in whole["partitions"])
    listed = {b["offset"]: b for b in data["plan"]["bad_records"]}
    assert set(offsets) <= set(listed)
    assert listed[offsets[3]]["group"] is None  # the unknown group's record: listed only
    assert data["stats"]["bad_records"] >= 4

    table = drkit("plan", "--from", "primary", "--to", "backup", "--group",
                  f"pb-(good|half|whole)-{suffix}", config=lab.config_path)
    assert table.returncode == 0, table.stderr
    assert "malformed checkpoint record" in table.stdout
    assert f"offset {offsets[3]}" in table.stdout  # the unknown group's record, named

    # status: a group with a malformed record in force is not ready, and says which record
    status = drkit("status", "--flow", "primary->backup", "--group",
                   f"pb-(good|half|whole)-{suffix}", "-o", "json", config=lab.config_path)
    assert status.returncode in (0, 1, 2), status.stderr
    flow = json.loads(status.stdout)["flows"][0]
    ready = {g["group"]: g for g in flow["groups"]}
    assert ready[names["good"]]["ready"] is True
    for n, at in (("half", offsets[0]), ("whole", offsets[1])):
        assert ready[names[n]]["ready"] is False
        assert f"offset {at}" in ready[names[n]]["reason"], ready[names[n]]

    strict = drkit("plan", "--from", "primary", "--to", "backup", "--group",
                   f"pb-(good|half|whole)-{suffix}", "--strict", config=lab.config_path)
    assert strict.returncode in (1, 2), strict.stderr
    assert f"{CP_TOPIC} offset " in strict.stderr and "Traceback" not in strict.stderr
    assert len(strict.stderr.strip().splitlines()) <= 2, strict.stderr
