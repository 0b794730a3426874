"""Route 53 provider: flip a simple record set with a change batch, wait for INSYNC.

Route 53 applies a change batch all or nothing, and a DELETE must match the stored record
exactly (TTL and values). So ``DELETE old + CREATE new`` in one batch is a server-side
compare-and-swap: if someone changed the record after drkit read it, the batch fails and nothing
changes. ``mode = "upsert"`` sends a single UPSERT for operators who accept last-writer-wins.

Weighted, failover, latency, geo and alias records are refused rather than flipped: editing one
member of a routing policy mid-incident is how failovers go wrong, and AWS advises health-check
failover or ARC routing controls for those (see ../shared/peers.md §5).

Config, from drkit.toml's ``[dns.route53]`` table::

    hosted_zone_id = "Z123"          # or: zone = "example.test" (looked up by name)
    endpoint_url = "http://..."      # optional (moto, VPC endpoints)
    region = "us-east-1"             # Route 53's control plane lives there
    profile = "dr"                   # optional named profile; else the standard credential chain
    mode = "cas"                     # or "upsert"
    wait_timeout = 300               # seconds to wait for INSYNC
    poll_interval = 5                # seconds between GetChange calls
"""

from __future__ import annotations

import ipaddress
import logging
import re
import sys
import time
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

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

LOG = logging.getLogger("drkit.dns.route53")

KEYS = frozenset({"hosted_zone_id", "zone", "endpoint_url", "region", "profile", "mode",
                  "wait_timeout", "poll_interval"})
THROTTLE_CODES = frozenset({"Throttling", "ThrottlingException", "PriorRequestNotComplete",
                            "RequestLimitExceeded", "TooManyRequestsException"})
AUTH_CODES = frozenset({"AccessDenied", "AccessDeniedException", "InvalidClientTokenId",
                        "ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException",
                        "SignatureDoesNotMatch", "InvalidSignatureException",
                        "MissingAuthenticationToken"})
# Real Route 53 says InvalidChangeBatch when a DELETE does not match; moto says InvalidInput.
REJECTED_CODES = frozenset({"InvalidChangeBatch", "InvalidInput"})
CREDENTIAL_ERRORS = (CredentialRetrievalError, PartialCredentialsError, SSOTokenLoadError,
                     TokenRetrievalError, UnauthorizedSSOTokenError)
ROUTING_KINDS = (("Weight", "weighted"), ("Failover", "failover"), ("Region", "latency"),
                 ("GeoLocation", "geolocation"), ("GeoProximityLocation", "geoproximity"),
                 ("MultiValueAnswer", "multivalue answer"), ("CidrRoutingConfig", "IP-based"))
PERMISSIONS = "route53:ChangeResourceRecordSets and route53:GetChange are needed"


class _Rejected(DnsError):
    """Route 53 refused a change batch: a lost compare-and-swap race, or a bad record."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def _error(exc: ClientError) -> tuple[str, str, int]:
    err = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return str(err.get("Code", "")), str(err.get("Message", "")), int(status or 0)


def _retryable(exc: BaseException) -> bool:
    """Throttling and server-side hiccups; retrying a batch is safe because CAS re-reads."""
    if isinstance(exc, ReadTimeoutError | ConnectionClosedError):
        return True
    if not isinstance(exc, ClientError):
        return False
    code, message, status = _error(exc)
    return (code in THROTTLE_CODES or status >= 500
            or (status == 400 and "rate exceeded" in message.lower()))


class _Client:
    """The boto3 calls, with retries and every failure turned into one clear line."""

    def __init__(self, session: Any, region: str, endpoint_url: str | None) -> None:
        self.session = session
        self.endpoint = endpoint_url or "Route 53"
        self.zone_label = "?"
        self.attempts = 6
        self.backoff_s = 0.5
        # botocore retries nothing (1 attempt in total): tenacity owns the retry policy, so
        # throttling is retried a bounded number of times instead of attempts x attempts.
        config = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                        connect_timeout=10, read_timeout=60, user_agent_extra="drkit")
        try:
            self.api: Any = session.client("route53", region_name=region,
                                           endpoint_url=endpoint_url, config=config)
        except ValueError as exc:
            raise ConfigError(f"[dns.route53] endpoint_url = {endpoint_url!r}: {exc}") from exc

    def call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        retrying = Retrying(stop=stop_after_attempt(self.attempts), reraise=True,
                            wait=wait_exponential(multiplier=self.backoff_s, max=8)
                            + wait_random(0, self.backoff_s),
                            retry=retry_if_exception(_retryable), before_sleep=self._log_retry)
        try:
            result: dict[str, Any] = retrying(getattr(self.api, op), **kwargs)
            return result
        except ClientError as exc:
            raise self._map(exc, kwargs) from exc
        except NoCredentialsError as exc:
            raise DnsError(f"access denied: drkit found no AWS credentials (checked [dns.route53]"
                           f" profile, AWS_* variables, shared files, instance and container "
                           f"roles) to change zone {self.zone_label}; {PERMISSIONS}") from exc
        except CREDENTIAL_ERRORS as exc:
            profile = self.session.profile_name or "default"
            raise DnsError(f"access denied: the AWS credentials of profile {profile} could not "
                           f"be loaded ({type(exc).__name__}); refresh them (e.g. aws sso login)"
                           f" and resume") from exc
        except EndpointConnectionError as exc:
            raise DnsError(f"cannot reach {self.endpoint}: {exc}; check the network or "
                           f"[dns.route53] endpoint_url") from exc
        except BotoCoreError as exc:
            raise DnsError(f"Route 53 {op} failed: {type(exc).__name__}: {exc}") from exc

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        LOG.warning("Route 53 is throttling or failing (%s); attempt %d of %d, next in %.1fs",
                    type(exc).__name__, state.attempt_number, self.attempts, wait)

    def _map(self, exc: ClientError, kwargs: Mapping[str, Any]) -> DnsError | ConfigError:
        code, message, status = _error(exc)
        op = exc.operation_name
        if code == "NoSuchHostedZone":
            return ConfigError(f"hosted zone {self.zone_label} not found: check [dns.route53] "
                               f"hosted_zone_id")
        if code in AUTH_CODES:
            expired = "; the session token has expired: refresh it" if "Expired" in code else ""
            return DnsError(f"access denied ({code}): the AWS credentials drkit found "
                            f"({self.credential_source()}) may not change zone "
                            f"{self.zone_label}; {PERMISSIONS}{expired}")
        if code == "NoSuchChange":
            return DnsError(f"Route 53 does not know change {kwargs.get('Id')} (NoSuchChange): "
                            f"it was made in another account or has expired; check the record "
                            f"itself before resuming")
        if code in REJECTED_CODES and op == "ChangeResourceRecordSets":
            return _Rejected(code, message)
        if _retryable(exc):
            return DnsError(f"Route 53 {op} still fails after {self.attempts} attempts "
                            f"({code or status}: {message}): wait a minute, then resume")
        return DnsError(f"Route 53 {op} failed ({code or status}): {message}")

    def credential_source(self) -> str:
        """Where the credentials came from (env, profile, role): never the keys themselves."""
        try:
            creds = self.session.get_credentials()
        except Exception:  # a broken credential chain must not hide the real error
            creds = None
        if creds is None:
            return "none found"
        parts = [f"source {getattr(creds, 'method', None) or 'unknown'}"]
        if self.session.profile_name not in (None, "default"):
            parts.append(f"profile {self.session.profile_name}")
        return ", ".join(parts)


def _unescape(name: str) -> str:
    """Route 53 lists ``*`` and other special characters as ``\\ooo`` octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), name)




_WARNED: set[str] = set()


def cleartext_warning(endpoint_url: str | None) -> str | None:
    """One line if ``endpoint_url`` sends signed requests unencrypted to another host.

    Over ``http://`` the request (its signature, the session token header and the record
    values) crosses the network in clear; a loopback endpoint (moto, a local proxy) never
    leaves the machine, so it stays silent.
    """
    if not endpoint_url:
        return None
    parts = urlsplit(endpoint_url)
    if parts.scheme.lower() != "http":
        return None
    host = (parts.hostname or "").lower()
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if loopback:
        return None
    return (f"drkit: warning: [dns.route53] endpoint_url uses http:// to {host or '?'}: "
            "requests, session token and signatures travel unencrypted; use https://")


def _warn_if_cleartext(endpoint_url: str | None) -> None:
    line = cleartext_warning(endpoint_url)
    if line and line not in _WARNED:  # once per process, however many providers are built
        _WARNED.add(line)
        print(line, file=sys.stderr)


def _rrset(rs: RecordSet) -> dict[str, Any]:
    return {"Name": rs.name, "Type": rs.type, "TTL": rs.ttl,
            "ResourceRecords": [{"Value": v} for v in rs.values]}


def _number(config: Mapping[str, Any], key: str, default: float, zero_ok: bool) -> float:
    value = config.get(key, default)
    if (isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            or (value == 0 and not zero_ok)):
        raise ConfigError(f"[dns.route53] {key} must be a number of seconds "
                          f"{'>=' if zero_ok else '>'} 0, not {value!r}")
    return float(value)


def _text(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"[dns.route53] {key} must be a non-empty string, not {value!r}")
    return value.strip()


class Route53Provider(Provider):
    """Flips simple Route 53 record sets: CAS (DELETE+CREATE) or UPSERT, then waits for INSYNC."""

    name = "route53"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        unknown = sorted(set(config) - KEYS)
        if unknown:  # a typo (wait_timout) must not silently fall back to a default
            raise ConfigError(f"[dns.route53] has unknown keys {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(KEYS))}")
        zone_id = _text(config, "hosted_zone_id")
        self.zone_id = zone_id.rsplit("/", 1)[-1] if zone_id else None
        zone = _text(config, "zone")
        self.zone_name = fqdn(zone) if zone else None
        if self.zone_id is None and self.zone_name is None:
            raise ConfigError("[dns.route53] needs hosted_zone_id (e.g. \"Z0123456789ABC\") "
                              "or zone (the hosted zone's name)")
        mode = config.get("mode", "cas")
        if mode not in ("cas", "upsert"):
            raise ConfigError(f"[dns.route53] mode must be \"cas\" or \"upsert\", not {mode!r}")
        self.mode: Literal["cas", "upsert"] = mode
        self.wait_timeout = _number(config, "wait_timeout", 300, zero_ok=True)
        self.poll_interval = _number(config, "poll_interval", 5, zero_ok=False)
        self.endpoint_url = _text(config, "endpoint_url")
        _warn_if_cleartext(self.endpoint_url)
        profile = _text(config, "profile")
        try:
            session = boto3.Session(profile_name=profile)
        except ProfileNotFound as exc:
            raise ConfigError(f"[dns.route53] profile = {profile!r} is not in the AWS config "
                              f"or credentials file") from exc
        region = _text(config, "region") or "us-east-1"
        self._client = _Client(session, region, self.endpoint_url)
        self._client.zone_label = self.zone_id or self.zone_name or "?"
        self._resolved = False
        self._zone_info: dict[str, Any] | None = None

    @property
    def boto_client(self) -> Any:
        """The boto3 Route 53 client, for botocore's Stubber in tests and for debugging."""
        return self._client.api

    def _zone(self) -> tuple[str, str]:
        """(zone id, zone name), looked up once: by id (name checked) or by name (unique)."""
        if not self._resolved:
            if self.zone_id is not None:
                info = self._client.call("get_hosted_zone", Id=self.zone_id)
                name = fqdn(_unescape(info["HostedZone"]["Name"]))
                if self.zone_name is not None and name != self.zone_name:
                    raise ConfigError(f"[dns.route53] hosted_zone_id {self.zone_id} is zone "
                                      f"{name}, not zone = {self.zone_name}")
                self._zone_info = info
                self.zone_name = name
            else:
                self.zone_id = self._find_zone(str(self.zone_name))
            self._client.zone_label = f"{self.zone_id} ({self.zone_name})"
            self._resolved = True
        return str(self.zone_id), str(self.zone_name)

    def _find_zone(self, name: str) -> str:
        listed = self._client.call("list_hosted_zones_by_name", DNSName=name, MaxItems="100")
        found = [z for z in listed.get("HostedZones", []) if fqdn(_unescape(z["Name"])) == name]
        if len(found) == 1:
            return str(found[0]["Id"]).rsplit("/", 1)[-1]
        if not found:
            raise ConfigError(f"no Route 53 hosted zone is named {name} (for these credentials):"
                              f" check [dns.route53] zone, or set hosted_zone_id")
        which = ", ".join(f"{str(z['Id']).rsplit('/', 1)[-1]} "
                          f"{'private' if z.get('Config', {}).get('PrivateZone') else 'public'}"
                          for z in found)
        raise ConfigError(f"{len(found)} Route 53 hosted zones are named {name} ({which}): set "
                          f"[dns.route53] hosted_zone_id to the one drkit should change")

    def _read(self, name: str, rtype: str) -> tuple[RecordSet, dict[str, Any]] | None:
        """The simple record set and its raw form (DELETE must repeat it exactly), or None."""
        zone_id, zone_name = self._zone()
        want, rtype = fqdn(name), rtype.upper()
        if want != zone_name and not want.endswith("." + zone_name):
            raise ConfigError(f"record {want} is not in hosted zone {zone_id} ({zone_name})")
        listed = self._client.call("list_resource_record_sets", HostedZoneId=zone_id,
                                   StartRecordName=want, StartRecordType=rtype, MaxItems="5")
        matches = [r for r in listed.get("ResourceRecordSets", [])
                   if fqdn(_unescape(r["Name"])) == want and str(r["Type"]).upper() == rtype]
        if not matches:
            return None
        routed = [r for r in matches if {"SetIdentifier", "AliasTarget",
                                         "TrafficPolicyInstanceId"} & set(r)]
        if routed or len(matches) > 1:
            raise DnsError(f"record {want} {rtype} is {self._kind(routed or matches)} record: "
                           f"drkit flips only simple records; use Route 53 failover routing "
                           f"with health checks or ARC routing controls for those")
        raw = matches[0]
        values = tuple(str(rr["Value"]) for rr in raw.get("ResourceRecords", []))
        return RecordSet(want, rtype, int(raw["TTL"]), values), raw

    @staticmethod
    def _kind(records: list[dict[str, Any]]) -> str:
        first = records[0]
        if "AliasTarget" in first:
            return f"an alias (to {first['AliasTarget'].get('DNSName', '?')})"
        if "TrafficPolicyInstanceId" in first:
            return "a traffic-policy"
        kind = next((k for key, k in ROUTING_KINDS if key in first), "routing-policy")
        ids = ", ".join(str(r.get("SetIdentifier", "?")) for r in records)
        return f"a {kind} (SetIdentifier={ids})"

    def get(self, name: str, rtype: str) -> RecordSet | None:
        found = self._read(name, rtype)
        return found[0] if found else None

    def change(self, expected_old: RecordSet | None, new: RecordSet) -> Change:
        if expected_old is not None and (expected_old.name, expected_old.type) != (new.name,
                                                                                     new.type):
            raise DnsError(f"drkit flips a record in place: old {expected_old.name} "
                           f"{expected_old.type} and new {new.name} {new.type} differ")
        found = self._read(new.name, new.type)
        current = found[0] if found else None
        if new.same_values(current):
            return Change("already")
        if self.mode == "upsert":
            changes = [{"Action": "UPSERT", "ResourceRecordSet": _rrset(new)}]
        elif not self._matches(current, expected_old):
            raise self._conflict(current, expected_old, new)
        elif found is None:
            changes = [{"Action": "CREATE", "ResourceRecordSet": _rrset(new)}]
        else:
            raw = found[1]
            stored = {k: raw[k] for k in ("Name", "Type", "TTL", "ResourceRecords")}
            changes = [{"Action": "DELETE", "ResourceRecordSet": stored},
                       {"Action": "CREATE", "ResourceRecordSet": _rrset(new)}]
        comment = f"drkit: {new.name} {new.type} {show_records(current)} -> {', '.join(new.values)}"
        try:
            info = self._client.call("change_resource_record_sets", HostedZoneId=self._zone()[0],
                                     ChangeBatch={"Comment": comment[:256], "Changes": changes})
        except _Rejected as exc:
            return self._after_rejection(exc, expected_old, new)
        status = str(info["ChangeInfo"]["Status"])
        return Change("applied" if status == "INSYNC" else "pending",
                      change_id=str(info["ChangeInfo"]["Id"]), old=current)

    @staticmethod
    def _matches(current: RecordSet | None, expected: RecordSet | None) -> bool:
        return current is None if expected is None else expected.same_values(current)

    def _after_rejection(self, exc: _Rejected, old: RecordSet | None, new: RecordSet) -> Change:
        """A refused batch: the record moved under us (conflict), already moved, or bad input."""
        now = self.get(new.name, new.type)
        if new.same_values(now):
            return Change("already")
        if self.mode == "cas" and not self._matches(now, old):
            raise self._conflict(now, old, new) from exc
        raise DnsError(f"Route 53 refused the change of {new.name} {new.type} to "
                       f"{', '.join(new.values)} ({exc})") from exc

    @staticmethod
    def _conflict(now: RecordSet | None, old: RecordSet | None, new: RecordSet) -> DnsConflict:
        return DnsConflict(f"record {new.name} {new.type} was changed by someone else: it is now "
                           f"{show_records(now)}, drkit expected old {show_records(old)} and "
                           f"would set {show_records(new)}; find out who changed it before "
                           "flipping again")

    def wait(self, change: Change, timeout_s: float) -> None:
        """Poll GetChange until INSYNC: all Route 53 authoritative servers have the change."""
        if change.status != "pending" or not change.change_id:
            return
        limit = max(0.0, min(timeout_s, self.wait_timeout))
        deadline = time.monotonic() + limit
        while True:
            info = self._client.call("get_change", Id=change.change_id)
            status = str(info["ChangeInfo"]["Status"])
            if status == "INSYNC":
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DnsError(f"Route 53 change {change.change_id} is still {status} after "
                               f"{limit:g}s: Route 53 has not propagated it to all its servers "
                               f"yet; the change was accepted, and resuming the run waits again")
            time.sleep(min(self.poll_interval, remaining))

    def nameservers(self, zone: str) -> list[tuple[str, int]]:
        """The delegation set's servers; none with a custom endpoint (moto has no real ones)."""
        if self.endpoint_url:
            return []
        zone_id, zone_name = self._zone()
        wanted = fqdn(zone)
        if wanted != zone_name and not wanted.endswith("." + zone_name):
            return []
        if self._zone_info is None:
            self._zone_info = self._client.call("get_hosted_zone", Id=zone_id)
        servers = self._zone_info.get("DelegationSet", {}).get("NameServers", [])
        return [(fqdn(str(ns)), 53) for ns in servers]

    def describe(self) -> str:
        zone = str(self.zone_id or self.zone_name)
        if self.zone_id and self.zone_name:
            zone += f" ({self.zone_name})"
        where = ""
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)  # never echo user:password@ from a URL
            where = f" at {parts.scheme}://{parts.hostname}" + (f":{parts.port}"
                                                                  if parts.port else "")
        return f"route53 zone {zone} mode {self.mode}{where}"
