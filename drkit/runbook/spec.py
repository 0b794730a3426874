"""Runbook files → :class:`Runbook` values, checked before anything runs (pure; reads one file).

A failover that stops half-way because step five has a typo is worse than one that never started,
so every problem a file can have is found at load time (:func:`load_runbook`: structure, ids,
``when`` syntax, ``timeout``) or at :func:`validate` (step types and their ``with`` fields, given
the schemas the step implementations declare). Every message names the file, the step and the
field, and is a :class:`~drkit.errors.ConfigError` (exit 2).

``when`` conditions are a tiny language rather than ``eval`` because runbooks are shared files and
a condition must never be able to run code: ``NAME``, ``not NAME``, ``NAME == "text"``,
``NAME != "text"``, joined by ``and``/``or`` (``and`` binds tighter; no parentheses).
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from drkit.errors import ConfigError
from drkit.runbook.condition import Clause as Clause
from drkit.runbook.condition import ClauseOp as ClauseOp
from drkit.runbook.condition import Condition as Condition
from drkit.runbook.condition import describe_value as _describe
from drkit.runbook.condition import is_number as _is_number
from drkit.runbook.condition import parse_condition as parse_condition

OnFailure = Literal["abort", "continue"]
FieldType = Literal[
    "str", "int", "float", "bool", "duration", "list[str]", "str|list[str]", "table"
]

STEP_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")
RUNBOOK_KEYS = frozenset({"name", "description", "placeholder", "steps"})
STEP_KEYS = frozenset({"id", "uses", "with", "when", "timeout", "retries", "on_failure"})
ON_FAILURE: tuple[OnFailure, ...] = get_args(OnFailure)
FIELD_TYPES: tuple[FieldType, ...] = get_args(FieldType)

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


def parse_duration(value: object, where: str = "duration") -> float:
    """Seconds from a number or a string like "30s", "5m", "1h", "500ms" or "1m30s".

    Strings need a unit: a bare "30" in a file is ambiguous (seconds? ms?) and a wrong guess in a
    timeout is found only during an outage.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value.strip() and _DURATION.sub("", value.strip()) == "":
        seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(value.strip()))
    else:
        raise ConfigError(
            f"{where}: {_describe(value)} is not a duration; "
            'use seconds (30) or a string such as "30s", "5m", "1h", "500ms"'
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"{where}: duration must be a finite number ≥ 0, got {_describe(value)}")
    return seconds


@dataclass(frozen=True)
class StepSpec:
    """One ``[[steps]]`` table. ``with_`` holds the TOML ``with`` table as plain values (durations
    become float seconds once :func:`validate` has run); ``timeout_s`` None means no limit."""

    id: str
    uses: str
    with_: Mapping[str, Any]
    when: str | None = None
    timeout_s: float | None = None
    retries: int = 0
    on_failure: OnFailure = "abort"


@dataclass(frozen=True)
class Runbook:
    """A loaded runbook; ``digest`` (sha256 of the file bytes) lets a resumed run detect that the
    file changed since the run began. ``placeholder`` marks a runbook that is not complete yet:
    the engine must refuse to run it unless the operator explicitly asks to."""

    name: str
    description: str
    path: Path
    digest: str
    steps: tuple[StepSpec, ...]
    placeholder: bool = False

    @property
    def step_ids(self) -> tuple[str, ...]:
        return tuple(step.id for step in self.steps)

    def should_run(self, step: StepSpec, context: Mapping[str, Any]) -> bool:
        """Evaluate the step's ``when`` against the run context; errors name file and step."""
        if step.when is None:
            return True
        try:
            return parse_condition(step.when).evaluate(context)
        except ConfigError as exc:
            raise ConfigError(f'{self.path}: step "{step.id}": when: {exc}') from None


@dataclass(frozen=True)
class FieldSpec:
    """One ``with`` field a step type accepts. For ``duration`` fields, ``choices`` lists extra
    words accepted as-is (e.g. ``("auto",)``); for other types it restricts the values."""

    type: FieldType
    required: bool = False
    choices: tuple[Any, ...] | None = None
    default: Any = None
    #: Extra check of a well-typed value: returns what is wrong with it, or None.
    check: Callable[[Any], str | None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"FieldSpec type {self.type!r} is not one of {FIELD_TYPES}")


@dataclass(frozen=True)
class StepSchema:
    """What a step type (``uses``) accepts in ``with``; declared by the step's implementation."""

    uses: str
    fields: Mapping[str, FieldSpec] = field(default_factory=dict)
    description: str = ""


def load_runbook(path: Path) -> Runbook:
    """Read and check one runbook file (structure only; see :func:`validate` for step types)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read runbook {path}: {exc.strerror or exc}") from None
    return parse_runbook(raw, path)


def parse_runbook(raw: bytes, path: Path) -> Runbook:
    """Build a :class:`Runbook` from a file's bytes (pure); ``path`` is for messages and kept."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.search(str(exc))
        line = int(match.group(1)) if match else text.count("\n") + 1
        raise ConfigError(f"{path}:{line}: invalid TOML: {exc}") from None
    _reject_unknown(data, RUNBOOK_KEYS, f"{path}: unknown top-level key")
    if "name" not in data:
        raise ConfigError(f'{path}: missing required key "name"; add e.g. name = "{path.stem}"')
    name = _get(data, "name", None, "str", f"{path}: key")
    if not name.strip():
        raise ConfigError(f'{path}: key "name" must not be empty')
    description = _get(data, "description", "", "str", f"{path}: key")
    placeholder = _get(data, "placeholder", False, "bool", f"{path}: key")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ConfigError(f"{path}: no steps; add at least one [[steps]] table with id and uses")
    steps: list[StepSpec] = []
    seen: dict[str, int] = {}
    for index, raw_step in enumerate(raw_steps, start=1):
        step = _parse_step(raw_step, index, path)
        if step.id in seen:
            raise ConfigError(
                f'{path}: step #{index}: duplicate step id "{step.id}" (also step #{seen[step.id]})'
            )
        seen[step.id] = index
        steps.append(step)
    digest = hashlib.sha256(raw).hexdigest()
    return Runbook(name, description, path, digest, tuple(steps), placeholder)


def _parse_step(raw: object, index: int, path: Path) -> StepSpec:
    where = f"{path}: step #{index}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table ([[steps]]), got {_describe(raw)}")
    if "id" not in raw:
        raise ConfigError(f'{where}: missing required field "id"')
    step_id = raw["id"]
    if not isinstance(step_id, str) or not STEP_ID.fullmatch(step_id):
        raise ConfigError(
            f'{where}: field "id": {_describe(step_id)} is not a valid step id '
            "(lowercase letters, digits, '-' and '_', starting with a letter or digit)"
        )
    where = f'{path}: step "{step_id}"'
    _reject_unknown(raw, STEP_KEYS, f"{where}: unknown field")
    uses = _get(raw, "uses", None, "str", f"{where}: field")
    if not uses:
        raise ConfigError(f'{where}: missing required field "uses" (the step type)')
    with_ = _get(raw, "with", {}, "table", f"{where}: field")
    when = _get(raw, "when", None, "str", f"{where}: field")
    if when is not None:
        try:
            parse_condition(when)
        except ConfigError as exc:
            raise ConfigError(f'{where}: field "when": {exc}') from None
    timeout = raw.get("timeout")
    timeout_s = None if timeout is None else parse_duration(timeout, f'{where}: field "timeout"')
    if timeout_s == 0:
        raise ConfigError(f'{where}: field "timeout" must be > 0; omit it for no limit')
    retries = _get(raw, "retries", 0, "int", f"{where}: field")
    if retries < 0:
        raise ConfigError(f'{where}: field "retries" must be ≥ 0, got {retries}')
    on_failure = _get(raw, "on_failure", "abort", "str", f"{where}: field")
    if on_failure not in ON_FAILURE:
        raise ConfigError(f'{where}: field "on_failure" must be "abort" or "continue", '
                          f"got {_describe(on_failure)}")
    return StepSpec(step_id, uses, dict(with_), when, timeout_s, retries, on_failure)


def validate(
    runbook: Runbook,
    schemas: Mapping[str, StepSchema],
    *,
    known_names: Collection[str] | None = None,
) -> Runbook:
    """Check each step's ``uses`` and ``with`` against ``schemas``; return the runbook with
    durations as float seconds and absent optional fields set to their non-None defaults.

    ``known_names``, if given, are the top-level names the run context will hold; every ``when``
    must then only use those, so a misspelt condition fails before the first step, not mid-run.
    """
    steps = []
    for step in runbook.steps:
        where = f'{runbook.path}: step "{step.id}"'
        schema = schemas.get(step.uses)
        if schema is None:
            known = ", ".join(sorted(schemas))
            raise ConfigError(f'{where}: unknown step type "{step.uses}"'
                              f"{_hint(step.uses, schemas, 0.5)}; known: {known}")
        if step.when is not None and known_names is not None:
            for name in parse_condition(step.when).names:
                if name.split(".")[0] not in known_names:
                    raise ConfigError(f'{where}: field "when": unknown name "{name}"'
                                      f"{_hint(name, known_names)}; "
                                      f"known: {', '.join(sorted(known_names))}")
        unknown = sorted(set(step.with_) - set(schema.fields))
        if unknown:
            allowed = ", ".join(sorted(schema.fields)) or "(none: this step takes no fields)"
            raise ConfigError(f'{where}: with: unknown field "{unknown[0]}" for "{step.uses}"'
                              f"{_hint(unknown[0], schema.fields)}; allowed: {allowed}")
        values: dict[str, Any] = {}
        for name, spec in schema.fields.items():
            label = f'{where}: with: field "{name}"'
            if name in step.with_:
                values[name] = _check_value(step.with_[name], spec, label)
            elif spec.required:
                raise ConfigError(
                    f'{where}: with: missing required field "{name}" for "{step.uses}"'
                )
            elif spec.default is not None:
                values[name] = _check_value(spec.default, spec, label)
        steps.append(replace(step, with_=values))
    return replace(runbook, steps=tuple(steps))


def _check_value(value: Any, spec: FieldSpec, where: str) -> Any:
    if spec.type == "duration":
        if spec.choices and isinstance(value, str) and value in spec.choices:
            return value
        try:
            return parse_duration(value, where)
        except ConfigError as exc:
            words = f" or one of {_choices(spec.choices)}" if spec.choices else ""
            raise ConfigError(f"{exc}{words}") from None
    if not _TYPE_OK[spec.type](value):
        raise ConfigError(f"{where}: expected {_EXPECTED[spec.type]}, got {_describe(value)}")
    for item in value if isinstance(value, list) else [value]:
        if spec.choices is not None and item not in spec.choices:
            raise ConfigError(f"{where}: {_describe(item)} is not one of {_choices(spec.choices)}")
    problem = spec.check(value) if spec.check is not None else None
    if problem:
        raise ConfigError(f"{where}: {problem}")
    return float(value) if spec.type == "float" else value


def _get(data: Mapping[str, Any], key: str, default: Any, type_: FieldType, where: str) -> Any:
    """``data[key]`` (or ``default`` when absent), which must be of ``type_``."""
    value = data.get(key, default)
    if value is not default and not _TYPE_OK[type_](value):
        raise ConfigError(f'{where} "{key}" must be {_EXPECTED[type_]}, got {_describe(value)}')
    return value


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


_TYPE_OK: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": _is_number,
    "bool": lambda v: isinstance(v, bool),
    "list[str]": _is_str_list,
    "str|list[str]": lambda v: isinstance(v, str) or _is_str_list(v),
    "table": lambda v: isinstance(v, dict),
}
_EXPECTED = {
    "str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
    "list[str]": "an array of strings", "str|list[str]": "a string or an array of strings",
    "table": "a table",
}


def _choices(choices: Sequence[Any] | None) -> str:
    return ", ".join(f'"{c}"' if isinstance(c, str) else str(c) for c in choices or ())


def _hint(word: str, options: Collection[str], cutoff: float = 0.6) -> str:
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=cutoff)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _reject_unknown(data: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f'{prefix} "{unknown[0]}"{_hint(unknown[0], allowed)}; '
                          f"allowed: {', '.join(sorted(allowed))}")


def packaged_runbook_dir() -> Path:
    """The runbooks shipped with drkit (``drkit/runbooks``, a link to the repo's ``runbooks/``)."""
    return Path(str(resources.files("drkit") / "runbooks"))


def available_runbooks(search_dirs: Sequence[Path]) -> dict[str, Path]:
    """Runbook name → file, the first directory in ``search_dirs`` winning for each name."""
    found: dict[str, Path] = {}
    for directory in search_dirs:
        for path in sorted(directory.glob("*.toml")) if directory.is_dir() else ():
            found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def find_runbook(name_or_path: str, search_dirs: Sequence[Path]) -> Path:
    """A path (contains "/" or ends in ".toml") is used as given; a name is looked up as
    ``<name>.toml`` in ``search_dirs`` in order (user directories first, then the packaged one),
    so an operator's edited copy wins over the shipped runbook of the same name."""
    if "/" in name_or_path or name_or_path.endswith(".toml"):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"runbook file {path} not found")
        return path
    for directory in search_dirs:
        if (directory / f"{name_or_path}.toml").is_file():
            return directory / f"{name_or_path}.toml"
    names = list(available_runbooks(search_dirs))
    searched = ", ".join(str(d) for d in search_dirs) or "(no directories)"
    raise ConfigError(
        f'runbook "{name_or_path}" not found{_hint(name_or_path, names)}; searched: {searched}; '
        f"available: {', '.join(names) or '(none)'}"
    )
