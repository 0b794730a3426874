"""How fast drkit reads a large checkpoints topic, against a bare confluent-kafka consume loop.

A real lab's backup broker (no MM2) gets a single-partition ``primary.checkpoints.internal``
filled with 1,000,000 checkpoint records in MM2's byte format: ~5,000 groups × 1-3 topics × 3-12
partitions (~70,000 keys). Like MM2, every emit cycle writes the partitions of the groups that
moved: hot groups in every cycle, cold ones rarely, so most keys are rewritten many times and ~2%
of writes lower a checkpoint (a source rewind), which makes "last record wins" observable.

Then, alternating, each in a fresh child process (so the producer's memory does not count):
(a) a bare consume loop touching key() and value() of every record, with the same librdkafka
settings drkit's reader uses, and (b) ``read_checkpoints`` (scan + decode + index); then once a
bare loop with librdkafka's defaults. The child reports its wall time and peak RSS (VmHWM: Linux
carries a parent's ru_maxrss across fork+exec); the drkit child also reports a digest of the
whole index, checked against what was written (a wrong index fails the benchmark).
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from confluent_kafka import TopicPartition as KafkaTopicPartition
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

from drkit.kafka import clients as kafka_clients
from drkit.lab.files import MM2Options
from drkit.lab.jars import ensure_jars
from drkit.lab.lab import Lab
from drkit.mm2.codec import encode_checkpoint
from drkit.mm2.model import Checkpoint

RECORDS = 1_000_000
GROUPS = 5_000
HOT_GROUPS = 1_000  # emit in every cycle
COLD_ACTIVE = 0.05  # share of the other groups that moved in a cycle
REWIND = 0.02  # share of writes that lower the checkpoint
TOPIC = "primary.checkpoints.internal"
ROUNDS = 3
SAMPLE = 500
SEED = 20240611

Key = tuple[str, str, int]
Expected = dict[Key, tuple[int, int, str]]

# The child does only the measured read, then reports wall time, peak RSS and (for drkit) the
# index's size, digest and a sample. Peak RSS is read before the digest is computed.
CHILD = r"""
import hashlib, json, sys, time
mode, bootstrap, topic, sample_file = sys.argv[1:5]
cfg = {"bootstrap.servers": bootstrap}
out = {"mode": mode}

def peak_rss_kib():
    # VmHWM belongs to this process's own address space. ru_maxrss would not do: Linux carries
    # the parent's peak across fork+exec, so every child would report the producer's ~500 MiB.
    with open("/proc/self/status") as fh:
        return next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:"))

if mode == "drkit":
    from drkit.mm2.reader import read_checkpoints
    t0 = time.perf_counter()
    idx = read_checkpoints(cfg, topic, "backup", timeout_s=600.0)
    out["seconds"] = time.perf_counter() - t0
    out["maxrss_kib"] = peak_rss_kib()
    out["records"] = idx.records_read
    out["scan_seconds"] = idx.seconds
    out["end_offset"] = idx.end_offset
    out["checkpoints"] = idx.checkpoint_count
    out["deleted"] = idx.deleted
    rows = sorted(f"{g}\t{tp.topic}\t{tp.partition}\t{s.checkpoint.upstream_offset}\t"
                  f"{s.checkpoint.downstream_offset}\t{s.checkpoint.metadata}"
                  for g, parts in idx.by_group.items() for tp, s in parts.items())
    out["digest"] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    sample = {}
    for g, t, p in json.load(open(sample_file)):
        s = idx.by_group.get(g, {})
        found = [v for tp, v in s.items() if tp.topic == t and tp.partition == p]
        if found:
            c = found[0].checkpoint
            sample[f"{g}\t{t}\t{p}"] = [c.upstream_offset, c.downstream_offset, c.metadata]
    out["sample"] = sample
else:
    from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING
    if mode == "bare":  # the same librdkafka settings as drkit's reader
        from drkit.mm2.reader import READER_CONFIG as settings
    else:  # "defaults": what a naive consumer gets
        settings = {"enable.partition.eof": True}
    t0 = time.perf_counter()
    c = Consumer({**cfg, **settings, "group.id": "bench-bare-loop", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    _low, end = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=15)
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    n = size = 0
    last = 0
    while last < end:
        for m in c.consume(10000, timeout=0.1):
            if m.error() is not None:
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise RuntimeError(m.error().str())
            k = m.key()
            v = m.value()
            n += 1
            last = m.offset() + 1
    c.close()
    out["seconds"] = time.perf_counter() - t0
    out["maxrss_kib"] = peak_rss_kib()
    out["records"] = n
    out["end_offset"] = end
print(json.dumps(out))
"""


def _keyspace(rng: random.Random) -> list[list[Key]]:
    """Each group's (group, topic, partition) keys: 1-3 topics from a pool, 3-12 partitions."""
    pool = [(f"primary.{name}", parts) for name, parts in (
        ("orders", 12), ("payments", 6), ("shipments", 6), ("invoices", 3), ("clicks", 12),
        ("inventory", 6), ("users", 3), ("audit", 3), ("refunds", 3), ("search", 12),
        ("emails", 3), ("carts", 6))]
    groups = []
    for i in range(GROUPS):
        group = f"svc-{i:04d}.{rng.choice(('consumer', 'worker', 'indexer', 'etl'))}"
        topics = rng.sample(pool, 1 + i % 3)
        groups.append([(group, t, p) for t, parts in topics for p in range(parts)])
    return groups


def _generate(rng: random.Random) -> tuple[list[tuple[bytes, bytes]], Expected, int]:
    """RECORDS encoded checkpoints in emit order, the last value per key, and the key count."""
    groups = _keyspace(rng)
    meta = {keys[0][0]: ("" if rng.random() < 0.9 else f"gen-{rng.randrange(1000)}")
            for keys in groups}
    state: Expected = {}
    out: list[tuple[bytes, bytes]] = []
    hot = list(range(HOT_GROUPS))
    cold = list(range(HOT_GROUPS, GROUPS))
    cycle = 0
    while len(out) < RECORDS:
        if cycle == 0:
            active = list(range(GROUPS))
        else:
            active = hot + rng.sample(cold, int(len(cold) * COLD_ACTIVE))
        for gi in active:
            for key in groups[gi]:
                if len(out) == RECORDS:
                    break
                up, _down, md = state.get(key, (rng.randrange(10_000), 0, meta[key[0]]))
                if cycle and rng.random() < REWIND:
                    up = max(0, up - rng.randrange(1, 5_000))
                else:
                    up += rng.randrange(1, 500)
                down = max(0, up - rng.randrange(0, 100))
                state[key] = (up, down, md)
                out.append(encode_checkpoint(Checkpoint(key[0], key[1], key[2], up, down, md)))
        cycle += 1
    return out, state, len(state)


def _produce(bootstrap: str, records: list[tuple[bytes, bytes]]) -> float:
    admin = kafka_clients.admin({"bootstrap.servers": bootstrap})
    futs = admin.create_topics([NewTopic(TOPIC, 1, 1, config={"cleanup.policy": "compact"})],
                               operation_timeout=30)
    futs[TOPIC].result(timeout=30)
    prod = kafka_clients.producer(
        {"bootstrap.servers": bootstrap},
        **{"linger.ms": 50, "batch.size": 1_000_000, "compression.type": "none",
           "queue.buffering.max.messages": 2_000_000, "queue.buffering.max.kbytes": 1_048_576,
           "acks": "all"})
    started = time.monotonic()
    for key, value in records:
        while True:
            try:
                prod.produce(TOPIC, value=value, key=key, partition=0)
                break
            except BufferError:
                prod.poll(0.05)
    if prod.flush(120) != 0:
        raise RuntimeError(f"{TOPIC}: records not acknowledged")
    seconds = time.monotonic() - started
    cons = kafka_clients.consumer({"bootstrap.servers": bootstrap})
    try:
        _low, end = cons.get_watermark_offsets(KafkaTopicPartition(TOPIC, 0), timeout=15)
    finally:
        cons.close()
    if end != RECORDS:
        raise RuntimeError(f"{TOPIC} ends at {end}, expected {RECORDS}")
    return seconds


def _digest(expected: Expected) -> str:
    rows = sorted(f"{g}\t{t}\t{p}\t{up}\t{down}\t{md}"
                  for (g, t, p), (up, down, md) in expected.items())
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def _child(mode: str, bootstrap: str, sample_file: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, bootstrap, TOPIC, str(sample_file)],
                          capture_output=True, text=True, timeout=900, check=False,
                          cwd=Path(__file__).resolve().parents[2])
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} child failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["records"] != RECORDS or result["end_offset"] != RECORDS:
        raise RuntimeError(f"{mode} read {result['records']} records to end offset "
                           f"{result['end_offset']}, expected {RECORDS}")
    return result


def _check(result: dict[str, Any], expected: Expected, digest: str,
           sample: list[Key]) -> None:
    """Raise unless the index holds exactly the last value written per key."""
    if result["checkpoints"] != len(expected) or result["deleted"] != 0:
        raise RuntimeError(f"index holds {result['checkpoints']} checkpoints "
                           f"({result['deleted']} deleted), expected {len(expected)}")
    for key in sample:
        got = result["sample"].get("\t".join(map(str, key)))
        if got is None or tuple(got) != expected[key]:
            raise RuntimeError(f"index has {got} for {key}, last written {expected[key]}")
    if result["digest"] != digest:
        raise RuntimeError("index digest differs from the last-written values")


def _rate(r: dict[str, Any]) -> float:
    """Thousands of records per second (keeps the table out of 1e+06 notation)."""
    return float(r["records"] / r["seconds"] / 1000)


def run() -> list[dict[str, object]]:
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-scan-"))
    lab: Lab | None = None
    try:
        rng = random.Random(SEED)
        started = time.monotonic()
        records, expected, keys = _generate(rng)
        gen_s = time.monotonic() - started
        sample = rng.sample(sorted(expected), SAMPLE)
        sample_file = work / "sample.json"
        sample_file.write_text(json.dumps(sample))
        digest = _digest(expected)

        lab = Lab.create(work / "lab", ensure_jars(), MM2Options(), with_dns=False)
        lab.up(with_mm2=False)
        backup = lab.bootstrap("backup")
        produce_s = _produce(backup, records)
        del records

        bare: list[dict[str, Any]] = []
        drkit: list[dict[str, Any]] = []
        for _ in range(ROUNDS):
            bare.append(_child("bare", backup, sample_file))
            res = _child("drkit", backup, sample_file)
            _check(res, expected, digest, sample)
            drkit.append(res)
        naive = _child("defaults", backup, sample_file)
    finally:
        if lab is not None:
            lab.down()
        shutil.rmtree(work, ignore_errors=True)

    bare_rates = [_rate(r) for r in bare]
    drkit_rates = [_rate(r) for r in drkit]
    best_ratio = max(drkit_rates) / max(bare_rates)
    med_ratio = statistics.median(drkit_rates) / statistics.median(bare_rates)
    drkit_rss = max(r["maxrss_kib"] for r in drkit) / 1024
    bare_rss = max(r["maxrss_kib"] for r in bare) / 1024
    noisy = "2 cores: numbers vary by about ±10 % between runs"
    return [
        {"metric": "records in checkpoints topic", "value": RECORDS // 1000, "unit": "k records",
         "note": f"1 partition; {GROUPS} groups, {keys} keys (~{RECORDS / keys:.0f} "
                 f"writes/key), {REWIND:.0%} rewinds"},
        {"metric": "generate + encode (encode_checkpoint)", "value": round(gen_s, 1),
         "unit": "s", "note": "not part of any rate below"},
        {"metric": "produce from Python (linger 50 ms, 1 MB batches, no compression)",
         "value": round(RECORDS / produce_s / 1000, 1), "unit": "k records/s",
         "note": f"{produce_s:.1f} s incl. flush"},
        {"metric": "bare consume loop, best", "value": round(max(bare_rates), 1),
         "unit": "k records/s", "note": "Consumer.consume(10000), key()+value(), drkit's settings"},
        {"metric": "bare consume loop, median", "value": round(statistics.median(bare_rates), 1),
         "unit": "k records/s", "note": f"{ROUNDS} runs, alternating with drkit"},
        {"metric": "bare consume loop, librdkafka defaults", "value": round(_rate(naive), 1),
         "unit": "k records/s", "note": "1 run; fetch.queue.backoff.ms 1000 stalls the prefetch"},
        {"metric": "drkit read_checkpoints, best", "value": round(max(drkit_rates), 1),
         "unit": "k records/s", "note": "scan + decode survivors + index, fresh process"},
        {"metric": "drkit read_checkpoints, median",
         "value": round(statistics.median(drkit_rates), 1), "unit": "k records/s",
         "note": "runs: " + ", ".join(f"{r['seconds']:.2f} s" for r in drkit)},
        {"metric": "drkit: of which decode + index (median)",
         "value": round(statistics.median(r["seconds"] - r["scan_seconds"] for r in drkit), 2),
         "unit": "s", "note": "after the scan: decode survivors, build by_group, close"},
        {"metric": "drkit / bare, best", "value": round(best_ratio, 2), "unit": "×",
         "target": "≥ 0.8", "note": noisy},
        {"metric": "drkit / bare, median", "value": round(med_ratio, 2), "unit": "×",
         "target": "≥ 0.8"},
        {"metric": "drkit scan peak RSS", "value": round(drkit_rss), "unit": "MiB",
         "target": "≤ 200",
         "note": f"child's VmHWM (whole process); bare loop: {bare_rss:.0f} MiB"},
        {"metric": "surviving checkpoints (group, topic, partition)",
         "value": drkit[0]["checkpoints"], "unit": "checkpoints",
         "note": f"= keys written; {SAMPLE} sampled + whole-index digest match last writes"},
    ]
