"""The DNS provider interface: read a record set, compare-and-swap it, wait until applied.

One small module per provider behind this interface (certbot's DNS plugins are the model);
third parties ship their own through the ``drkit.dns_providers`` entry-point group. Every
provider turns its failures into :class:`DnsError` with a message that says what to do.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from drkit.errors import DrkitError, UnsafeError


class DnsError(DrkitError):
    """A DNS provider could not read or change a record (auth, zone, network, server)."""


class DnsConflict(UnsafeError):
    """Compare-and-swap refused: the record is neither the expected old nor the new value."""


def fqdn(name: str) -> str:
    """Absolute, lower-case name with the trailing dot DNS wire formats use."""
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


@dataclass(frozen=True)
class RecordSet:
    """One DNS record set. Values are compared as sets of normalised strings."""

    name: str
    type: str
    ttl: int
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", fqdn(self.name))
        object.__setattr__(self, "type", self.type.upper())
        object.__setattr__(self, "values", tuple(sorted(normalise(self.type, v)
                                                        for v in self.values)))

    def same_values(self, other: RecordSet | None) -> bool:
        return other is not None and set(self.values) == set(other.values)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "ttl": self.ttl,
                "values": list(self.values)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RecordSet:
        return cls(str(d["name"]), str(d["type"]), int(d["ttl"]),
                   tuple(str(v) for v in d["values"]))


def show_records(rs: RecordSet | None) -> str:
    """A record set as every provider's messages print it: ``values (TTL n)`` or ``absent``."""
    return "absent" if rs is None else f"{', '.join(rs.values)} (TTL {rs.ttl})"


def normalise(rtype: str, value: str) -> str:
    """Names in CNAME/NS/MX-like data are absolute and case-insensitive; others are as given."""
    value = value.strip()
    if rtype.upper() in ("CNAME", "NS", "PTR", "DNAME"):
        return fqdn(value)
    return value


@dataclass(frozen=True)
class Change:
    """What a provider did: ``already`` (the new value was in place), ``applied``, ``pending``."""

    status: Literal["already", "applied", "pending"]
    change_id: str | None = None
    old: RecordSet | None = None


class Provider(ABC):
    """A DNS service drkit can flip records on. Construct with the provider's config table."""

    name: str = "?"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)

    @abstractmethod
    def get(self, name: str, rtype: str) -> RecordSet | None:
        """The record set as the provider holds it now, or None if it does not exist."""

    @abstractmethod
    def change(self, expected_old: RecordSet | None, new: RecordSet) -> Change:
        """Replace ``expected_old`` with ``new`` atomically (compare-and-swap).

        Returns ``already`` if ``new``'s values are in place (idempotent resume). Raises
        :class:`DnsConflict` if the current values are neither ``expected_old``'s nor
        ``new``'s: someone else changed the record and a human must decide.
        """

    def wait(self, change: Change, timeout_s: float) -> None:
        """Block until the provider reports ``change`` applied on its servers (default: no-op)."""
        del change, timeout_s

    def nameservers(self, zone: str) -> list[tuple[str, int]]:
        """Authoritative servers to verify against, if the provider knows them (else [])."""
        del zone
        return []

    def describe(self) -> str:
        """A short, secret-free description for logs and reports."""
        return self.name
