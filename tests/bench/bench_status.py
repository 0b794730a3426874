"""`drkit status` over 200 consumer groups on the lab (target ≤ 2 s).

Measured two ways: in-process (collect + evaluate + render, what a daemon or a long-lived
exporter would pay) and as the command a cron job runs (a fresh Python process each time).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from drkit.config import load_settings
from drkit.lab.demo import produce_orders
from drkit.lab.files import MM2Options
from drkit.lab.jars import ensure_jars
from drkit.lab.lab import Lab
from drkit.mm2.reader import read_checkpoints
from drkit.status import render
from drkit.status.collect import collect
from drkit.status.evaluate import evaluate, overall

GROUPS = 200


def _commit_groups(bootstrap: str) -> None:
    for i in range(GROUPS):
        cons = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-st-{i:03d}"})
        cons.commit(offsets=[TopicPartition("orders", p, 1 + (i * 7 + p) % 199)
                             for p in range(3)], asynchronous=False)
        cons.close()


def run() -> list[dict[str, object]]:
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-status-"))
    lab = Lab.create(work / "lab", ensure_jars(), MM2Options(), with_dns=True)
    try:
        lab.up()
        produce_orders(lab.bootstrap("primary"))
        _commit_groups(lab.bootstrap("primary"))
        settings = load_settings(lab.config_path)
        cfg = settings.cluster("backup").usable_client_config()
        deadline = time.monotonic() + 180
        while True:
            index = read_checkpoints(cfg, "primary.checkpoints.internal", "backup")
            if sum(1 for g in index.by_group if g.startswith("bench-st-")) == GROUPS:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("MM2 did not checkpoint all benchmark groups in 180 s")
            time.sleep(1)
        flows = [settings.flow("primary", "backup")]
        inproc = []
        for _ in range(5):
            started = time.monotonic()
            facts = collect(settings, flows)
            checks = evaluate(facts, _thresholds())
            render.table(facts, checks)
            inproc.append(time.monotonic() - started)
        groups = len(facts.flows[0].groups)
        code = overall(checks)
        env = {**os.environ, "DRKIT_CONFIG": str(lab.config_path)}
        cli = []
        for _ in range(5):
            started = time.monotonic()
            subprocess.run(["drkit", "status", "-o", "prometheus"], env=env, check=False,
                           capture_output=True)
            cli.append(time.monotonic() - started)
    finally:
        lab.down()
        shutil.rmtree(work, ignore_errors=True)
    return [
        {"metric": "groups in the status", "value": groups, "unit": "groups",
         "note": f"{GROUPS} committed on primary × 3 partitions, checkpointed by MM2; "
                 f"status {code}"},
        {"metric": "status in-process, median", "value": round(statistics.median(inproc), 3),
         "unit": "s", "target": "≤ 2", "note": f"best {min(inproc):.3f} s of 5"},
        {"metric": "`drkit status` command, median", "value": round(statistics.median(cli), 3),
         "unit": "s", "target": "≤ 2",
         "note": f"best {min(cli):.3f} s of 5; includes Python start-up and imports"},
    ]


def _thresholds():  # type: ignore[no-untyped-def]
    from drkit.status.model import Thresholds

    return Thresholds()
