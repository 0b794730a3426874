"""How long drkit takes to plan and commit 1,000 groups × 12 partitions, against Kafka's tool.

A real lab (no MM2) gets, on backup, ``primary.orders.bench`` (12 partitions, 500 records each)
and ``primary.checkpoints.internal`` with two checkpoints per (group, partition) for 1,000 groups
(the second one wins). Each repetition runs ``gather_plan`` + ``apply_plan`` exactly as the CLI
does, then checks a sample of the committed offsets on backup against the plan and the last
checkpoints, and deletes the groups so the next repetition starts from the same state. First with
the source (primary) up, then with it stopped (the real failover case: drkit probes the source,
gives up, and uses the inventory saved by the earlier runs). Primary holds the same 1,000
groups' own commits on ``orders.bench``, so the source inventory is read at full size.

The comparison is ``kafka-consumer-groups --reset-offsets --from-file`` (ConsumerGroupCommand),
one JVM per group as an operator's loop would run it: it does not translate, so the CSV holds
the offsets drkit's plan computed. It runs for a sample of groups and is scaled linearly.
"""

from __future__ import annotations

import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException
from confluent_kafka import TopicPartition as KafkaTopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from drkit.config import Settings, load_settings
from drkit.kafka import clients as kafka_clients
from drkit.kafka.admin import KafkaAdmin
from drkit.lab.files import MM2Options
from drkit.lab.jars import KafkaJars, ensure_jars
from drkit.lab.lab import TOOL_JVM, Lab
from drkit.mm2.codec import encode_checkpoint
from drkit.mm2.model import Checkpoint
from drkit.offsets.apply import ApplyResult, apply_plan
from drkit.offsets.gather import gather_plan
from drkit.offsets.inputs import PlanInputs, PlanOptions
from drkit.offsets.options import now_ms
from drkit.offsets.plan import OffsetPlan

GROUPS = 1_000
PARTITIONS = 12
RECORDS_PER_PARTITION = 500
TOPIC = "primary.orders.bench"
CP_TOPIC = "primary.checkpoints.internal"
ROUNDS = 3
SAMPLE = 50
TOOL_GROUPS = 10
SEED = 1_000_12
TOOL_CLASS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"

Offsets = dict[str, dict[int, int]]
Timing = tuple[float, float, float, float]  # total, plan, commit, checkpoint scan (s)


def _admin(bootstrap: str) -> AdminClient:
    return kafka_clients.admin({"bootstrap.servers": bootstrap})


def _setup(bootstrap: str, groups: list[str], rng: random.Random) -> Offsets:
    """Create and fill both topics on backup; return the last checkpoint per group/partition."""
    admin = _admin(bootstrap)
    futs = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1),
                                NewTopic(CP_TOPIC, 1, 1, config={"cleanup.policy": "compact"})],
                               operation_timeout=30)
    for fut in futs.values():
        fut.result(timeout=30)
    prod = kafka_clients.producer({"bootstrap.servers": bootstrap}, **{"linger.ms": 20})
    for p in range(PARTITIONS):
        for i in range(RECORDS_PER_PARTITION):
            prod.produce(TOPIC, value=b'{"order": %d}' % i, key=b"k%d" % i, partition=p)
    expected: Offsets = {}
    for g in groups:
        expected[g] = {}
        for p in range(PARTITIONS):
            older = rng.randrange(0, RECORDS_PER_PARTITION // 2)
            down = rng.randrange(older, RECORDS_PER_PARTITION + 1)
            for d in (older, down):  # MM2 rewrites each key every interval; the last one wins
                key, value = encode_checkpoint(Checkpoint(g, TOPIC, p, d + 1_000, d, ""))
                prod.produce(CP_TOPIC, value=value, key=key, partition=0)
            expected[g][p] = down
    if prod.flush(60) != 0:
        raise RuntimeError("setup records were not acknowledged")
    _warm_up(bootstrap, TOPIC)
    return expected


def _warm_up(bootstrap: str, topic: str) -> None:
    """Create __consumer_offsets now, so that no measured call pays for it."""
    cons = kafka_clients.consumer({"bootstrap.servers": bootstrap}, **{"group.id": "warm-up"})
    try:
        cons.commit(offsets=[KafkaTopicPartition(topic, 0, 0)], asynchronous=False)
    finally:
        cons.close()
    _delete_groups(bootstrap, ["warm-up"])


def _source_groups(bootstrap: str, groups: list[str], expected: Offsets) -> None:
    """Give primary the groups' own commits (upstream offsets), as a live source would have."""
    admin = _admin(bootstrap)
    admin.create_topics([NewTopic("orders.bench", PARTITIONS, 1)],
                        operation_timeout=30)["orders.bench"].result(timeout=30)
    _warm_up(bootstrap, "orders.bench")
    futs = {}
    for g in groups:
        req = ConsumerGroupTopicPartitions(g, [KafkaTopicPartition("orders.bench", p, off + 1_000)
                                               for p, off in expected[g].items()])
        futs.update(admin.alter_consumer_group_offsets([req], request_timeout=30))
    for g, fut in futs.items():
        res = fut.result(timeout=60)
        if any(tp.error is not None for tp in res.topic_partitions):
            raise RuntimeError(f"cannot commit {g} on primary: {res.topic_partitions}")


def _committed(bootstrap: str, groups: Iterable[str]) -> Offsets:
    """Committed offsets on ``TOPIC`` read with a plain AdminClient (not drkit's KafkaAdmin)."""
    admin = _admin(bootstrap)
    futs = {}
    for g in groups:
        futs.update(admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(g)],
                                                      request_timeout=30))
    out: Offsets = {}
    for g, fut in futs.items():
        res = fut.result(timeout=30)
        out[g] = {tp.partition: tp.offset for tp in res.topic_partitions
                  if tp.topic == TOPIC and tp.offset >= 0}
    return out


def _delete_groups(bootstrap: str, groups: list[str]) -> None:
    admin = _admin(bootstrap)
    for g, fut in admin.delete_consumer_groups(groups, request_timeout=60).items():
        try:
            fut.result(timeout=60)
        except KafkaException as exc:
            if "GROUP_ID_NOT_FOUND" not in str(exc):
                raise RuntimeError(f"cannot delete group {g}: {exc}") from exc
    left = _committed(bootstrap, groups[:5])
    if any(left.values()):
        raise RuntimeError(f"groups still have commits after deletion: {left}")


def _plan_offsets(plan: OffsetPlan) -> Offsets:
    out: Offsets = {}
    for g, offsets in plan.commits():
        if any(tp.topic != TOPIC for tp in offsets):
            raise RuntimeError(f"plan commits outside {TOPIC} for {g}: {offsets}")
        out[g] = {tp.partition: off for tp, off in offsets.items()}
    return out


def _rep(settings: Settings, expect_source_up: bool
         ) -> tuple[float, float, OffsetPlan, PlanInputs, ApplyResult]:
    started = time.perf_counter()
    plan, inputs = gather_plan(settings, "primary", "backup", PlanOptions(now_ms=now_ms()),
                               timeout_s=60.0)
    planned = time.perf_counter()
    cluster = KafkaAdmin("backup", settings.cluster("backup").usable_client_config())
    result = apply_plan(cluster, plan)
    done = time.perf_counter()
    if inputs.source_reachable != expect_source_up:
        raise RuntimeError(f"source reachable = {inputs.source_reachable}, expected "
                           f"{expect_source_up} ({inputs.source_error})")
    commits = sum(len(o) for _, o in plan.commits())
    if commits != GROUPS * PARTITIONS:
        raise RuntimeError(f"plan commits {commits} partitions, expected {GROUPS * PARTITIONS}: "
                           f"{plan.stats}")
    if not result.ok or len(result.by_outcome("committed")) != GROUPS:
        bad = [r for r in result.results if r.outcome != "committed"][:3]
        raise RuntimeError(f"apply did not commit every group: {bad}")
    return planned - started, done - planned, plan, inputs, result


def _verify(bootstrap: str, plan: OffsetPlan, expected: Offsets, sample: list[str]) -> None:
    """Raise unless backup holds the plan's offsets, and the plan the last checkpoints."""
    planned = _plan_offsets(plan)
    got = _committed(bootstrap, sample)
    for g in sample:
        if planned.get(g) != expected[g]:
            raise RuntimeError(f"plan for {g} is {planned.get(g)}, last checkpoints {expected[g]}")
        if got[g] != planned[g]:
            raise RuntimeError(f"backup has {got[g]} for {g}, the plan committed {planned[g]}")


def _phase(lab: Lab, settings: Settings, groups: list[str], expected: Offsets,
           rng: random.Random, source_up: bool) -> list[Timing]:
    backup = lab.bootstrap("backup")
    times = []
    for _ in range(ROUNDS):
        _delete_groups(backup, groups)
        plan_s, commit_s, plan, inputs, _res = _rep(settings, source_up)
        _verify(backup, plan, expected, [groups[0], groups[-1], *rng.sample(groups, SAMPLE)])
        times.append((plan_s + commit_s, plan_s, commit_s, inputs.checkpoint_scan_s))
    return times


def _tool(lab: Lab, jars: KafkaJars, work: Path, expected: Offsets, groups: list[str]
          ) -> list[float]:
    """One ConsumerGroupCommand JVM per group, resetting all 12 partitions from a CSV."""
    backup = lab.bootstrap("backup")
    java = [
        "java", *TOOL_JVM, f"-Dlog4j2.configurationFile={lab.dir / 'log4j2-tools.properties'}",
        "-cp", jars.classpath, TOOL_CLASS, "--bootstrap-server", backup,
    ]
    tool_groups = {f"tool-{i:04d}": groups[i] for i in range(TOOL_GROUPS)}
    seconds = []
    for tg, g in tool_groups.items():
        csv = work / f"{tg}.csv"
        csv.write_text("".join(f"{TOPIC},{p},{off}\n" for p, off in sorted(expected[g].items())))
        started = time.perf_counter()
        proc = subprocess.run([*java, "--reset-offsets", "--group", tg, "--from-file", str(csv),
                               "--execute"], capture_output=True, text=True, timeout=300,
                              check=False)
        seconds.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise RuntimeError(f"{TOOL_CLASS} failed for {tg} (exit {proc.returncode}): "
                               f"{(proc.stderr or proc.stdout)[-1500:]}")
    got = _committed(backup, tool_groups)
    for tg, g in tool_groups.items():
        if got[tg] != expected[g]:
            raise RuntimeError(f"the tool committed {got[tg]} for {tg}, expected {expected[g]}")
    return seconds


def _rows(label: str, times: list[Timing]) -> list[dict[str, Any]]:
    total = [t[0] for t in times]
    plan = [t[1] for t in times]
    commit = [t[2] for t in times]
    scan = [t[3] for t in times]
    return [
        {"metric": f"plan + commit, {label}, best", "value": round(min(total), 2), "unit": "s",
         "target": "≤ 3", "note": f"{GROUPS} groups × {PARTITIONS} partitions"},
        {"metric": f"plan + commit, {label}, median", "value": round(statistics.median(total), 2),
         "unit": "s", "target": "≤ 3",
         "note": "runs: " + ", ".join(f"{t:.2f}" for t in total)},
        {"metric": f"  gather_plan, {label}, best / median", "value": round(min(plan), 2),
         "unit": "s", "note": f"median {statistics.median(plan):.2f} s; of which checkpoint "
                              f"scan {statistics.median(scan):.2f} s"},
        {"metric": f"  apply_plan, {label}, best / median", "value": round(min(commit), 2),
         "unit": "s", "note": f"median {statistics.median(commit):.2f} s"},
    ]


def run() -> list[dict[str, object]]:
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-commit-"))
    lab: Lab | None = None
    rng = random.Random(SEED)
    groups = [f"bench-{i:04d}" for i in range(GROUPS)]
    try:
        jars = ensure_jars()
        lab = Lab.create(work / "lab", jars, MM2Options(), with_dns=False)
        lab.up(with_mm2=False)
        backup = lab.bootstrap("backup")
        expected = _setup(backup, groups, rng)
        _source_groups(lab.bootstrap("primary"), groups, expected)
        settings = load_settings(lab.config_path)

        up = _phase(lab, settings, groups, expected, rng, source_up=True)
        # Re-running on committed groups must plan nothing (idempotent resume), and how fast.
        started = time.perf_counter()
        replan, _inputs = gather_plan(settings, "primary", "backup",
                                      PlanOptions(now_ms=now_ms()), timeout_s=60.0)
        replan_s = time.perf_counter() - started
        if any(True for _ in replan.commits()):
            raise RuntimeError(f"re-plan after commit is not empty: {replan.stats}")
        tool_s = _tool(lab, jars, work, expected, groups)

        lab.stop("primary")
        down = _phase(lab, settings, groups, expected, rng, source_up=False)
    finally:
        if lab is not None:
            lab.down()
        shutil.rmtree(work, ignore_errors=True)

    per_group = statistics.mean(tool_s)
    tool_total = per_group * GROUPS
    best_up = min(t[0] for t in up)
    best_down = min(t[0] for t in down)
    return [
        {"metric": "setup", "value": GROUPS * PARTITIONS, "unit": "group-partitions",
         "note": f"{GROUPS} groups × {PARTITIONS} partitions, {2 * GROUPS * PARTITIONS} "
                 "checkpoint records; 2 cores: noisy"},
        *_rows("source up", up),
        *_rows("source down", down),
        {"metric": "re-plan on committed groups (nothing to do)", "value": round(replan_s, 2),
         "unit": "s", "note": "source up; idempotence checked: empty commit list"},
        {"metric": "kafka-consumer-groups --reset-offsets --from-file, per group",
         "value": round(per_group, 2), "unit": "s",
         "note": f"mean of {TOOL_GROUPS} JVMs (min {min(tool_s):.2f}, max {max(tool_s):.2f})"},
        {"metric": f"kafka-consumer-groups loop, {GROUPS} groups (scaled)",
         "value": round(tool_total), "unit": "s",
         "note": f"{TOOL_GROUPS} groups measured × {GROUPS // TOOL_GROUPS}, linear; no "
                 "translation (CSV from drkit's plan)"},
        {"metric": "tool loop / drkit, source up (best)", "value": round(tool_total / best_up),
         "unit": "×", "note": f"drkit {best_up:.2f} s incl. reading checkpoints and planning"},
        {"metric": "tool loop / drkit, source down (best)",
         "value": round(tool_total / best_down), "unit": "×",
         "note": f"drkit {best_down:.2f} s"},
    ]

