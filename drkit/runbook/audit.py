"""The audit log, and the :class:`Redactor` that keeps secrets out of every state file.

``state_dir/audit.jsonl`` is append-only JSON lines: who started, approved, resumed, forced a lock
or rolled back which run, and when. It outlives the journals (an operator may delete a run; the
log keeps what happened), so it gets the same treatment: mode 0600, fsync after each line, and
secrets scrubbed before anything is written. How files are written (atomic, 0600/0700, fsync) is
:mod:`drkit.statedir`'s; field checks for files read back are :mod:`drkit.runbook.checks`'.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from drkit.config.jaas import parse_jaas_config
from drkit.config.redaction import MASK, is_secret_key
from drkit.errors import StateError
from drkit.statedir import append_line, check_state_dir, read_bytes, utc_now

# Values found under secret keys are hunted elsewhere in the data only from this length on:
# shorter ones ("no", "1") would mangle unrelated text; they are still masked where they stand.
# The final text check uses the same bound so short secrets cannot break a journal's structure.
MIN_HUNTED = 6
#: Keys whose string values (and everything below them) are free text: what a person or a
#: command wrote, where a secret may be echoed. Only these are scrubbed in journals and the log.
FREE_TEXT = frozenset({
    "error", "errors", "stdout", "stderr", "summary", "message", "messages", "note", "notes",
    "reason", "command", "detail", "details", "why", "dns", "problems", "warnings", "output",
    "source_error", "hint",
})
#: Subtrees that are data drkit acts on (the plan, its inputs, offset snapshots): never scrubbed.
STRUCTURED = frozenset({"plan", "inputs", "stats", "snapshot"})


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
        known = {s for s in secrets if isinstance(s, str) and s and s != MASK}
        #: Secrets too short to hunt in free text without mangling it (see MIN_HUNTED): the
        #: session warns about them once instead; they are still masked under secret keys.
        self.short = frozenset(s for s in known if len(s) < MIN_HUNTED)
        self.secrets = frozenset(known - self.short)

    def secrets_in(self, data: Any) -> tuple[str, ...]:
        """The known secrets plus those found under secret keys in ``data``, longest first."""
        found = set(self.secrets)
        _collect(data, found, under_secret=False)
        found.discard(MASK)
        return tuple(sorted(found, key=lambda s: (-len(s), s)))

    def scrub_free_text(self, value: Any, secrets: tuple[str, ...], free: bool = False) -> Any:
        """A copy of ``value`` where only free text is scrubbed: strings under a key in
        :data:`FREE_TEXT` (messages, errors, command output, summaries), at any depth outside the
        :data:`STRUCTURED` subtrees. Keys are never changed, and names (groups, topics, records,
        plan fields) never touched: a secret that equals a group's name must not rename the
        group in the plan a resume commits. A non-empty string under a secret-looking key is
        masked wherever it stands (it is a secret by its key).
        """
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            for k, v in value.items():
                if _masked(k, v):
                    out[k] = MASK
                elif k in STRUCTURED and not free:
                    out[k] = v
                else:
                    out[k] = self.scrub_free_text(v, secrets, free or k in FREE_TEXT)
            return out
        if isinstance(value, list | tuple):
            return [self.scrub_free_text(item, secrets, free) for item in value]
        if free and isinstance(value, str):
            return self.scrub_text(value, secrets)
        return value

    @staticmethod
    def scrub_text(text: str, secrets: tuple[str, ...]) -> str:
        """``text`` with every secret (at least :data:`MIN_HUNTED` long) replaced by ``***``."""
        for secret in secrets:
            if len(secret) >= MIN_HUNTED:
                text = text.replace(secret, MASK)
        return text

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
        """Record ``event`` for ``run_id``; returns the record as written (free text scrubbed).

        ``details`` named ``at``, ``run_id`` or ``event`` are dropped: those are the log's own.
        """
        hunted = self._redactor.secrets_in({"who": who, **details})
        record: dict[str, Any] = {"at": utc_now(), "run_id": run_id, "event": event, "who": who}
        # Only free text (errors, messages) is scrubbed: names and digests stay exact.
        extra = self._redactor.scrub_free_text(
            {k: v for k, v in details.items() if k not in record}, hunted)
        record.update(extra)
        line = json.dumps(record, ensure_ascii=False, default=str)
        self._append_line(line.encode("utf-8"))
        return json.loads(line)  # type: ignore[no-any-return]

    def read(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """The events (of ``run_id``, or all), oldest first; a line that is not a JSON object
        comes back as an ``event: "corrupt-line"`` entry with its line number, not an error."""
        check_state_dir(self.state_dir, writable=False)
        try:
            raw = read_bytes(self.path)
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
        """One fsynced line in the log (:func:`drkit.statedir.append_line`)."""
        try:
            append_line(self.state_dir, self.path, payload)
        except OSError as exc:
            raise StateError(f"cannot append to audit log {self.path}: {exc.strerror}") from None
