"""The drill report: what a drill checked, measured and concluded (pure, JSON round-trip).

Frozen dataclasses with ``to_dict()``/``from_dict()``. The dict form is the JSON form (keys
stable, documented by ``drill.schema.json``); ``from_dict`` raises :class:`ReportFormatError`
naming the field that is missing or of the wrong type, so a damaged report file is one clear
line, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

__all__ = [
    "CHECK_STATUSES",
    "REPORT_VERSION",
    "DrillReport",
    "DrillThresholds",
    "PartitionCheck",
    "ReportFormatError",
    "Rto",
    "StepTiming",
    "TopicRpo",
    "parse_time",
]

REPORT_VERSION = 1
CheckStatus = Literal["verified", "unverified", "loss", "skipped"]
CHECK_STATUSES: tuple[str, ...] = ("verified", "unverified", "loss", "skipped")


class ReportFormatError(ValueError):
    """A report dict (or file) that is not a drill report: names the field and what is wrong."""


# -- field readers: each names the field it rejects ------------------------------------------

def _get(d: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(d, Mapping):
        raise ReportFormatError(f"{where}: expected an object, got {type(d).__name__}")
    if key not in d:
        raise ReportFormatError(f"{where}.{key}: missing")
    return d[key]


def _str(d: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    if default is not None and isinstance(d, Mapping) and key not in d:
        return default
    v = _get(d, key, where)
    if not isinstance(v, str):
        raise ReportFormatError(f"{where}.{key}: expected a string, got {type(v).__name__}")
    return v


def _int(d: Mapping[str, Any], key: str, where: str) -> int:
    v = _get(d, key, where)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ReportFormatError(f"{where}.{key}: expected an integer, got {type(v).__name__}")
    return v


def _opt_int(d: Mapping[str, Any], key: str, where: str) -> int | None:
    if isinstance(d, Mapping) and d.get(key) is None:
        return None
    return _int(d, key, where)


def _float(d: Mapping[str, Any], key: str, where: str) -> float:
    v = _get(d, key, where)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ReportFormatError(f"{where}.{key}: expected a number, got {type(v).__name__}")
    return float(v)


def _opt_float(d: Mapping[str, Any], key: str, where: str) -> float | None:
    if isinstance(d, Mapping) and d.get(key) is None:
        return None
    return _float(d, key, where)


def _bool(d: Mapping[str, Any], key: str, where: str) -> bool:
    v = _get(d, key, where)
    if not isinstance(v, bool):
        raise ReportFormatError(f"{where}.{key}: expected true/false, got {type(v).__name__}")
    return v


def _list(d: Mapping[str, Any], key: str, where: str, default: list[Any] | None = None
          ) -> list[Any]:
    if default is not None and isinstance(d, Mapping) and key not in d:
        return default
    v = _get(d, key, where)
    if not isinstance(v, list):
        raise ReportFormatError(f"{where}.{key}: expected a list, got {type(v).__name__}")
    return v


def _strs(d: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    items = _list(d, key, where, default=[])
    for i, v in enumerate(items):
        if not isinstance(v, str):
            raise ReportFormatError(f"{where}.{key}[{i}]: expected a string")
    return tuple(items)


def parse_time(text: str) -> datetime:
    """An ISO-8601 time as the report writes it (``...Z``), as an aware UTC datetime."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


# -- the model --------------------------------------------------------------------------------

@dataclass(frozen=True)
class PartitionCheck:
    """One planned partition of one group: was its translated position proven safe?

    ``topic`` is the standby topic, ``translated`` the offset committed to ``shadow_group``,
    ``primary_committed`` the real group's commit on the source (source topic naming).
    ``records_again`` is the exact count of records the group would see again (from content
    matching), ``predicted_bound`` the plan's expected duplicates.
    """

    group: str
    topic: str
    partition: int
    shadow_group: str
    translated: int | None
    primary_committed: int | None
    status: CheckStatus
    records_again: int | None
    predicted_bound: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group, "topic": self.topic, "partition": self.partition,
            "shadow_group": self.shadow_group, "translated": self.translated,
            "primary_committed": self.primary_committed, "status": self.status,
            "records_again": self.records_again, "predicted_bound": self.predicted_bound,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "partition") -> PartitionCheck:
        status = _str(d, "status", where)
        if status not in CHECK_STATUSES:
            raise ReportFormatError(
                f"{where}.status: {status!r} is not one of {', '.join(CHECK_STATUSES)}")
        return cls(
            group=_str(d, "group", where), topic=_str(d, "topic", where),
            partition=_int(d, "partition", where), shadow_group=_str(d, "shadow_group", where),
            translated=_opt_int(d, "translated", where),
            primary_committed=_opt_int(d, "primary_committed", where),
            status=cast(CheckStatus, status),
            records_again=_opt_int(d, "records_again", where),
            predicted_bound=_opt_int(d, "predicted_bound", where),
            reason=_str(d, "reason", where, default=""),
        )


@dataclass(frozen=True)
class TopicRpo:
    """How far the standby's copy of one source partition was behind at the drill's instant."""

    topic: str
    remote: str
    partition: int
    records_behind: int | None
    seconds_behind: float | None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic, "remote": self.remote, "partition": self.partition,
            "records_behind": self.records_behind, "seconds_behind": self.seconds_behind,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "rpo") -> TopicRpo:
        return cls(
            topic=_str(d, "topic", where), remote=_str(d, "remote", where),
            partition=_int(d, "partition", where),
            records_behind=_opt_int(d, "records_behind", where),
            seconds_behind=_opt_float(d, "seconds_behind", where),
            reason=_str(d, "reason", where, default=""),
        )


@dataclass(frozen=True)
class StepTiming:
    """Wall time of one failover step; ``rehearsed`` False means a configured estimate."""

    step: str
    seconds: float
    rehearsed: bool

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "seconds": self.seconds, "rehearsed": self.rehearsed}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "step") -> StepTiming:
        return cls(step=_str(d, "step", where), seconds=_float(d, "seconds", where),
                   rehearsed=_bool(d, "rehearsed", where))


@dataclass(frozen=True)
class Rto:
    """Recovery time: measured steps + the DNS TTL clients wait out + estimates for the rest."""

    steps: tuple[StepTiming, ...] = ()
    dns_ttl_s: float = 0.0
    estimates_s: float = 0.0
    total_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [s.to_dict() for s in self.steps], "dns_ttl_s": self.dns_ttl_s,
                "estimates_s": self.estimates_s, "total_s": self.total_s}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "rto") -> Rto:
        steps = tuple(StepTiming.from_dict(s, f"{where}.steps[{i}]")
                      for i, s in enumerate(_list(d, "steps", where, default=[])))
        return cls(steps=steps, dns_ttl_s=_float(d, "dns_ttl_s", where),
                   estimates_s=_float(d, "estimates_s", where),
                   total_s=_float(d, "total_s", where))


@dataclass(frozen=True)
class DrillThresholds:
    """``[drill]`` thresholds from drkit.toml; None means not checked."""

    max_rpo_seconds: float | None = None
    max_rto_seconds: float | None = None
    max_duplicates_per_partition: int | None = None
    max_age_days: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"max_rpo_seconds": self.max_rpo_seconds,
                "max_rto_seconds": self.max_rto_seconds,
                "max_duplicates_per_partition": self.max_duplicates_per_partition,
                "max_age_days": self.max_age_days}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "thresholds") -> DrillThresholds:
        return cls(
            max_rpo_seconds=_opt_float(d, "max_rpo_seconds", where),
            max_rto_seconds=_opt_float(d, "max_rto_seconds", where),
            max_duplicates_per_partition=_opt_int(d, "max_duplicates_per_partition", where),
            max_age_days=_opt_float(d, "max_age_days", where),
        )


@dataclass(frozen=True)
class DrillReport:
    """One drill from ``source`` to ``target``: pass/fail, every partition check, RPO and RTO.

    ``failures`` holds one line per failure naming the partition or threshold; ``dns`` is what
    the DNS check saw (JSON-ready). ``exit_code``: 0 passed, 1 failed, 2 usage, 3 unsafe.
    """

    run_id: str
    source: str
    target: str
    started_at: str
    finished_at: str
    passed: bool
    exit_code: int
    failures: tuple[str, ...] = ()
    partitions: tuple[PartitionCheck, ...] = ()
    rpo: tuple[TopicRpo, ...] = ()
    rto: Rto = field(default_factory=Rto)
    thresholds: DrillThresholds = field(default_factory=DrillThresholds)
    dns: dict[str, Any] = field(default_factory=dict)
    shadow_prefix: str = "drkit-drill."
    kept: bool = False
    notes: tuple[str, ...] = ()

    # -- derived figures (what history, Prometheus and status show) --

    @property
    def records_again_total(self) -> int:
        """Records the groups would see again, summed over partitions that have a count."""
        return sum(p.records_again or 0 for p in self.partitions)

    @property
    def unverified_partitions(self) -> int:
        """Partitions whose position could not be proven by content (``unverified``)."""
        return sum(1 for p in self.partitions if p.status == "unverified")

    @property
    def loss_partitions(self) -> int:
        """Partitions where content matching found records a failover would skip."""
        return sum(1 for p in self.partitions if p.status == "loss")

    @property
    def rpo_seconds_max(self) -> float | None:
        """The worst ``seconds_behind`` over the mirrored partitions; None if none is known."""
        known = [r.seconds_behind for r in self.rpo if r.seconds_behind is not None]
        return max(known) if known else None

    @property
    def rpo_records_max(self) -> int | None:
        known = [r.records_behind for r in self.rpo if r.records_behind is not None]
        return max(known) if known else None

    @property
    def rto_seconds(self) -> float:
        return self.rto.total_s

    @property
    def finished(self) -> datetime:
        return parse_time(self.finished_at)

    @property
    def pair(self) -> str:
        return f"{self.source}->{self.target}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "run_id": self.run_id, "source": self.source, "target": self.target,
            "started_at": self.started_at, "finished_at": self.finished_at,
            "passed": self.passed, "exit_code": self.exit_code,
            "failures": list(self.failures),
            "summary": {
                "partitions": len(self.partitions),
                "records_again_total": self.records_again_total,
                "unverified_partitions": self.unverified_partitions,
                "loss_partitions": self.loss_partitions,
                "rpo_seconds_max": self.rpo_seconds_max,
                "rpo_records_max": self.rpo_records_max,
                "rto_seconds": self.rto_seconds,
            },
            "partitions": [p.to_dict() for p in self.partitions],
            "rpo": [r.to_dict() for r in self.rpo],
            "rto": self.rto.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "dns": dict(self.dns),
            "shadow_prefix": self.shadow_prefix,
            "kept": self.kept,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "report") -> DrillReport:
        """Rebuild a report from :meth:`to_dict`'s form (``summary`` is derived and ignored)."""
        if not isinstance(d, Mapping):
            raise ReportFormatError(f"{where}: expected an object, got {type(d).__name__}")
        version = d.get("version", REPORT_VERSION)
        if version != REPORT_VERSION:
            raise ReportFormatError(
                f"{where}.version: {version!r} is not supported (this drkit reads "
                f"version {REPORT_VERSION}); upgrade drkit to read it")
        for key in ("started_at", "finished_at"):
            try:
                parse_time(_str(d, key, where))
            except ValueError:
                raise ReportFormatError(f"{where}.{key}: not an ISO-8601 time") from None
        dns = d.get("dns", {})
        if not isinstance(dns, Mapping):
            raise ReportFormatError(f"{where}.dns: expected an object")
        return cls(
            run_id=_str(d, "run_id", where), source=_str(d, "source", where),
            target=_str(d, "target", where), started_at=_str(d, "started_at", where),
            finished_at=_str(d, "finished_at", where), passed=_bool(d, "passed", where),
            exit_code=_int(d, "exit_code", where), failures=_strs(d, "failures", where),
            partitions=tuple(PartitionCheck.from_dict(p, f"{where}.partitions[{i}]")
                             for i, p in enumerate(_list(d, "partitions", where, default=[]))),
            rpo=tuple(TopicRpo.from_dict(r, f"{where}.rpo[{i}]")
                      for i, r in enumerate(_list(d, "rpo", where, default=[]))),
            rto=Rto.from_dict(_get(d, "rto", where), f"{where}.rto"),
            thresholds=DrillThresholds.from_dict(d.get("thresholds") or {},
                                                 f"{where}.thresholds"),
            dns=dict(dns),
            shadow_prefix=_str(d, "shadow_prefix", where, default="drkit-drill."),
            kept=_bool(d, "kept", where) if "kept" in d else False,
            notes=_strs(d, "notes", where),
        )
