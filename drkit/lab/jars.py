"""Assemble Kafka and MirrorMaker 2 from Maven Central jars into a reusable cache.

There is no Kafka tarball to download here, so the broker, the storage tool, MM2 and the CLI
tools are resolved as Maven artifacts. The slf4j binding is pinned next to slf4j-api: a
mismatch makes every Kafka log line (readiness lines included) vanish silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from drkit.errors import LabError, ToolMissingError

KAFKA_VERSION = "4.2.0"
LOG4J_VERSION = "2.25.3"
SLF4J_VERSION = "1.7.36"

_KAFKA_ARTIFACTS = (
    "kafka_2.13", "kafka-server", "connect-mirror", "connect-runtime", "kafka-tools",
)

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.drkit</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{deps}
  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId>
    <version>3.8.1</version>
  </plugin></plugins></build>
</project>
"""


def _dep(group: str, artifact: str, version: str) -> str:
    return (
        f"    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
        f"<version>{version}</version></dependency>"
    )


def render_pom(kafka_version: str = KAFKA_VERSION) -> str:
    deps = [_dep("org.apache.kafka", a, kafka_version) for a in _KAFKA_ARTIFACTS]
    deps += [
        _dep("org.slf4j", "slf4j-api", SLF4J_VERSION),
        _dep("org.apache.logging.log4j", "log4j-api", LOG4J_VERSION),
        _dep("org.apache.logging.log4j", "log4j-core", LOG4J_VERSION),
        _dep("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
    ]
    return _POM.format(deps="\n".join(deps))


def cache_root() -> Path:
    env = os.environ.get("DRKIT_CACHE")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "drkit"


@dataclass(frozen=True)
class KafkaJars:
    """A directory of jars that together run the broker, the storage tool, MM2 and the tools."""

    lib_dir: Path
    version: str
    seconds_to_assemble: float = 0.0

    @property
    def classpath(self) -> str:
        return str(self.lib_dir / "*")


def require_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissingError(f"'{name}' is not on PATH: {hint}")
    return path


def from_kafka_home(home: Path) -> KafkaJars:
    """Use an existing Kafka distribution's ``libs/`` instead of Maven."""
    libs = home / "libs"
    if not any(libs.glob("kafka_2.13-*.jar")) or not any(libs.glob("connect-mirror-*.jar")):
        raise LabError(
            f"--kafka-home {home}: no kafka_2.13-*.jar and connect-mirror-*.jar in {libs}; "
            "point it at an unpacked Apache Kafka 4.x distribution"
        )
    version = next(libs.glob("kafka_2.13-*.jar")).name.removeprefix("kafka_2.13-")
    return KafkaJars(libs, version.removesuffix(".jar"))


def ensure_jars(kafka_version: str = KAFKA_VERSION, *, quiet: bool = True) -> KafkaJars:
    """Return the cached jars, resolving them with Maven on first use.

    The directory is filled under a temporary name and renamed when complete, so an interrupted
    download never leaves a half-filled cache that later runs would trust.
    """
    require_tool("java",
                 "install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)")
    root = cache_root() / f"kafka-{kafka_version}"
    lib = root / "lib"
    if (root / "COMPLETE").exists() and lib.is_dir():
        return KafkaJars(lib, kafka_version)
    mvn = require_tool("mvn", "install Apache Maven (Debian: apt-get install maven)")
    root.mkdir(parents=True, exist_ok=True)
    pom = root / "pom.xml"
    pom.write_text(render_pom(kafka_version))
    staging = root / f"lib.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        mvn, "-B", "-f", str(pom), "dependency:copy-dependencies",
        "-DincludeScope=runtime", "-Dmdep.prependGroupId=true", f"-DoutputDirectory={staging}",
    ]
    if quiet:
        cmd.insert(1, "-q")
    settings = os.environ.get("DRKIT_MAVEN_SETTINGS")
    if settings:  # e.g. a company mirror of Maven Central
        cmd[1:1] = ["-s", settings]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise LabError(_explain_maven_failure(proc.stdout + proc.stderr, kafka_version, pom))
    shutil.rmtree(lib, ignore_errors=True)
    staging.rename(lib)
    (root / "COMPLETE").write_text(f"{kafka_version}\n")
    return KafkaJars(lib, kafka_version, elapsed)


def _explain_maven_failure(output: str, version: str, pom: Path) -> str:
    lines = [ln.split("[ERROR]", 1)[1].strip() for ln in output.splitlines() if "[ERROR]" in ln]
    lines = [ln for ln in lines if ln]
    first = lines[0] if lines else output.strip()[-300:]
    # With -q Maven hides the transfer warnings; an unreachable repository then shows up as
    # "No plugin found for prefix 'dependency' … available from the repositories [...]".
    if any(w in output for w in ("UnknownHost", "Could not transfer", "Connection refused",
                                 "Network is unreachable", "timed out", "No plugin found")):
        return (f"cannot reach the Maven repository to fetch Kafka {version} jars ({first[:200]}); "
                "check network/proxy settings in ~/.m2/settings.xml or use --kafka-home DIR")
    return (f"Maven could not resolve Kafka {version} jars with {pom}: {first[:300]}; "
            "use --kafka-home DIR with an unpacked Kafka 4.x distribution instead")
