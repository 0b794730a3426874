"""Did the flip reach every authoritative server? And when will resolver caches let go?

Each authoritative server is asked directly with recursion off, so the answer is what the zone
says now, not a cache. Resolvers are only sampled: they may keep the old answer until the old
TTL runs out, which is reported as a time, not as an error.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from drkit.dns.base import DnsError, RecordSet, normalise

Server = tuple[str, int]


def ask(server: Server, name: str, rtype: str, *, recurse: bool = False,
        timeout_s: float = 2.0) -> tuple[str, ...] | None:
    """The values ``server`` returns for name/type (None: no such record); raises on no answer."""
    query = dns.message.make_query(name, rtype)
    if not recurse:
        query.flags &= ~dns.flags.RD
    address = _address(server[0])
    response = dns.query.udp(query, address, port=server[1], timeout=timeout_s)
    if response.flags & dns.flags.TC:
        response = dns.query.tcp(query, address, port=server[1], timeout=timeout_s)
    rcode = response.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return None
    if rcode != dns.rcode.NOERROR:
        raise DnsError(f"{server[0]}:{server[1]} answered {dns.rcode.to_text(rcode)} for "
                       f"{name} {rtype}")
    want = dns.rdatatype.from_text(rtype)
    for rrset in response.answer:
        if rrset.rdtype == want:
            return tuple(sorted(normalise(rtype, rd.to_text()) for rd in rrset))
    return None


def _address(host: str) -> str:
    """dnspython queries need an address; name servers are often given by name."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        return str(socket.getaddrinfo(host, 53, proto=socket.IPPROTO_UDP)[0][4][0])


def authoritative_servers(zone: str) -> list[Server]:
    """The zone's NS hosts, resolved to addresses with the system resolver."""
    try:
        names = [str(r.target) for r in dns.resolver.resolve(zone, "NS")]
        out = []
        for ns in names:
            out += [(str(a), 53) for a in dns.resolver.resolve(ns, "A")]
        return out
    except dns.exception.DNSException as exc:
        raise DnsError(f"cannot find the authoritative servers of {zone}: {exc}; set [dns] "
                       "nameservers in drkit.toml") from exc


@dataclass
class Verification:
    record: str
    servers: dict[str, str] = field(default_factory=dict)  # server -> "new" | "old: …" | error
    seconds: float = 0.0
    old_ttl: int | None = None
    caches_expire_at: str | None = None
    resolvers: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def verify(new: RecordSet, servers: list[Server], timeout_s: float, *,
           old: RecordSet | None = None, flipped_at: datetime | None = None,
           resolvers: list[Server] | None = None, interval_s: float = 0.5) -> Verification:
    """Poll every server until all answer ``new``'s values; DnsError naming laggards on timeout."""
    if not servers:
        raise DnsError(f"no authoritative servers to verify {new.name} against; set [dns] "
                       "nameservers in drkit.toml")
    result = Verification(new.name)
    started = time.monotonic()
    pending = list(servers)
    while True:
        for server in list(pending):
            key = f"{server[0]}:{server[1]}"
            try:
                got = ask(server, new.name, new.type)
            except (dns.exception.DNSException, OSError, DnsError) as exc:
                result.servers[key] = f"no answer: {exc}"
                continue
            if got is not None and set(got) == set(new.values):
                result.servers[key] = "new"
                pending.remove(server)
            else:
                result.servers[key] = f"still {', '.join(got) if got else 'absent'}"
        if not pending:
            break
        if time.monotonic() - started > timeout_s:
            lag = ", ".join(f"{s[0]}:{s[1]} ({result.servers[f'{s[0]}:{s[1]}']})"
                            for s in pending)
            raise DnsError(f"{new.name} not yet {', '.join(new.values)} on every authoritative "
                           f"server after {timeout_s:.0f} s: {lag}; resume to check again")
        time.sleep(interval_s)
    result.seconds = round(time.monotonic() - started, 3)
    if old is not None:
        at = flipped_at or datetime.now(UTC)
        result.old_ttl = old.ttl
        result.caches_expire_at = (at + timedelta(seconds=old.ttl)).isoformat(
            timespec="seconds").replace("+00:00", "Z")
    for server in resolvers or []:
        key = f"{server[0]}:{server[1]}"
        try:
            got = ask(server, new.name, new.type, recurse=True)
            result.resolvers[key] = ("new" if got and set(got) == set(new.values)
                                     else f"still {', '.join(got) if got else 'absent'} (cached)")
        except (dns.exception.DNSException, OSError, DnsError) as exc:
            result.resolvers[key] = f"no answer: {exc}"
    return result
