"""The internal-topic reader against a real broker: complete reads, last-wins, loud failures."""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from drkit.errors import ClusterError, CodecError
from drkit.lab.lab import Lab
from drkit.lab.ready import create_topics
from drkit.mm2.reader import read_checkpoints

CAPTURED = json.loads((Path(__file__).parent.parent / "data" /
                       "mm2-4.2.0-captured.json").read_text())["checkpoints"]


def _topic(lab: Lab) -> str:
    name = f"test.checkpoints.{uuid.uuid4().hex[:8]}"
    create_topics(lab.bootstrap("backup"), {name: 1})
    return name


def _write(lab: Lab, topic: str, records: list[tuple[bytes, bytes | None]]) -> None:
    prod = Producer({"bootstrap.servers": lab.bootstrap("backup")})
    for key, value in records:
        prod.produce(topic, key=key, value=value, partition=0)
    assert prod.flush(30) == 0


def _cfg(lab: Lab) -> dict[str, str]:
    return {"bootstrap.servers": lab.bootstrap("backup")}


def test_last_record_in_log_order_wins_even_when_lower(lab: Lab) -> None:
    key = bytes.fromhex(CAPTURED[0]["key"])  # real MM2 bytes: g-part / primary.orders / 0
    high, low = bytes.fromhex(CAPTURED[0]["value"]), bytes.fromhex(CAPTURED[1]["value"])
    topic = _topic(lab)
    _write(lab, topic, [(key, low), (key, high), (key, low)])  # a source rewind: 100 → 50
    index = read_checkpoints(_cfg(lab), topic, "backup", timeout_s=30)
    assert index.records_read == 3
    (only,) = index.by_group["g-part"].values()
    assert (only.checkpoint.upstream_offset, only.checkpoint.downstream_offset) == (50, 1)
    assert only.log_offset == 2


def test_tombstone_deletes_a_checkpoint(lab: Lab) -> None:
    key = bytes.fromhex(CAPTURED[0]["key"])
    topic = _topic(lab)
    _write(lab, topic, [(key, bytes.fromhex(CAPTURED[0]["value"])), (key, None)])
    index = read_checkpoints(_cfg(lab), topic, "backup", timeout_s=30)
    assert index.by_group == {} and index.deleted == 1


def test_json_converter_records_are_named_as_such(lab: Lab) -> None:
    topic = _topic(lab)
    envelope = {"schema": {"type": "bytes", "optional": False},
                "payload": base64.b64encode(bytes.fromhex(CAPTURED[0]["value"])).decode()}
    key_env = {"schema": {"type": "bytes", "optional": False},
               "payload": base64.b64encode(bytes.fromhex(CAPTURED[0]["key"])).decode()}
    _write(lab, topic, [(json.dumps(key_env).encode(), json.dumps(envelope).encode())])
    with pytest.raises(CodecError, match="JsonConverter"):
        read_checkpoints(_cfg(lab), topic, "backup", timeout_s=30)


def test_corrupt_record_names_topic_and_offset(lab: Lab) -> None:
    """With --strict a malformed record still fails the read (by default it is skipped and
    named: tests/integration/test_reader_bad_records.py)."""
    topic = _topic(lab)
    value = bytes.fromhex(CAPTURED[0]["value"])
    _write(lab, topic, [(bytes.fromhex(CAPTURED[1]["key"]), value),
                        (bytes.fromhex(CAPTURED[0]["key"]), b"\x00\x07" + value[2:])])
    with pytest.raises(CodecError, match=rf"{topic} offset 1: .*version 7"):
        read_checkpoints(_cfg(lab), topic, "backup", timeout_s=30, strict=True)
    (bad,) = read_checkpoints(_cfg(lab), topic, "backup", timeout_s=30).bad_for("g-part")
    assert bad.offset == 1 and "version 7" in bad.reason


def test_reads_committed_data_only(lab: Lab) -> None:
    """An open (later aborted) transaction's record is never part of the read."""
    topic = _topic(lab)
    _write(lab, topic, [(bytes.fromhex(CAPTURED[0]["key"]), bytes.fromhex(CAPTURED[0]["value"]))])
    txn = Producer({"bootstrap.servers": lab.bootstrap("backup"),
                    "transactional.id": f"drkit-test-{uuid.uuid4().hex[:6]}"})
    txn.init_transactions(30)
    txn.begin_transaction()
    txn.produce(topic, key=bytes.fromhex(CAPTURED[1]["key"]),
                value=bytes.fromhex(CAPTURED[1]["value"]), partition=0)
    txn.flush(30)
    try:
        index = read_checkpoints(_cfg(lab), topic, "backup", timeout_s=30)
        assert index.checkpoint_count == 1 and index.end_offset == 1  # stops at the LSO
    finally:
        txn.abort_transaction(30)
    index = read_checkpoints(_cfg(lab), topic, "backup", timeout_s=30)
    assert index.checkpoint_count == 1  # the aborted record never shows up


def test_slow_read_fails_instead_of_returning_partial_results(lab: Lab) -> None:
    """A broker quota throttles the reader; the read must fail, not plan from what it got."""
    topic = _topic(lab)
    key, value = bytes.fromhex(CAPTURED[0]["key"]), bytes.fromhex(CAPTURED[0]["value"])
    _write(lab, topic, [(key + i.to_bytes(4, "big"), value + b"x" * 200) for i in range(3000)])
    client_id = f"drkit-throttled-{uuid.uuid4().hex[:6]}"
    res = subprocess.run(
        ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1",
         f"-Dlog4j2.configurationFile={lab.dir / 'log4j2-tools.properties'}",
         "-cp", str(Path(lab.state.lib_dir) / "*"), "kafka.admin.ConfigCommand",
         "--bootstrap-server", lab.bootstrap("backup"), "--alter", "--add-config",
         "consumer_byte_rate=4096", "--entity-type", "clients", "--entity-name", client_id],
        capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    with pytest.raises(ClusterError, match=r"read \d+ records of .* not to its end offset 3000"):
        read_checkpoints({**_cfg(lab), "client.id": client_id}, topic, "backup", timeout_s=4)


def test_missing_topic_and_dead_cluster_are_clear(lab: Lab) -> None:
    with pytest.raises(ClusterError, match="does not exist on backup"):
        read_checkpoints(_cfg(lab), "no.such.checkpoints.internal", "backup", timeout_s=10)
    from drkit.lab.lab import free_port

    with pytest.raises(ClusterError, match="cannot reach backup"):
        read_checkpoints({"bootstrap.servers": f"127.0.0.1:{free_port()}"}, "x", "backup",
                         timeout_s=3)
