"""How long the lab takes and how much memory it holds, so tests can plan their time.

Measures: jar download with an empty Maven repository (cold) and with the drkit cache filled
(warm), storage format, broker start, MM2 until a sentinel record is mirrored, and the lab's
resident memory after a small workload.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from drkit.lab import jars as jars_mod
from drkit.lab.demo import commit_positions, produce_orders
from drkit.lab.files import MM2Options
from drkit.lab.lab import Lab


def _timed_jars(cache: Path, maven_repo: Path | None) -> tuple[float, jars_mod.KafkaJars]:
    old_cache, old_opts = os.environ.get("DRKIT_CACHE"), os.environ.get("MAVEN_OPTS")
    os.environ["DRKIT_CACHE"] = str(cache)
    if maven_repo is not None:
        os.environ["MAVEN_OPTS"] = f"-Dmaven.repo.local={maven_repo}"
    try:
        started = time.monotonic()
        jars = jars_mod.ensure_jars()
        return time.monotonic() - started, jars
    finally:
        for key, val in (("DRKIT_CACHE", old_cache), ("MAVEN_OPTS", old_opts)):
            if val is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = val


def run() -> list[dict[str, object]]:
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-lab-"))
    try:
        cold_s, _ = _timed_jars(work / "cache", work / "m2")
        warm_resolve_s, _ = _timed_jars(work / "cache2", None)
        cached_s, jars = _timed_jars(work / "cache", None)
        lab = Lab.create(work / "lab", jars, MM2Options(), with_dns=False)
        started = time.monotonic()
        lab.up()
        up_s = time.monotonic() - started
        produce_orders(lab.bootstrap("primary"))
        commit_positions(lab.bootstrap("primary"), "bench-group", 100)
        time.sleep(5)  # let MM2 run a few checkpoint cycles before reading memory
        peak = lab.peak_rss_mib()
        t = lab.state.timings_s
        lab.down()
        n_jars = len(list(jars.lib_dir.glob("*.jar")))
        size_mb = sum(p.stat().st_size for p in jars.lib_dir.glob("*.jar")) / 1e6
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [
        {"metric": "jar download, cold (empty Maven repo)", "value": round(cold_s, 1), "unit": "s",
         "note": f"{n_jars} jars, {size_mb:.0f} MB"},
        {"metric": "jar copy, warm (~/.m2 filled)", "value": round(warm_resolve_s, 1), "unit": "s"},
        {"metric": "jars already in drkit cache", "value": round(cached_s, 2), "unit": "s"},
        {"metric": "storage format (both brokers)", "value": t["format"], "unit": "s"},
        {"metric": "primary broker start to metadata", "value": t["start_primary"], "unit": "s"},
        {"metric": "backup broker ready after primary", "value": t["start_backup"], "unit": "s"},
        {"metric": "MM2 start to sentinel mirrored", "value": t["start_mm2"], "unit": "s"},
        {"metric": "lab up, total", "value": round(up_s, 1), "unit": "s"},
        {"metric": "lab resident memory (2 brokers + MM2)", "value": peak, "unit": "MiB"},
    ]
