"""The audit log, and what every file under the state dir shares: durability, no secrets, checks.

``state_dir/audit.jsonl`` is append-only JSON lines: who started, approved, resumed, forced a lock
or rolled back which run, and when. It outlives the journals (an operator may delete a run; the
log keeps what happened), so it gets the same treatment: mode 0600, fsync after each line, and
secrets scrubbed before anything is written. The helpers below (atomic writes, 0700 directories,
:class:`Redactor`, field checks for files read back) live here because the journal and the lock
use them too and this module depends on nothing else in the package.
"""

from __future__ import annotations

import json
import os
import secrets as _random
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drkit.config.jaas import parse_jaas_config
from drkit.config.redaction import MASK, is_secret_key
from drkit.errors import StateError

# Values found under secret keys are hunted elsewhere in the data only from this length on:
# shorter ones ("no", "1") would mangle unrelated text; they are still masked where they stand.
# The final text check uses the same bound so short secrets cannot break a journal's structure.
MIN_HUNTED = 6


def format_time(when: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``: sorts as text and parses everywhere."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def utc_now() -> str:
    """Now, as :func:`format_time` writes it."""
    return format_time(datetime.now(UTC))


def fsync_dir(directory: Path) -> None:
    """Make a rename, creation or removal in ``directory`` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(directory: Path) -> None:
    """Create ``directory`` as 0700 whatever the umask; an existing one's mode is left alone.

    Its parents are the operator's (e.g. the project dir holding ``.drkit``) and get default
    permissions; callers create ``state_dir`` itself with this function first.
    """
    if directory.is_dir():
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        return
    os.chmod(directory, 0o700)
    fsync_dir(directory.parent)


def atomic_write(path: Path, payload: bytes) -> None:
    """Replace ``path`` with ``payload`` (mode 0600) so a crash leaves the old or the new file.

    Temp file in the same directory (created exclusively, so nothing else's file is reused),
    fsync, rename over the target, fsync of the directory so the rename itself is durable.
    """
    tmp = path.with_name(f".{path.name}.{_random.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        try:
            _write_all(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def file_identity(path: Path) -> tuple[int, ...]:
    """Changes whenever the file is replaced or edited (inode, size, mtime, ctime)."""
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


# Checking what is read back from disk (journals, lock files): a file may be truncated or
# hand-edited, and each problem must name the field, never quote a value that might be secret.


class Invalid(ValueError):
    """A field of a state file is wrong; ``field`` is its path, e.g. ``steps[2].status``."""

    def __init__(self, field_path: str, what: str) -> None:
        super().__init__(f"field {field_path}: {what}")
        self.field = field_path
        self.what = what


Check = Callable[[Any, str], Any]
_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
               type(None): "null"}


def type_name(value: Any) -> str:
    """JSON's name for the type of ``value``, for messages about hand-edited files."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def check_str(value: Any, at: str) -> str:
    if not isinstance(value, str):
        raise Invalid(at, f"must be a string, not {type_name(value)}")
    return value


def check_count(value: Any, at: str) -> int:
    """A non-negative int (JSON ``true`` is not a number here, though Python thinks so)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(at, f"must be a whole number >= 0, not {type_name(value)} {value!r}")
    return value


def check_time(value: Any, at: str) -> str:
    """An ISO-8601 UTC time: runs are compared and sorted across hosts and time zones."""
    stamp = check_str(value, at)
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        raise Invalid(at, f"{stamp!r} is not an ISO-8601 time") from None
    if parsed.utcoffset() is None or parsed.utcoffset():
        raise Invalid(at, f"{stamp!r} must be in UTC (end in Z)")
    return stamp


def check_object(value: Any, at: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(at or "(top level)", f"must be an object, not {type_name(value)}")
    return value


def check_objects(value: Any, at: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise Invalid(at, f"must be a list, not {type_name(value)}")
    return [check_object(item, f"{at}[{i}]") for i, item in enumerate(value)]


def optional(check: Check) -> Check:
    """``check``, but also allowing JSON ``null``."""
    return lambda value, at: None if value is None else check(value, at)


def one_of(choices: tuple[str, ...]) -> Check:
    """A string that must be one of ``choices`` (statuses, kinds)."""
    def check(value: Any, at: str) -> str:
        if check_str(value, at) not in choices:
            raise Invalid(at, f"unknown value {value!r} (expected one of {', '.join(choices)})")
        return str(value)

    return check


def check_fields(value: Any, at: str, spec: dict[str, Check]) -> dict[str, Any]:
    """Check that ``value`` has exactly the fields of ``spec``, each of the right type."""
    obj = check_object(value, at)
    prefix = f"{at}." if at else ""
    for name in spec:
        if name not in obj:
            raise Invalid(prefix + name, "is missing")
    for name in obj:
        if name not in spec:
            raise Invalid(prefix + name, "is not a field drkit knows (hand-edited?)")
    return {name: check(obj[name], prefix + name) for name, check in spec.items()}


class Redactor:
    """Keeps secrets out of what drkit writes (defence in depth: steps should not output them).

    ``secrets`` are known secret strings (e.g. SASL passwords from the config); any string value
    under a key that :func:`~drkit.config.redaction.is_secret_key` flags is masked too, and
    hunted wherever else it appears in the same data (a password echoed in a command's output).

    Unlike :func:`~drkit.config.redaction.redact`, a container under such a key is not masked
    whole: in a journal, keys are often consumer group or topic names (``token-service``), and
    masking the offsets snapshot of such a group would make its rollback impossible.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = frozenset(s for s in secrets if isinstance(s, str) and s)

    def secrets_in(self, data: Any) -> tuple[str, ...]:
        """The known secrets plus those found under secret keys in ``data``, longest first."""
        found = set(self.secrets)
        _collect(data, found, under_secret=False)
        found.discard(MASK)
        return tuple(sorted(found, key=lambda s: (-len(s), s)))

    def scrub(self, value: Any, secrets: tuple[str, ...] | None = None) -> Any:
        """A copy of ``value`` with secret-keyed values masked and secrets cut out of strings."""
        hunted = self.secrets_in(value) if secrets is None else secrets
        if isinstance(value, Mapping):
            return {
                (self.scrub(k, hunted) if isinstance(k, str) else k): (
                    MASK if _masked(k, v) else self.scrub(v, hunted)
                )
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.scrub(item, hunted) for item in value]
        if isinstance(value, str):
            for secret in hunted:
                value = value.replace(secret, MASK)
        return value

    def guard_text(self, text: str, secrets: tuple[str, ...]) -> str:
        """The serialised ``text`` with any secret still in it (as written, or JSON-escaped)
        replaced by ``***``: the last check before bytes reach disk."""
        for secret in secrets:
            if len(secret) < MIN_HUNTED:
                continue  # short known secrets are cut from values only, see MIN_HUNTED
            for form in {secret, _escaped(secret, True), _escaped(secret, False)}:
                text = text.replace(form, MASK)
        return text


def _escaped(secret: str, ascii_only: bool) -> str:
    return json.dumps(secret, ensure_ascii=ascii_only)[1:-1]


def _masked(key: Any, value: Any) -> bool:
    """Whether ``value`` is a secret by its key: a non-empty string under a secret-looking key."""
    return isinstance(value, str) and value != "" and is_secret_key(str(key))


def _collect(value: Any, found: set[str], under_secret: bool) -> None:
    """Add to ``found`` the strings directly under secret keys (and their JAAS passwords)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _collect(item, found, _masked(key, item))
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, found, False)
    elif under_secret and isinstance(value, str) and len(value) >= MIN_HUNTED:
        found.add(value)
        try:  # a sasl.jaas.config value: its password option is a secret on its own
            _, options = parse_jaas_config(value)
        except ValueError:
            return
        found.update(v for k, v in options.items() if is_secret_key(k) and len(v) >= MIN_HUNTED)


class AuditLog:
    """Append-only JSON lines at ``state_dir/audit.jsonl``: one event per line, never rewritten.

    Each line is written with one ``write()`` on an ``O_APPEND`` descriptor, so lines from two
    processes never interleave, and fsynced, so an event reported to the operator is on disk.
    """

    def __init__(self, state_dir: Path | str, secrets: Iterable[str] = ()) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / "audit.jsonl"
        self._redactor = Redactor(secrets)

    def append(
        self, run_id: str, event: str, who: str | None = None, **details: Any
    ) -> dict[str, Any]:
        """Record ``event`` for ``run_id``; returns the record as written (secrets scrubbed).

        ``details`` named ``at``, ``run_id`` or ``event`` are dropped: those are the log's own.
        """
        hunted = self._redactor.secrets_in({"who": who, **details})
        record: dict[str, Any] = {"at": utc_now(), "run_id": run_id, "event": event}
        record["who"] = self._redactor.scrub(who, hunted)
        extra = self._redactor.scrub({k: v for k, v in details.items() if k not in record}, hunted)
        record.update(extra)
        line = self._redactor.guard_text(
            json.dumps(record, ensure_ascii=False, default=str), hunted
        )
        try:
            record = json.loads(line)
        except ValueError:  # a secret collided with the line's structure: keep the event only
            record = {k: record[k] for k in ("at", "run_id", "event")} | {"details": MASK}
            line = json.dumps(record, ensure_ascii=False)
        self._append_line(line.encode("utf-8"))
        return record

    def read(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """The events (of ``run_id``, or all), oldest first; a line that is not a JSON object
        comes back as an ``event: "corrupt-line"`` entry with its line number, not an error."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StateError(f"cannot read audit log {self.path}: {exc.strerror}") from None
        events: list[dict[str, Any]] = []
        for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                problem = None if isinstance(record, dict) else "not a JSON object"
            except ValueError as exc:
                record, problem = None, f"not valid JSON: {exc}"
            if problem is None and isinstance(record, dict):
                if run_id is None or record.get("run_id") == run_id:
                    events.append(record)
            elif run_id is None or run_id in line:
                events.append({"at": None, "run_id": run_id, "event": "corrupt-line",
                               "line": number, "error": problem, "path": str(self.path)})
        return events

    def _append_line(self, payload: bytes) -> None:
        ensure_dir(self.state_dir)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise StateError(f"cannot open audit log {self.path}: {exc.strerror}") from None
        try:
            st = os.fstat(fd)
            if st.st_mode & 0o077:
                os.fchmod(fd, 0o600)
            # A crash mid-line leaves no newline; start on a fresh line so only that one is lost.
            if st.st_size and os.pread(fd, 1, st.st_size - 1) != b"\n":
                payload = b"\n" + payload
            _write_all(fd, payload + b"\n")
            os.fsync(fd)
        except OSError as exc:
            raise StateError(f"cannot append to audit log {self.path}: {exc.strerror}") from None
        finally:
            os.close(fd)
        if st.st_size == 0:
            fsync_dir(self.state_dir)
