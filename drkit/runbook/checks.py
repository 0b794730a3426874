"""Field checks for the state files drkit reads back (journals, lock files).

A file may be truncated or hand-edited, and each problem must name the field, never quote a value
that might be secret.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any


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
