"""The lab: two single-node KRaft clusters (``primary``, ``backup``), MM2 between them, BIND.

Everything a lab owns lives in one directory (configs, data, logs, ``lab.json`` with pids), so
``drkit lab down --dir DIR`` can stop exactly what ``up`` started, and tests can run private labs
side by side. ``lab.json`` is not trusted to name processes: a pid is signalled only if it is
owned by the current user and runs the command line this lab directory's member would run
(:meth:`LabState.expected`); any other is left alone and reported (:attr:`Lab.warnings`).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from drkit.errors import LabError, UsageError
from drkit.lab import files, procs, ready
from drkit.lab.jars import KafkaJars

BROKERS = ("primary", "backup")
MEMBERS = (*BROKERS, "mm2", "bind")
STATE_FILE = "lab.json"

BROKER_JVM = ["-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError"]
MM2_JVM = ["-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError"]
TOOL_JVM = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]

Progress = Callable[[str], None]


def default_dir() -> Path:
    return Path(os.environ.get("DRKIT_LAB_DIR", "drkit-lab")).absolute()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_cluster_id() -> str:
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


@dataclass
class LabState:
    """What ``lab.json`` holds: enough to restart, stop or describe every member."""

    dir: str
    kafka_version: str
    lib_dir: str
    ports: dict[str, dict[str, int]]
    cluster_ids: dict[str, str]
    mm2: dict[str, Any]
    pids: dict[str, dict[str, Any]] = field(default_factory=dict)
    dns: dict[str, Any] | None = None
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.dir)

    def bootstrap(self, member: str) -> str:
        return f"127.0.0.1:{self.ports[member]['client']}"

    def mm2_options(self) -> files.MM2Options:
        raw = dict(self.mm2)
        raw["flows"] = tuple(tuple(f) for f in raw["flows"])
        return files.MM2Options(**raw)

    def save(self) -> None:
        tmp = self.path / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(tmp, self.path / STATE_FILE)

    @classmethod
    def load(cls, lab_dir: Path) -> LabState:
        path = lab_dir / STATE_FILE
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise UsageError(
                f"no lab in {lab_dir} ({STATE_FILE} missing); start one with "
                f"`drkit lab up --dir {lab_dir}`"
            ) from None
        except (OSError, ValueError) as exc:
            raise LabError(f"{path}: unreadable lab state ({exc}); remove {lab_dir} and "
                           "start a new lab") from exc
        if not isinstance(raw, dict):
            raise LabError(f"{path}: unreadable lab state (not a JSON object); remove "
                           f"{lab_dir} and start a new lab")
        # The directory is the one we were asked to open, whatever the file says: which
        # processes belong to the lab is judged by this directory's config files.
        raw["dir"] = str(lab_dir.absolute())
        try:
            return cls(**raw)
        except TypeError as exc:
            raise LabError(f"{path}: unreadable lab state ({exc}); remove {lab_dir} and "
                           "start a new lab") from None

    def record(self, member: str) -> procs.ProcessRecord | None:
        raw = self.pids.get(member)
        return procs.ProcessRecord.from_dict(raw) if raw else None

    def expected(self, member: str) -> procs.Expected:
        """The command line the lab runs for ``member``, from this directory (not lab.json)."""
        lab_dir = self.path
        if member in BROKERS:
            return procs.Expected("java", ("kafka.Kafka",
                                           str(lab_dir / member / "server.properties")))
        if member == "mm2":
            return procs.Expected("java", ("org.apache.kafka.connect.mirror.MirrorMaker",
                                           str(lab_dir / "mm2.properties")))
        return procs.Expected("named", ("-c", str(lab_dir / "dns" / "named.conf")))

    def foreign(self, member: str) -> str | None:
        """A one-line reason to leave ``member``'s recorded pid alone, or None."""
        rec = self.record(member)
        why = procs.foreign(rec, self.expected(member)) if rec is not None else None
        if rec is None or why is None:
            return None
        return (f"{member}: left pid {rec.pid} alone: {why}, so {self.path / STATE_FILE} does "
                "not describe a process this lab started")

    def running(self, member: str) -> bool:
        rec = self.record(member)
        return rec is not None and procs.is_running(rec) and self.foreign(member) is None


class Lab:
    """Operations on one lab directory."""

    def __init__(self, state: LabState, progress: Progress | None = None) -> None:
        self.state = state
        self.progress = progress or (lambda _msg: None)
        #: One line per recorded pid that was left alone because it is not the lab's.
        self.warnings: list[str] = []

    @property
    def dir(self) -> Path:
        return self.state.path

    @property
    def config_path(self) -> Path:
        return self.dir / "drkit.toml"

    @property
    def mm2_config_path(self) -> Path:
        return self.dir / "mm2.properties"

    def bootstrap(self, member: str) -> str:
        return self.state.bootstrap(member)

    def log_path(self, member: str) -> Path:
        return self.dir / f"{member}.log"

    @classmethod
    def open(cls, lab_dir: Path, progress: Progress | None = None) -> Lab:
        return cls(LabState.load(lab_dir), progress)

    # ----- creation ---------------------------------------------------------------------

    @classmethod
    def create(cls, lab_dir: Path, jars: KafkaJars, mm2: files.MM2Options,
               with_dns: bool, progress: Progress | None = None) -> Lab:
        """Write every file of a new lab; starts nothing."""
        lab_dir = lab_dir.absolute()
        if (lab_dir / STATE_FILE).exists():
            old = LabState.load(lab_dir)
            if any(old.running(m) for m in MEMBERS):
                raise UsageError(
                    f"a lab is already running in {lab_dir}; stop it with "
                    f"`drkit lab down --dir {lab_dir}` or pick another --dir"
                )
        lab_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("primary", "backup"):
            if (lab_dir / sub / "data").exists():
                raise UsageError(
                    f"{lab_dir / sub / 'data'} already holds a cluster's data; "
                    f"`drkit lab down --dir {lab_dir} --purge` or pick another --dir"
                )
        ports = {b: {"client": free_port(), "controller": free_port()} for b in BROKERS}
        state = LabState(
            dir=str(lab_dir), kafka_version=jars.version, lib_dir=str(jars.lib_dir), ports=ports,
            cluster_ids={b: new_cluster_id() for b in BROKERS},
            mm2={**asdict(mm2), "flows": [list(f) for f in mm2.flows]},
        )
        lab = cls(state, progress)
        (lab_dir / "log4j2.properties").write_text(files.LOG4J2.format(level="INFO"))
        (lab_dir / "log4j2-tools.properties").write_text(files.LOG4J2.format(level="WARN"))
        for b in BROKERS:
            (lab_dir / b).mkdir(exist_ok=True)
            (lab_dir / b / "server.properties").write_text(files.server_properties(
                lab_dir / b / "data", files.BrokerPorts(**ports[b])))
        lab.mm2_config_path.write_text(files.mm2_properties(
            {b: state.bootstrap(b) for b in BROKERS}, mm2))
        if with_dns:
            from drkit.lab import bind

            state.dns = bind.prepare(lab_dir / "dns", free_port())
        lab.write_drkit_toml()
        state.save()
        return lab

    def write_drkit_toml(self) -> None:
        dns = self.state.dns
        records = [(dns["record"], dns["values"])] if dns else []
        text = files.drkit_toml("mm2.properties", ".drkit", dns, records,
                                mm2_version=self.state.kafka_version)
        self.config_path.write_text(text)

    # ----- process control ----------------------------------------------------------------

    def _java(self, jvm: list[str], log_cfg: str, member: str) -> list[str]:
        return [
            "java", *jvm, f"-Ddrkit.lab={self.dir}", f"-Ddrkit.member={member}",
            f"-Dlog4j2.configurationFile={self.dir / log_cfg}",
            f"-Dkafka.logs.dir={self.dir / 'logs'}",
            "-cp", str(Path(self.state.lib_dir) / "*"),
        ]

    def format_storage(self) -> None:
        """Format both brokers' log dirs at once (two short JVMs in parallel)."""
        started = time.monotonic()
        running = []
        for b in BROKERS:
            argv = [*self._java(TOOL_JVM, "log4j2-tools.properties", f"format-{b}"),
                    "kafka.tools.StorageTool", "format", "-t", self.state.cluster_ids[b],
                    "-c", str(self.dir / b / "server.properties")]
            log = open(self.log_path(f"format-{b}"), "wb")  # noqa: SIM115 - closed below
            running.append((b, log, subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                                     stdin=subprocess.DEVNULL)))
        for b, log, proc in running:
            rc = proc.wait(timeout=120)
            log.close()
            if rc != 0:
                raise LabError(f"formatting {b}'s storage failed (exit {rc}); "
                               f"see {self.log_path(f'format-{b}')}")
        self.state.timings_s["format"] = round(time.monotonic() - started, 2)

    def _spawn(self, member: str) -> None:
        if self.state.running(member):
            return
        if member in BROKERS:
            argv = [*self._java(BROKER_JVM, "log4j2.properties", member), "kafka.Kafka",
                    str(self.dir / member / "server.properties")]
        elif member == "mm2":
            argv = [*self._java(MM2_JVM, "log4j2.properties", member),
                    "org.apache.kafka.connect.mirror.MirrorMaker", str(self.mm2_config_path)]
        else:
            from drkit.lab import bind

            assert self.state.dns is not None
            argv = bind.argv(self.state.dns)
        rec = procs.spawn(argv, self.log_path(member), self.dir)
        self.state.pids[member] = rec.to_dict()
        self.state.save()

    def start(self, member: str, timeout_s: float = 120.0) -> None:
        """Start one member and wait until it really works."""
        self._check_member(member)
        started = time.monotonic()
        self._spawn(member)
        alive = self._alive_check(member)
        if member in BROKERS:
            self.progress(f"waiting for {member} at {self.bootstrap(member)}")
            ready.wait_broker(self.bootstrap(member), timeout_s, alive)
        elif member == "mm2":
            self.progress("waiting for MirrorMaker 2 to mirror a sentinel record")
            for src, tgt in self.state.mm2_options().flows:
                ready.wait_mirrored(self.bootstrap(src), self.bootstrap(tgt),
                                    self.sentinel_topics(src, tgt), timeout_s, alive)
        else:
            from drkit.lab import bind

            assert self.state.dns is not None
            bind.wait_ready(self.state.dns, timeout_s, alive)
        self.state.timings_s[f"start_{member}"] = round(time.monotonic() - started, 2)
        self.state.save()

    def _alive_check(self, member: str) -> Callable[[], None]:
        def check() -> None:
            if not self.state.running(member):
                tail = _tail(self.log_path(member))
                raise LabError(f"{member} exited during start-up; see {self.log_path(member)}"
                               + (f": {tail}" if tail else ""))
        return check

    def _check_member(self, member: str) -> None:
        if member not in MEMBERS:
            raise UsageError(f"unknown lab member {member!r}; choose one of {', '.join(MEMBERS)}")
        if member == "bind" and not self.state.dns:
            raise UsageError("this lab has no BIND server (named was not installed at `lab up`)")

    def sentinel_topics(self, source: str, target: str) -> tuple[str, str]:
        """(topic on source, its mirror on target) used to prove a flow replicates."""
        opts = self.state.mm2_options()
        topic = "orders.ready"
        if opts.policy == "identity":
            return topic, topic
        return topic, f"{source}{opts.separator}{topic}"

    def _ours(self, member: str) -> procs.ProcessRecord | None:
        """The member's record if its pid may be signalled; a foreign pid adds a warning."""
        rec = self.state.record(member)
        if rec is None:
            return None
        why = self.state.foreign(member)
        if why is not None:
            self.warnings.append(why)
            return None
        return rec

    def stop(self, member: str, *, kill: bool = False) -> bool:
        self._check_member(member)
        rec = self._ours(member)
        if rec is None:
            return False
        done = procs.kill(rec) if kill else procs.stop(rec)
        return done

    def up(self, with_mm2: bool = True) -> None:
        """Format, start brokers, create topics, start MM2 (and BIND); undo all on failure."""
        try:
            self.progress("formatting storage")
            self.format_storage()
            for b in BROKERS:
                self._spawn(b)
            for b in BROKERS:
                self.start(b)
            self.create_topics()
            if self.state.dns:
                self.start("bind")
            if with_mm2:
                self.start("mm2")
        except BaseException:
            self.down()
            raise

    def create_topics(self) -> None:
        """``orders`` (3 partitions) and the sentinel topic on every flow's source."""
        sources = {src for src, _ in self.state.mm2_options().flows}
        for src in sorted(sources):
            ready.create_topics(self.bootstrap(src), {"orders": 3, "orders.ready": 1})

    def down(self) -> list[str]:
        """Stop what this lab started, MM2 first so it does not log errors about brokers."""
        stopped = []
        for member in ("mm2", "bind", "backup", "primary"):
            rec = self._ours(member)
            if rec is not None and procs.stop(rec):
                stopped.append(member)
        return stopped

    def status(self) -> list[dict[str, Any]]:
        rows = []
        for member in MEMBERS:
            if member == "bind" and not self.state.dns:
                continue
            rec = self.state.record(member)
            running = self.state.running(member)
            row: dict[str, Any] = {
                "member": member, "state": "running" if running else "stopped",
                "pid": rec.pid if rec and running else None,
                "rss_mib": round(procs.rss_kib(rec) / 1024) if rec and running else None,
                "address": self._address(member), "log": str(self.log_path(member)),
            }
            if member in BROKERS:
                row["reachable"] = running and ready.broker_answers(self.bootstrap(member), 2.0)
            rows.append(row)
        return rows

    def _address(self, member: str) -> str:
        if member in BROKERS:
            return self.bootstrap(member)
        if member == "bind" and self.state.dns:
            return f"{self.state.dns['server']}:{self.state.dns['port']}"
        return "-"

    def env(self) -> dict[str, str]:
        out = {
            "DRKIT_LAB_DIR": str(self.dir),
            "DRKIT_CONFIG": str(self.config_path),
            "DRKIT_PRIMARY_BOOTSTRAP": self.bootstrap("primary"),
            "DRKIT_BACKUP_BOOTSTRAP": self.bootstrap("backup"),
        }
        if self.state.dns:
            out["DRKIT_DNS_SERVER"] = f"{self.state.dns['server']}:{self.state.dns['port']}"
        return out

    def peak_rss_mib(self) -> int:
        return round(sum(procs.rss_kib(r) for m in MEMBERS
                         if (r := self.state.record(m)) and self.state.running(m)) / 1024)


def _tail(path: Path, lines: int = 1) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    errors = [ln for ln in text if " ERROR " in ln or "Exception" in ln]
    pick = (errors or text)[-lines:]
    return " | ".join(p.strip()[:300] for p in pick)
