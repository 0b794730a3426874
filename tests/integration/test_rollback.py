"""`drkit runs rollback` on the real lab: compare-and-swap, later runs, dry run, journal checks.

Each test has its own topic and groups. Groups get earlier commits on backup before the
failover, so a rollback has a real value to restore and a wrong one would be seen.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException
from confluent_kafka import TopicPartition as KTP

from drkit.config import load_settings
from drkit.lab.lab import Lab
from drkit.runbook.lock import RunLock
from drkit.runbook.state import Journal, RunState
from tests.helpers import (
        committed,
    consume_and_commit,
    consume_from_committed,
    drkit,
    end_offsets,
    mirrored_topic,
    produce,
    wait_until,
)

PARTS = [0, 1, 2]


def _runs(lab: Lab) -> list[dict[str, Any]]:
    res = drkit("runs", "list", "-o", "json", config=lab.config_path)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _status(lab: Lab, run_id: str) -> str:
    return next(r["status"] for r in _runs(lab) if r["run_id"] == run_id)


def _translated(lab: Lab, groups: list[str], upto: int) -> bool:
    """Whether MM2's checkpoints translate every partition of ``groups`` to exactly ``upto``
    (its offset-sync for the end of the topic has been written and used)."""
    from drkit.mm2.reader import read_checkpoints

    cfg = load_settings(lab.config_path).cluster("backup").usable_client_config()
    found = read_checkpoints(cfg, "primary.checkpoints.internal", "backup",
                             timeout_s=30).by_group
    return all(len(found.get(g, {})) == len(PARTS) and all(
        c.checkpoint.downstream_offset == upto for c in found[g].values()) for g in groups)


def _mirrored(lab: Lab, remote: str, upto: int) -> bool:
    """Whether every partition of ``remote`` on backup holds ``upto`` records (a partition
    whose leader is still being elected counts as not yet)."""
    try:
        return min(end_offsets(lab.bootstrap("backup"), remote).values()) >= upto
    except KafkaException:
        return False


def _world(lab: Lab, stem: str, per_partition: int = 60) -> tuple[str, str, list[str]]:
    """A mirrored topic and a group at its end on primary and at 5 on backup (earlier)."""
    topic, remote = mirrored_topic(lab, stem, len(PARTS), per_partition)
    names = [f"rb{stem}-{uuid.uuid4().hex[:4]}"]
    wait_until(lambda: _mirrored(lab, remote, per_partition), 90, f"{remote} mirrored")
    for g in names:
        consume_and_commit(lab.bootstrap("primary"), g, topic, dict.fromkeys(PARTS,
                                                                             per_partition))
        consume_and_commit(lab.bootstrap("backup"), g, remote, dict.fromkeys(PARTS, 5))
    wait_until(lambda: _translated(lab, names, per_partition), 90, "exact checkpoints")
    return topic, remote, names


def _failover(lab: Lab, groups: list[str]) -> dict[str, Any]:
    res = drkit("failover", "--from", "primary", "--to", "backup", "--group", "|".join(groups),
                "--yes", "-o", "json", config=lab.config_path)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)["run"]


def _offsets(lab: Lab, group: str, remote: str) -> dict[int, int]:
    return committed(lab.bootstrap("backup"), group, remote, PARTS)


def _dns(lab: Lab) -> tuple[Any, Any] | None:
    """(provider, record spec) of the lab's BIND, the record pointed at primary; None without."""
    if not lab.state.dns:
        if os.environ.get("DRKIT_REQUIRE_BIND") == "1":
            raise AssertionError("the lab has no BIND although DRKIT_REQUIRE_BIND=1")
        return None
    from drkit.dns.base import RecordSet
    from drkit.dns.flip import provider_for
    from drkit.dns.settings import dns_settings

    conf = dns_settings(load_settings(lab.config_path))
    assert conf is not None
    provider, spec = provider_for(conf), conf.records[0]
    current = provider.get(spec.name, spec.type)
    primary = spec.for_cluster("primary")
    if not primary.same_values(current):
        provider.change(current, RecordSet(spec.name, spec.type, 60, primary.values))
    return provider, spec


def _points_at(lab: Lab) -> str:
    return str(json.loads(drkit("dns", "show", "-o", "json",
                                config=lab.config_path).stdout)[0]["points_at"])


def _consume_and_commit_progress(lab: Lab, group: str, topic: str, upto: dict[int, int]
                                 ) -> None:
    """A real consumer on backup: reads from the group's committed offsets up to ``upto`` and
    commits its progress, as an application restarted there after the failover would."""
    cons = Consumer({"bootstrap.servers": lab.bootstrap("backup"), "group.id": group,
                     "enable.auto.commit": False, "auto.offset.reset": "error"})
    try:
        start = cons.committed([KTP(topic, p) for p in upto], timeout=15)
        cons.assign(start)
        seen: dict[int, int] = {}
        wait_until(lambda: _poll_into(cons, seen, upto), 60, f"consuming {topic} as {group}")
        cons.commit(offsets=[KTP(topic, p, o) for p, o in upto.items()], asynchronous=False)
    finally:
        cons.close()


def _poll_into(cons: Consumer, seen: dict[int, int], upto: dict[int, int]) -> bool:
    for msg in cons.consume(num_messages=1000, timeout=0.5):
        assert msg.error() is None, msg.error()
        seen[msg.partition()] = max(seen.get(msg.partition(), -1), msg.offset())
    return all(seen.get(p, -1) >= o - 1 for p, o in upto.items())


def _first_values(lab: Lab, group: str, topic: str) -> dict[int, bytes]:
    """Where the group really resumes: the first record each partition delivers."""
    out: dict[int, bytes] = {}
    for msg in consume_from_committed(lab.bootstrap("backup"), group, topic, PARTS):
        out.setdefault(msg.partition(), msg.value())
    return out


# (1) a later run over the same groups and record ----------------------------------------------


def test_rollback_of_an_older_run_is_refused_and_force_keeps_the_newer_run(lab: Lab) -> None:
    dns = _dns(lab)
    _topic, remote, (group,) = _world(lab, "later")
    run_a = _failover(lab, [group])
    run_b = _failover(lab, [group])
    after_b = _offsets(lab, group, remote)
    assert after_b != dict.fromkeys(PARTS, 5)
    if dns:
        assert _points_at(lab) == "backup"

    refused = drkit("runs", "rollback", run_a["run_id"], "--yes", config=lab.config_path)
    assert refused.returncode == 3, refused.stderr
    assert run_b["run_id"] in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert _offsets(lab, group, remote) == after_b

    forced = drkit("runs", "rollback", run_a["run_id"], "--yes", "--force", "-o", "json",
                   config=lab.config_path)
    assert forced.returncode == 0, forced.stderr
    data = json.loads(forced.stdout)
    assert data["restored"] == [] and data["deleted"] == []
    assert {row["why"] for row in data["left_alone"]} == {
        f"run {run_b['run_id']} failed over this group later; left alone"}
    assert _offsets(lab, group, remote) == after_b  # nothing of B's changed
    if dns:
        assert _points_at(lab) == "backup"
        assert [d["action"] for d in data["dns"]] == ["left alone"]


# (2), (3), (5) one run, then consumers commit progress on backup -------------------------------


@pytest.fixture(scope="module")
def consumed_then_rolled_back(lab: Lab) -> dict[str, Any]:
    topic, remote, (group,) = _world(lab, "cons")
    run = _failover(lab, [group])
    written = _offsets(lab, group, remote)
    assert written == dict.fromkeys(PARTS, 60), written
    # producers carry on (MM2 still mirrors in the lab): consumers on backup have work to do
    produce(lab.bootstrap("primary"), topic,
            [(p, b"k", f"{p}-{i}".encode()) for p in PARTS for i in range(60, 400)])
    wait_until(lambda: _mirrored(lab, remote, 400), 90, f"{remote} mirrored")
    _consume_and_commit_progress(lab, group, remote, {0: 150, 2: 300})
    rb = drkit("runs", "rollback", run["run_id"], "--yes", config=lab.config_path)
    return {"remote": remote, "group": group, "run": run, "written": written, "rb": rb}


def test_rollback_leaves_consumer_progress_alone_and_restores_the_rest(
        lab: Lab, consumed_then_rolled_back: dict[str, Any]) -> None:
    w = consumed_then_rolled_back
    rb, run_id = w["rb"], w["run"]["run_id"]
    assert rb.returncode == 0, rb.stderr
    assert _offsets(lab, w["group"], w["remote"]) == {0: 150, 1: 5, 2: 300}
    # where a consumer restarted there really resumes (records, not only offsets)
    assert _first_values(lab, w["group"], w["remote"]) == {0: b"0-150", 1: b"1-5", 2: b"2-300"}
    left = [line for line in rb.stdout.splitlines() if "changed since run" in line]
    assert len(left) == 2, rb.stdout
    for p, now in ((0, 150), (2, 300)):
        assert any(f"{w['group']} {w['remote']}-{p}: changed since run {run_id}; left alone "
                   f"(now {now}, run wrote {w['written'][p]})" in line for line in left), rb.stdout
    assert "1 partition(s) restored" in rb.stdout
    assert _status(lab, run_id) == "rolled back"
    listed = drkit("runs", "list", config=lab.config_path)
    assert any(run_id[:30] in line and "rolled back" in line
               for line in listed.stdout.splitlines()), listed.stdout
    journal = json.loads(Path(next(r["path"] for r in _runs(lab)
                                   if r["run_id"] == run_id)).read_text())
    (record,) = journal["rollbacks"]
    assert record["restored_offsets"] == {w["group"]: [[w["remote"], 1, 5]]}
    assert {(r["partition"], r["now"]) for r in record["left_alone"]} == {(0, 150), (2, 300)}
    assert record["who"] and record["at"]
    shown = drkit("runs", "show", run_id, config=lab.config_path)
    assert f"rolled back by {record['who']} at {record['at']}: 1 group(s) restored, 0 deleted, "\
        "2 partition(s) left alone" in shown.stdout, shown.stdout
    audit = (lab.dir / ".drkit" / "audit.jsonl").read_text().splitlines()
    assert any(json.loads(line).get("event") == "rolled-back"
               and json.loads(line).get("run_id") == run_id for line in audit)


def test_second_rollback_is_a_no_op(lab: Lab, consumed_then_rolled_back: dict[str, Any]
                                    ) -> None:
    w = consumed_then_rolled_back
    again = drkit("runs", "rollback", w["run"]["run_id"], "--yes", config=lab.config_path)
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout and "rolled back at" in again.stdout
    assert _offsets(lab, w["group"], w["remote"]) == {0: 150, 1: 5, 2: 300}
    journal = json.loads(Path(next(r["path"] for r in _runs(lab)
                                   if r["run_id"] == w["run"]["run_id"])).read_text())
    assert len(journal["rollbacks"]) == 1


def test_resume_of_a_rolled_back_run_refuses(lab: Lab,
                                             consumed_then_rolled_back: dict[str, Any]) -> None:
    w = consumed_then_rolled_back
    for args in (("failover", "--resume", w["run"]["run_id"], "--yes"),
                 ("runs", "resume", w["run"]["run_id"], "--yes")):
        res = drkit(*args, config=lab.config_path)
        assert res.returncode == 3, res.stderr
        assert "was rolled back" in res.stderr and "cannot be resumed" in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert _offsets(lab, w["group"], w["remote"]) == {0: 150, 1: 5, 2: 300}


# (4) dry run ----------------------------------------------------------------------------------


def test_dry_run_shows_what_would_change_and_changes_nothing(lab: Lab) -> None:
    # The shared lab's record may still point at backup from an earlier test's failover: then
    # this run's flip finds it there, and its rollback has nothing to put back ("already").
    dns = _dns(lab)  # at primary, so the failover flips it and the rollback would restore it
    _topic, remote, (group,) = _world(lab, "dry")
    run = _failover(lab, [group])
    written = _offsets(lab, group, remote)
    consume_and_commit(lab.bootstrap("backup"), group, remote, {2: 45})  # an operator
    res = drkit("runs", "rollback", run["run_id"], "--dry-run", config=lab.config_path)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100, res.stdout
    flips = [line for line in lines if line.startswith("DNS ")]
    assert f"{2 + len(flips)} change(s)" in lines[0] and "nothing was changed" in lines[-1]
    if dns is None:
        assert flips == [], res.stdout
    else:  # the record this run flipped: now → restore-to
        assert flips == ["DNS kafka.example.test.: kafka-backup.example.test. → "
                         "kafka-primary.example.test."], res.stdout
    head = next(line for line in lines if line.startswith("group"))
    assert head.split() == ["group", "partition", "now", "restore", "to", "action", "/", "why"]
    rows = {line.split()[1][-2:]: line.split() for line in lines if line.startswith(group)}
    assert rows["-0"][2:5] == [str(written[0]), "5", "restore"], res.stdout
    assert rows["-1"][2:5] == [str(written[1]), "5", "restore"], res.stdout
    assert rows["-2"][2:] == ["45", "-", "left", "alone:", "changed"], res.stdout
    assert f"  changed since run {run['run_id']}; left alone" in lines
    assert _offsets(lab, group, remote) == {**written, 2: 45}
    assert _status(lab, run["run_id"]) == "succeeded"
    data = json.loads(drkit("runs", "rollback", run["run_id"], "--dry-run", "-o", "json",
                            config=lab.config_path).stdout)
    assert data["dry_run"] and data["changes"] == 2 + len(flips)
    assert _offsets(lab, group, remote) == {**written, 2: 45}


# (6) a journal edited to name what the run never touched --------------------------------------


def _edit_and_resign(lab: Lab, run_id: str, edit: Any) -> None:
    path = Path(next(r["path"] for r in _runs(lab) if r["run_id"] == run_id))
    data = json.loads(path.read_text())
    data.pop("mac", None)
    edit(data)
    # Re-signed with the state dir's key: the attack that gets past the journal's MAC.
    Journal(lab.dir / ".drkit").save(RunState.from_dict(data))


def test_journal_naming_another_group_or_record_is_refused(lab: Lab) -> None:
    _topic, remote, (group,) = _world(lab, "edit")
    victim = f"rbedit-victim-{uuid.uuid4().hex[:4]}"
    consume_and_commit(lab.bootstrap("backup"), victim, remote, {0: 7})
    run = _failover(lab, [group])
    written = _offsets(lab, group, remote)

    def add_group(data: dict[str, Any]) -> None:
        step = next(s for s in data["steps"] if s["uses"] == "commit")
        step["outputs"]["snapshot"][victim] = []

    _edit_and_resign(lab, run["run_id"], add_group)
    res = drkit("runs", "rollback", run["run_id"], "--yes", config=lab.config_path)
    assert res.returncode == 3, res.stderr
    assert f"snapshot names group {victim!r} that is not in the run's plan" in res.stderr
    assert committed(lab.bootstrap("backup"), victim, remote, [0]) == {0: 7}
    assert _offsets(lab, group, remote) == written

    if _dns(lab) is None:
        return

    points_at = _points_at(lab)

    def evil_before(data: dict[str, Any]) -> None:
        step = next(s for s in data["steps"] if s["uses"] == "commit")
        del step["outputs"]["snapshot"][victim]
        flip = next(s for s in data["steps"] if s["uses"] == "dns-flip")
        (name,) = flip["outputs"]["records"]
        flip["outputs"]["records"][name]["before"]["values"] = ["evil.example.test."]

    _edit_and_resign(lab, run["run_id"], evil_before)
    res = drkit("runs", "rollback", run["run_id"], "--yes", config=lab.config_path)
    assert res.returncode == 3, res.stderr
    assert "].before is evil.example.test. (TTL 60), neither primary's nor backup's" in res.stderr
    assert _points_at(lab) == points_at and _offsets(lab, group, remote) == written

    def other_record(data: dict[str, Any]) -> None:
        flip = next(s for s in data["steps"] if s["uses"] == "dns-flip")
        (name,) = flip["outputs"]["records"]
        record = flip["outputs"]["records"].pop(name)
        record["before"]["values"] = ["kafka-primary.example.test."]
        flip["outputs"]["records"]["other.example.test."] = record

    _edit_and_resign(lab, run["run_id"], other_record)
    res = drkit("runs", "rollback", run["run_id"], "--yes", config=lab.config_path)
    assert res.returncode == 3, res.stderr
    assert "'other.example.test.', which is not configured in [dns]" in res.stderr
    assert _points_at(lab) == points_at and _offsets(lab, group, remote) == written


# (7) the failover lock ------------------------------------------------------------------------


def test_rollback_refuses_while_a_live_run_holds_the_lock(lab: Lab) -> None:
    _topic, remote, (group,) = _world(lab, "lock")
    run = _failover(lab, [group])
    written = _offsets(lab, group, remote)
    holder = subprocess.Popen(["sleep", "300"])
    lock = RunLock(lab.dir / ".drkit", "primary->backup", "live-run-elsewhere", "ops@host",
                   holder.pid)
    try:
        lock.acquire()
        res = drkit("runs", "rollback", run["run_id"], "--yes", config=lab.config_path)
        assert res.returncode == 3, res.stderr
        assert "live-run-elsewhere" in res.stderr and "in progress" in res.stderr
        assert _offsets(lab, group, remote) == written
        assert _status(lab, run["run_id"]) == "succeeded"
    finally:
        lock.release()
        holder.kill()
        holder.wait()
    done = drkit("runs", "rollback", run["run_id"], "--yes", config=lab.config_path)
    assert done.returncode == 0, done.stderr
    assert _offsets(lab, group, remote) == dict.fromkeys(PARTS, 5)
