"""RFC 2136 dynamic updates, TSIG-signed, against the zone's primary server (e.g. BIND 9).

Shaped like certbot-dns-rfc2136: the provider checks config and keeps drkit's semantics; a private
:class:`_Client` does the wire work. A flip is one UPDATE whose prerequisites carry the expected
old RRset, so the primary applies it atomically or refuses it (compare-and-swap). Everything goes
over TCP, so a lost UDP packet cannot look like a missing record or a lost update. The TSIG
secret stays inside the client's :class:`dns.tsig.Key`: no message, repr or config dump shows it.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.update

from drkit.config.redaction import redact
from drkit.dns.base import (
    Change,
    DnsConflict,
    DnsError,
    Provider,
    RecordSet,
    fqdn,
    show_records,
)
from drkit.errors import ConfigError

T = "[dns.rfc2136]"
FIELDS = frozenset({"server", "port", "zone", "tsig_key_file", "tsig_key_name", "tsig_secret",
                    "tsig_algorithm", "timeout"})
ALGORITHMS: dict[str, dns.name.Name] = {
    "hmac-md5": dns.tsig.HMAC_MD5, "hmac-md5.sig-alg.reg.int": dns.tsig.HMAC_MD5,
    "hmac-sha1": dns.tsig.HMAC_SHA1, "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256, "hmac-sha256-128": dns.tsig.HMAC_SHA256_128,
    "hmac-sha384": dns.tsig.HMAC_SHA384, "hmac-sha384-192": dns.tsig.HMAC_SHA384_192,
    "hmac-sha512": dns.tsig.HMAC_SHA512, "hmac-sha512-256": dns.tsig.HMAC_SHA512_256,
}
# Prerequisite failures (RFC 2136 §3.2.5): the RRset on the server is not what we said it was.
_PREREQ_FAILED = {dns.rcode.NXRRSET, dns.rcode.YXRRSET, dns.rcode.NXDOMAIN, dns.rcode.YXDOMAIN}
_TOKEN = re.compile(r"""(?P<ws>\s+) | (?P<comment>//[^\n]*|\#[^\n]*|/\*.*?\*/)
    | (?P<string>"(?:[^"\\\n]|\\.)*") | (?P<punct>[{};]) | (?P<word>(?:[^\s{};"#/]|/(?![/*]))+)""",
                    re.X | re.S)


def parse_key_file(text: str) -> dict[str, tuple[str, str]]:
    """``key "name" { algorithm ...; secret "..."; };`` blocks → {name: (algorithm, secret)}.

    A small tokenizer rather than a regex over the whole file, so comments (``//``, ``#``,
    ``/* */``), odd spacing, unquoted names and other statements (``ddns-confgen`` prints zone
    snippets) do not confuse it, and ``//`` inside a base64 secret is not taken for a comment.
    Raises ValueError with a line number but never quotes a token: one of them is the secret.
    """
    tokens: list[tuple[str, str, int]] = []
    pos, line = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.lastgroup is None:
            raise ValueError(f"line {line}: unterminated quote or comment")
        if m.lastgroup in ("string", "punct", "word"):
            value = m.group()[1:-1] if m.lastgroup == "string" else m.group()
            tokens.append((m.lastgroup, value, line))
        line += m.group().count("\n")
        pos = m.end()
    keys: dict[str, tuple[str, str]] = {}
    i = 0

    def expect(kind: str, value: str | None, what: str) -> str:
        nonlocal i
        if i >= len(tokens) or tokens[i][0] not in kind.split("|") or (
                value is not None and tokens[i][1] != value):
            raise ValueError(f"line {tokens[i - 1][2]}: expected {what}")  # where it's missing
        i += 1
        return tokens[i - 1][1]

    while i < len(tokens):
        if not (tokens[i][0] == "word" and tokens[i][1].lower() == "key"):
            depth = 0  # some other statement: skip it, braces and all
            while i < len(tokens) and not (tokens[i][:2] == ("punct", ";") and depth == 0):
                depth += {"{": 1, "}": -1}.get(tokens[i][1], 0) if tokens[i][0] == "punct" else 0
                i += 1
            i += 1
            continue
        start, i = tokens[i][2], i + 1
        name = _keyname(expect("string|word", None, "a key name after 'key'"))
        expect("punct", "{", "'{' after the key name")
        fields: dict[str, str] = {}
        while i < len(tokens) and tokens[i][:2] != ("punct", "}"):
            word = expect("word", None, "'algorithm' or 'secret' in the key block").lower()
            fields[word] = expect("string|word", None, f"a value after '{word}'")
            expect("punct", ";", f"';' after the {word} value")
        expect("punct", "}", "'}' closing the key block")
        expect("punct", ";", "';' after the key block's '}'")
        missing = [f for f in ("algorithm", "secret") if f not in fields]
        if missing:
            raise ValueError(f"line {start}: key {name!r} has no {' or '.join(missing)}")
        keys[name] = (fields["algorithm"], fields["secret"])
    return keys


def _keyname(name: object) -> str:
    """Key names compare as DNS names do: case-insensitive, trailing dot optional."""
    return str(name).strip().lower().rstrip(".")


def _algorithm(value: object, field: str) -> dns.name.Name:
    algo = ALGORITHMS.get(str(value).strip().lower().rstrip("."))
    if algo is None:
        raise ConfigError(f"{T} {field}: unknown TSIG algorithm {value!r}; use one of "
                          f"{', '.join(sorted(ALGORITHMS))}")
    return algo


def _key(config: Mapping[str, Any]) -> dns.tsig.Key:
    """The TSIG key from ``tsig_key_file`` or from name + secret + algorithm (exactly one way)."""
    key_file, name, secret = (config.get(k) for k in ("tsig_key_file", "tsig_key_name",
                                                      "tsig_secret"))
    if key_file is not None and secret is not None:
        raise ConfigError(f"{T} has both tsig_key_file and tsig_secret: give only one")
    if key_file is not None:
        path = Path(str(key_file)).expanduser()
        field = f"tsig_key_file {str(path)!r}"
        try:
            keys = parse_key_file(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{T} {field} cannot be read: {exc.strerror or exc}") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{T} {field} is not a BIND key file: "
                              f"{exc if isinstance(exc, ValueError) else 'not UTF-8'}") from None
        if not keys:
            raise ConfigError(f"{T} {field} holds no 'key \"name\" {{ ... }};' block")
        if name is None and len(keys) > 1:
            raise ConfigError(f"{T} {field} holds keys {', '.join(keys)}: set tsig_key_name "
                              "to pick one")
        wanted = _keyname(name) if name is not None else next(iter(keys))
        if wanted not in keys:
            raise ConfigError(f"{T} tsig_key_name {wanted!r} is not in {str(path)!r} "
                              f"(it holds {', '.join(keys)})")
        algo_text, secret_text = keys[wanted]
        algo = _algorithm(algo_text, f"{field} key {wanted!r}")
        if "tsig_algorithm" in config and _algorithm(config["tsig_algorithm"],
                                                     "tsig_algorithm") != algo:
            raise ConfigError(f"{T} tsig_algorithm contradicts the algorithm in {field}")
    else:
        if name is None or secret is None:
            raise ConfigError(f"{T} needs a TSIG key: tsig_key_file, or tsig_key_name + "
                              "tsig_secret (+ tsig_algorithm, default hmac-sha256)")
        wanted, secret_text, field = _keyname(name), str(secret), "tsig_secret"
        algo = _algorithm(config.get("tsig_algorithm", "hmac-sha256"), "tsig_algorithm")
    try:
        raw = base64.b64decode("".join(secret_text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{T} {field}: the TSIG secret is not valid base64") from None
    if not raw:
        raise ConfigError(f"{T} {field}: the TSIG secret is empty")
    try:
        return dns.tsig.Key(wanted, raw, algo)
    except dns.exception.DNSException:
        raise ConfigError(f"{T} tsig_key_name {wanted!r} is not a valid DNS name") from None


class _Client:
    """Wire work: signed TCP queries and updates to one server; transport and TSIG errors out.

    Holds the key (whose own repr would print the secret), so its repr is deliberately bland.
    """

    def __init__(self, server: str, port: int, zone: dns.name.Name, key: dns.tsig.Key,
                 timeout: float) -> None:
        self.server, self.port, self.zone, self.timeout = server, port, zone, timeout
        self._key = key
        self._address: str | None = None

        self.where = f"[{server}]:{port}" if ":" in server else f"{server}:{port}"

    def __repr__(self) -> str:
        return f"<rfc2136 client {self.where}>"

    @property
    def key_name(self) -> str:
        return str(self._key.name.to_text(omit_final_dot=True))

    def address(self) -> str:
        """dnspython wants an IP: resolve a host name once, through the system resolver."""
        if self._address is None:
            try:
                self._address = str(ipaddress.ip_address(self.server))
            except ValueError:
                try:
                    info = socket.getaddrinfo(self.server, self.port, type=socket.SOCK_STREAM)
                except OSError as exc:
                    raise DnsError(f"rfc2136 server {self.server!r} ({T} server) cannot be "
                                   f"resolved: {getattr(exc, 'strerror', None) or exc}") from None
                self._address = str(info[0][4][0])
        return self._address

    def query(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
              ) -> dns.rrset.RRset | None:
        """The RRset as the server itself holds it (no recursion), or None if there is none."""
        q = dns.message.make_query(name, rdtype)
        q.flags &= ~dns.flags.RD
        q.use_tsig(self._key)
        r = self._send(q, f"the query for {name} {dns.rdatatype.to_text(rdtype)}")
        rcode = r.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return None
        if rcode != dns.rcode.NOERROR:
            raise DnsError(f"rfc2136 server {self.where} answered {dns.rcode.to_text(rcode)} to "
                           f"the query for {name} {dns.rdatatype.to_text(rdtype)}: is it "
                           f"authoritative for the zone and allowed to answer us (allow-query)?")
        return r.get_rrset(r.answer, name, dns.rdataclass.IN, rdtype)

    def update(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType,
               expected: list[dns.rdata.Rdata] | None, ttl: int, new: list[dns.rdata.Rdata]
               ) -> dns.rcode.Rcode:
        """Send one UPDATE: prerequisite = ``expected`` RRset (None: no RRset), then replace."""
        u = dns.update.UpdateMessage(self.zone, keyring=self._key)
        if expected:
            u.present(name, *expected)   # "RRset exists (value dependent)": exactly these rdata
        else:
            u.absent(name, rdtype)       # "RRset does not exist"
        u.delete(name, rdtype)
        u.add(name, ttl, *new)
        return self._send(u, f"the update of {name} {dns.rdatatype.to_text(rdtype)}").rcode()

    def _send(self, msg: dns.message.Message, what: str) -> dns.message.Message:
        """One TCP exchange; every way it can fail becomes one DnsError line naming the server."""
        key = f"TSIG key {self.key_name!r}"
        try:
            return dns.query.tcp(msg, self.address(), timeout=self.timeout, port=self.port)
        except dns.tsig.PeerBadKey:
            raise DnsError(f"rfc2136 server {self.where} does not know {key} (BADKEY) for "
                           f"{what}: check {T} tsig_key_name / tsig_key_file against the "
                           "server's key statements") from None
        except dns.tsig.PeerBadTime:
            raise DnsError(f"rfc2136 server {self.where} rejected {key} for {what}: the clocks "
                           "differ by more than the TSIG fudge (BADTIME); sync the clocks "
                           "(NTP)") from None
        except dns.tsig.PeerError as exc:
            code = "BADSIG" if isinstance(exc, dns.tsig.PeerBadSignature) else "TSIG error"
            raise DnsError(f"rfc2136 server {self.where} rejected {key} for {what} ({code}): "
                           f"the TSIG key is wrong or not allowed to update {self.zone}: check "
                           f"{T} tsig_key_file / tsig_secret and the server's update-policy"
                           ) from None
        except (dns.tsig.BadSignature, dns.tsig.BadKey, dns.tsig.BadAlgorithm,
                dns.tsig.BadTime, dns.message.UnknownTSIGKey):
            raise DnsError(f"the answer from rfc2136 server {self.where} to {what} does not "
                           f"verify with {key}: the TSIG key is wrong or the answer was "
                           f"altered; check {T} tsig_key_file / tsig_secret") from None
        except dns.exception.Timeout:
            raise DnsError(f"rfc2136 server {self.where} did not answer {what} within "
                           f"{self.timeout:g} s: check {T} server/port and firewalls "
                           "(TCP must be open)") from None
        except ConnectionRefusedError:
            raise DnsError(f"rfc2136 server {self.where} refused the TCP connection for {what}: "
                           f"is the DNS server running and listening on TCP there ({T} "
                           "server/port)?") from None
        except EOFError:
            raise DnsError(f"rfc2136 server {self.where} closed the connection without "
                           f"answering {what}") from None
        except OSError as exc:
            raise DnsError(f"cannot reach rfc2136 server {self.where} for {what}: "
                           f"{exc.strerror or type(exc).__name__}") from None
        except dns.exception.DNSException as exc:
            raise DnsError(f"rfc2136 server {self.where} sent an unusable answer to {what}: "
                           f"{type(exc).__name__}") from None


class Rfc2136Provider(Provider):
    """Flip records on a primary that takes TSIG-signed RFC 2136 updates (BIND, Knot, PowerDNS).

    Config (the ``[dns.rfc2136]`` table): ``server``, ``port`` (53), ``zone``, a key as
    ``tsig_key_file`` or ``tsig_key_name`` + ``tsig_secret`` + ``tsig_algorithm`` (hmac-sha256),
    ``timeout`` seconds (10). The primary applies an update at once, so ``wait()`` is a no-op;
    secondaries catch up via NOTIFY/IXFR, which verification checks separately.
    """

    name = "rfc2136"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(redact(config))  # self.config is for display: secret masked
        unknown = sorted(set(config) - FIELDS)
        if unknown:
            raise ConfigError(f"{T} unknown field(s) {', '.join(unknown)}; known: "
                              f"{', '.join(sorted(FIELDS))}")
        for field in ("server", "zone"):
            if not str(config.get(field) or "").strip():
                raise ConfigError(f"{T} {field} is required (e.g. server = \"10.0.0.53\", "
                                  "zone = \"example.com.\")")
        port, timeout = config.get("port", 53), config.get("timeout", 10)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"{T} port must be an integer 1-65535, not {port!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigError(f"{T} timeout must be a positive number of seconds, not "
                              f"{timeout!r}")
        try:
            self.zone = dns.name.from_text(fqdn(str(config["zone"])))
        except dns.exception.DNSException:
            raise ConfigError(f"{T} zone {config['zone']!r} is not a valid DNS name") from None
        self._client = _Client(str(config["server"]).strip(), port, self.zone, _key(config),
                               float(timeout))

    def __repr__(self) -> str:
        return f"<Rfc2136Provider {self.describe()}>"

    def describe(self) -> str:
        return f"rfc2136 {self._client.where} zone {self.zone} key {self._client.key_name}"

    def nameservers(self, zone: str) -> list[tuple[str, int]]:
        """The configured primary, as an IP address, for its zone and names below it."""
        if zone.strip() and not dns.name.from_text(fqdn(zone)).is_subdomain(self.zone):
            return []
        return [(self._client.address(), self._client.port)]

    def _name(self, name: str, rtype: str) -> tuple[dns.name.Name, dns.rdatatype.RdataType]:
        try:
            owner, rdtype = dns.name.from_text(fqdn(name)), dns.rdatatype.from_text(rtype)
        except dns.exception.DNSException:
            raise DnsError(f"{name!r} {rtype!r} is not a valid DNS name and record type") from None
        if not owner.is_subdomain(self.zone):
            raise DnsError(f"record {owner} is outside zone {self.zone} ({T} zone); the "
                           "server would refuse to update it")
        return owner, rdtype

    def get(self, name: str, rtype: str) -> RecordSet | None:
        owner, rdtype = self._name(name, rtype)
        rrset = self._client.query(owner, rdtype)
        if rrset is None or len(rrset) == 0:
            return None
        return RecordSet(owner.to_text(), dns.rdatatype.to_text(rdtype), rrset.ttl,
                         tuple(rd.to_text() for rd in rrset))

    def change(self, expected_old: RecordSet | None, new: RecordSet) -> Change:
        owner, rdtype = self._name(new.name, new.type)
        problem = _invalid(expected_old, new, rdtype)
        if problem:
            raise DnsError(f"cannot change {new.name} {new.type} to {show_records(new)}: {problem}")
        wanted = self._rdata(new, rdtype)
        expected = self._rdata(expected_old, rdtype) if expected_old else None
        current = self.get(new.name, new.type)
        if new.same_values(current):
            return Change("already", old=current)
        rcode = self._client.update(owner, rdtype, expected, new.ttl, wanted)
        if rcode == dns.rcode.NOERROR:
            # The primary applies at once, but silently drops some adds (RFC 2136 §3.4.2.2: a
            # CNAME next to other data, or other data next to a CNAME): read back to be sure.
            now = self.get(new.name, new.type)
            if not new.same_values(now):
                raise DnsError(f"rfc2136 server {self._client.where} accepted the update of "
                               f"{new.name} {new.type} but holds {show_records(now)}: a CNAME "
                               "cannot share its name with other records; check the zone")
            return Change("applied", old=current)
        if rcode in _PREREQ_FAILED:
            now = self.get(new.name, new.type)
            if new.same_values(now):
                return Change("already", old=now)
            raise DnsConflict(
                f"DNS record {new.name} {new.type} was changed by someone else: it is now "
                f"{show_records(now)}, drkit expected {show_records(expected_old)} and wanted to "
                f"set {show_records(new)}; nothing was changed. Check who changed it and why, "
                "then re-run")
        raise DnsError(self._explain(rcode, new))

    def _rdata(self, rs: RecordSet, rdtype: dns.rdatatype.RdataType) -> list[dns.rdata.Rdata]:
        out = []
        for value in rs.values:
            try:
                out.append(dns.rdata.from_text(dns.rdataclass.IN, rdtype, value, dns.name.root,
                                               relativize=False))  # absolute on the wire
            except (dns.exception.DNSException, ValueError):
                raise DnsError(f"{rs.name} {rs.type}: {value!r} is not a valid "
                               f"{rs.type} value") from None
        return out

    def _explain(self, rcode: dns.rcode.Rcode, new: RecordSet) -> str:
        where, zone = self._client.where, self.zone
        head = (f"rfc2136 server {where} answered {dns.rcode.to_text(rcode)} to the update "
                f"of {new.name} {new.type}")
        reasons = {
            dns.rcode.NOTAUTH: f"the TSIG key is wrong or not allowed to update {zone}, or the "
                               f"server is not the primary for it: check {T} tsig_key_file / "
                               "the server's update-policy and zone",
            dns.rcode.REFUSED: "the server refused the update: not allowed for this key/zone "
                               "(allow-update/update-policy)",
            dns.rcode.NOTZONE: f"the server does not see {new.name} inside {zone}: check {T} "
                               "zone (a delegated subzone needs its own config)",
            dns.rcode.SERVFAIL: "the server failed to apply it: see its log (zone loaded? "
                                "journal writable? a secondary that cannot forward?)",
            dns.rcode.FORMERR: f"the server found the update malformed: check the values "
                               f"{', '.join(new.values)} for type {new.type}",
            dns.rcode.NOTIMP: "the server does not implement dynamic updates for this zone",
        }
        return f"{head}: {reasons.get(rcode, 'unexpected answer; see the server log')}"


def _invalid(old: RecordSet | None, new: RecordSet, rdtype: dns.rdatatype.RdataType
             ) -> str | None:
    """Why a change is refused before anything is sent, or None if it may go."""
    if old is not None and (old.name, old.type) != (new.name, new.type):
        return f"the old value is for another record ({old.name} {old.type})"
    if not new.values:
        return "no values"
    if rdtype == dns.rdatatype.CNAME and len(new.values) > 1:
        return "a CNAME has exactly one target"
    return f"TTL {new.ttl} is out of range" if not 0 <= new.ttl < 2**31 else None
