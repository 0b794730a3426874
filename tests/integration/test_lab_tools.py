"""Assembling Kafka: a distribution's libs/, missing tools and an unreachable repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from drkit.errors import LabError
from drkit.lab.jars import from_kafka_home
from drkit.lab.lab import free_port


def _drkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "drkit", *args], capture_output=True,
                          text=True, env=env, timeout=300, check=False)


def test_kafka_home_uses_a_distributions_libs(tmp_path: Path) -> None:
    libs = tmp_path / "kafka" / "libs"
    libs.mkdir(parents=True)
    for name in ("kafka_2.13-4.1.1.jar", "connect-mirror-4.1.1.jar", "kafka-clients-4.1.1.jar"):
        (libs / name).write_bytes(b"")
    jars = from_kafka_home(tmp_path / "kafka")
    assert jars.version == "4.1.1" and jars.classpath == f"{libs}/*"
    with pytest.raises(LabError, match=r"no kafka_2\.13-\*\.jar and connect-mirror-\*\.jar"):
        from_kafka_home(tmp_path)


def test_missing_java_and_maven_are_one_line_errors(tmp_path: Path) -> None:
    env = {**os.environ, "DRKIT_CACHE": str(tmp_path / "cache"), "PATH": str(tmp_path)}
    res = _drkit("lab", "fetch", env=env)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "'java' is not on PATH" in res.stderr
    java = subprocess.run(["which", "java"], capture_output=True, text=True).stdout.strip()
    (tmp_path / "java").symlink_to(java)
    res = _drkit("lab", "fetch", env=env)
    assert res.returncode == 2 and "'mvn' is not on PATH" in res.stderr
    assert not (tmp_path / "cache" / "kafka-4.2.0" / "COMPLETE").exists()


def test_unreachable_maven_repository_is_a_clear_error(tmp_path: Path) -> None:
    settings = tmp_path / "settings.xml"
    settings.write_text(f"""<settings><mirrors><mirror><id>nowhere</id><mirrorOf>*</mirrorOf>
<url>http://127.0.0.1:{free_port()}/maven2</url></mirror></mirrors></settings>""")
    env = {**os.environ, "DRKIT_CACHE": str(tmp_path / "cache"),
           "DRKIT_MAVEN_SETTINGS": str(settings),
           "MAVEN_OPTS": f"-Dmaven.repo.local={tmp_path / 'm2'}"}
    res = _drkit("lab", "fetch", env=env)
    assert res.returncode == 1, res.stderr
    assert res.stderr.count("\n") == 1 and "cannot reach the Maven repository" in res.stderr
    cache = tmp_path / "cache" / "kafka-4.2.0"
    assert not (cache / "COMPLETE").exists() and not (cache / "lib").exists()
