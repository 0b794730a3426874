"""The lab really replicates: real brokers, real MirrorMaker 2, real checkpoints and heartbeats."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

from drkit.lab.lab import Lab
from drkit.lab.procs import is_running
from drkit.mm2.codec import decode_checkpoint, decode_heartbeat
from tests.helpers import (
    consume_and_commit,
    end_offsets,
    produce,
    read_all,
    topic_exists,
    wait_until,
)


def _unique_topic(lab: Lab, stem: str) -> str:
    from drkit.lab.ready import create_topics

    topic = f"orders.{stem}-{uuid.uuid4().hex[:6]}"
    create_topics(lab.bootstrap("primary"), {topic: 3})
    return topic


def test_records_arrive_in_remote_topic_with_same_partition_key_value_timestamp(lab: Lab) -> None:
    assert lab.state.running("mm2"), "MM2 must be running for replication"
    topic = _unique_topic(lab, "mirror")
    records = [(i % 3, f"k{i}".encode(), f"seq-{i}".encode()) for i in range(60)]
    produce(lab.bootstrap("primary"), topic, records)
    remote = f"primary.{topic}"
    wait_until(lambda: topic_exists(lab.bootstrap("backup"), remote), 60, f"{remote} on backup")
    wait_until(lambda: sum(end_offsets(lab.bootstrap("backup"), remote).values()) >= 60, 60,
               f"60 records in {remote}")

    source = {(m.partition(), m.offset()): m for m in read_all(lab.bootstrap("primary"), topic)}
    mirrored = read_all(lab.bootstrap("backup"), remote)
    assert len(mirrored) == 60
    for m in mirrored:
        # No gaps and no transactions in this topic, so offsets line up one to one.
        src = source[(m.partition(), m.offset())]
        assert (m.key(), m.value(), m.timestamp()) == (src.key(), src.value(), src.timestamp())


def test_group_commits_become_checkpoints_and_heartbeats_flow(lab: Lab) -> None:
    topic = _unique_topic(lab, "ckpt")
    produce(lab.bootstrap("primary"), topic,
            [(p, b"k", f"{p}-{i}".encode()) for p in range(3) for i in range(20)])
    remote = f"primary.{topic}"
    wait_until(lambda: topic_exists(lab.bootstrap("backup"), remote), 60, f"{remote} on backup")
    group = f"g-{uuid.uuid4().hex[:6]}"
    consume_and_commit(lab.bootstrap("primary"), group, topic, {0: 20, 1: 7})

    def checkpoints() -> dict[int, tuple[int, int]] | None:
        found = {}
        for m in read_all(lab.bootstrap("backup"), "primary.checkpoints.internal"):
            if m.value() is None:
                continue
            cp = decode_checkpoint(m.key(), m.value())
            if cp.group == group:
                assert cp.topic == remote, "checkpoint keys hold the target-cluster topic name"
                found[cp.partition] = (cp.upstream_offset, cp.downstream_offset)
        return found if len(found) == 2 else None

    found = wait_until(checkpoints, 90, f"checkpoints for {group}")
    assert found[0][0] == 20 and found[1][0] == 7
    # Translation never goes past the upstream position (offset.lag.max=100 keeps it coarse).
    assert all(0 <= down <= up for up, down in found.values())
    assert 2 not in found, "a partition never committed on the source gets no checkpoint"

    now_ms = time.time() * 1000
    remote_hb = [decode_heartbeat(m.key(), m.value())
                 for m in read_all(lab.bootstrap("backup"), "primary.heartbeats")]
    assert {(h.source_alias, h.target_alias) for h in remote_hb} == {("backup", "primary")}
    assert now_ms - max(h.timestamp_ms for h in remote_hb) < 60_000
    local_hb = [decode_heartbeat(m.key(), m.value())
                for m in read_all(lab.bootstrap("backup"), "heartbeats")]
    assert {(h.source_alias, h.target_alias) for h in local_hb} == {("primary", "backup")}


def test_no_replication_while_mm2_is_stopped(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(dns=False)
    topic = _unique_topic(lab, "stopped")
    remote = f"primary.{topic}"
    wait_until(lambda: topic_exists(lab.bootstrap("backup"), remote), 60, f"{remote} on backup")
    assert lab.stop("mm2")
    produce(lab.bootstrap("primary"), topic, [(0, b"k", b"while-stopped")])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # an absence can only be watched for a bounded time
        assert sum(end_offsets(lab.bootstrap("backup"), remote).values()) == 0
        time.sleep(0.5)
    lab.start("mm2")
    wait_until(lambda: sum(end_offsets(lab.bootstrap("backup"), remote).values()) == 1, 60,
               "the record once MM2 runs again")


def test_cli_up_status_down_leaves_nothing_running(tmp_path: Path, kafka_jars) -> None:  # type: ignore[no-untyped-def]
    lab_dir = tmp_path / "cli-lab"
    env = {**os.environ, "DRKIT_CACHE": str(kafka_jars.lib_dir.parent.parent)}
    up = subprocess.run(["drkit", "lab", "up", "--dir", str(lab_dir), "--no-mm2", "--no-dns"],
                        capture_output=True, text=True, env=env, timeout=300)
    assert up.returncode == 0, up.stderr
    assert "primary" in up.stdout and "running" in up.stdout
    lab = Lab.open(lab_dir)
    records = [lab.state.record(m) for m in ("primary", "backup")]
    assert all(r is not None and is_running(r) for r in records)

    status = subprocess.run(["drkit", "lab", "status", "--dir", str(lab_dir)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert status.returncode == 0 and status.stdout.count("running") == 2

    envout = subprocess.run(["drkit", "lab", "env", "--dir", str(lab_dir)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert f"export DRKIT_PRIMARY_BOOTSTRAP={lab.bootstrap('primary')}" in envout.stdout

    down = subprocess.run(["drkit", "lab", "down", "--dir", str(lab_dir)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert not any(is_running(r) for r in records if r)
    leftovers = subprocess.run(["pgrep", "-f", f"-Ddrkit.lab={lab_dir}"], capture_output=True,
                               text=True)
    assert leftovers.stdout.strip() == "", "a lab process survived `drkit lab down`"


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    res = subprocess.run(["drkit", "lab", "status", "--dir", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "drkit lab up --dir" in res.stderr
    res = subprocess.run(["drkit", "lab", "up", "--dir", str(tmp_path / "x"), "--flow", "a->b"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "--flow 'a->b'" in res.stderr


def test_readme_demo_fails_over_without_losing_records(tmp_path: Path, kafka_jars) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "DRKIT_CACHE": str(kafka_jars.lib_dir.parent.parent)}
    res = subprocess.run(["drkit", "lab", "demo", "--dir", str(tmp_path / "demo")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "3 groups committed" in res.stdout and "SUCCEEDED" in res.stdout
    assert "No record lost." in res.stdout
    assert "connect-audit: no checkpoint: group excluded" in res.stdout
    lab = Lab.open(tmp_path / "demo")
    assert not any(lab.state.running(m) for m in ("primary", "backup", "mm2", "bind"))
