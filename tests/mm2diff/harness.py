"""Compile and run the Java side of the MM2 config parity proof (``Mm2Facts.java``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drkit.lab.jars import KafkaJars

HERE = Path(__file__).parent
SOURCES = tuple(sorted(HERE.glob("*.java")))
MAIN_CLASS = "org.apache.kafka.connect.mirror.Mm2Facts"


def compile_harness(jars: KafkaJars, out_dir: Path) -> Path:
    """javac the harness (and the corpus' custom policy) against the Kafka jars into ``out_dir``."""
    javac = shutil.which("javac") or "/usr/bin/javac"
    out_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [javac, "-nowarn", "-encoding", "UTF-8", "-d", str(out_dir), "-cp", jars.classpath,
         *map(str, SOURCES)],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"javac failed:\n{proc.stdout}{proc.stderr}")
    return out_dir


def run_harness(jars: KafkaJars, classes: Path, files: Sequence[Path]) -> dict[str, Any]:
    """MM2's facts for all ``files`` in one JVM, keyed by file name."""
    java = shutil.which("java") or "/usr/bin/java"
    proc = subprocess.run(
        [java, "-Xshare:auto", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
         "-Dlog4j2.level=OFF", "-cp", f"{classes}:{jars.classpath}", MAIN_CLASS,
         *map(str, files)],
        capture_output=True, text=True, check=False, timeout=300,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"Mm2Facts failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])
