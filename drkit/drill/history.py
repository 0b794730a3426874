"""Every drill's report, kept under ``state_dir/drills/<run_id>.json`` (issue 10 item 5).

Written through :mod:`drkit.statedir` (atomic replace, 0600 file in a 0700 directory,
``O_NOFOLLOW``), so a crash leaves the old report or the new one and a planted symlink is
refused. :func:`load_reports` lists them newest first; a damaged file is listed as damaged (with
the reason) and never stops the others from being read.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from drkit import statedir
from drkit.drill.report import DrillReport, ReportFormatError, parse_time
from drkit.errors import StateError

__all__ = ["DRILLS_DIR", "DamagedReport", "drills_dir", "last_passing", "load_history",
           "load_reports", "report_path", "save_report", "write_output_file"]

DRILLS_DIR = "drills"
# The run id shape of drkit.runbook.state: a file name that cannot leave drills/.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class DamagedReport:
    """A file in ``drills/`` that is not a readable report: its path and one line why."""

    path: Path
    reason: str

    @property
    def run_id(self) -> str:
        return self.path.stem


def drills_dir(state_dir: Path) -> Path:
    return Path(state_dir) / DRILLS_DIR


def report_path(state_dir: Path, run_id: str) -> Path:
    """``state_dir/drills/<run_id>.json``; a StateError for an id that could escape drills/."""
    if not _RUN_ID.fullmatch(run_id):
        raise StateError(f"{run_id!r} is not a drill run id; `drkit drill history` lists them")
    return drills_dir(state_dir) / f"{run_id}.json"


def save_report(state_dir: Path, report: DrillReport) -> Path:
    """Write ``report`` atomically (0600) and return its path; StateError if it cannot."""
    path = report_path(state_dir, report.run_id)
    payload = json.dumps(report.to_dict(), indent=2, sort_keys=False).encode() + b"\n"
    try:
        statedir.ensure_dir(Path(state_dir))
        statedir.ensure_dir(path.parent)
        statedir.atomic_write(path, payload)
    except OSError as exc:
        raise StateError(f"cannot write drill report {path}: {exc.strerror or exc}; "
                         f"check that {path.parent} is a writable directory") from None
    return path


def read_report(path: Path) -> DrillReport:
    """One report file; StateError naming the file and what is wrong with it."""
    try:
        raw = statedir.read_bytes(path)
    except OSError as exc:
        raise StateError(f"cannot read drill report {path}: {exc.strerror or exc}") from None
    if len(raw) > _MAX_BYTES:
        raise StateError(f"drill report {path} is damaged: larger than {_MAX_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StateError(f"drill report {path} is damaged: not JSON ({exc}); "
                         f"move it out of {path.parent} to silence this") from None
    try:
        return DrillReport.from_dict(data)
    except ReportFormatError as exc:
        raise StateError(f"drill report {path} is damaged: {exc}; "
                         f"move it out of {path.parent} to silence this") from None


def load_history(state_dir: Path) -> tuple[list[DrillReport], list[DamagedReport]]:
    """All reports, newest (``finished_at``) first, and the files that could not be read."""
    directory = drills_dir(state_dir)
    try:
        names = sorted(p for p in directory.iterdir()
                       if p.suffix == ".json" and not p.name.startswith("."))
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        raise StateError(f"cannot list {directory}: {exc.strerror or exc}") from None
    reports: list[DrillReport] = []
    damaged: list[DamagedReport] = []
    for path in names:
        try:
            reports.append(read_report(path))
        except StateError as exc:
            damaged.append(DamagedReport(path, str(exc)))
    reports.sort(key=lambda r: (parse_time(r.finished_at), r.run_id), reverse=True)
    return reports, damaged


def load_reports(state_dir: Path) -> list[DrillReport]:
    """The readable reports, newest first (damaged files are skipped; see :func:`load_history`)."""
    return load_history(state_dir)[0]


def last_passing(reports: list[DrillReport], source: str | None = None,
                 target: str | None = None) -> DrillReport | None:
    """The newest passing report (of the ``source``→``target`` pair if given)."""
    for r in reports:
        if r.passed and (source is None or r.source == source) and (
                target is None or r.target == target):
            return r
    return None


def write_output_file(path: Path, text: str, mode: int = 0o644) -> None:
    """Write a report file an operator named (``--junit``, ``--prometheus-file``) atomically.

    node_exporter's textfile collector may read it mid-write, so: temp file in the same
    directory (exclusive, ``O_NOFOLLOW``), fsync, rename over ``path``; mode 0644 by default
    because the collector and CI agents run as other users (the figures are not secret).
    A StateError names the file and what to do if it cannot be written.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
                     | getattr(os, "O_NOFOLLOW", 0), mode)
        try:
            try:
                os.fchmod(fd, mode)
                statedir.write_all(fd, text.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise StateError(f"cannot write {path}: {exc.strerror or exc}; check that "
                         f"{path.parent} exists and is writable") from None
