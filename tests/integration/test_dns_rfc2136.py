"""The RFC 2136 provider against a real BIND 9 (loopback, TSIG): flips, CAS, and its errors.

Each test gets a fresh named from the ``bind_server`` fixture. Results are read back with plain
dnspython queries, not through the provider, so a provider bug cannot confirm itself. The config
tests at the end need no server.
"""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.update
import pytest

from drkit.dns.base import DnsConflict, DnsError, RecordSet
from drkit.dns.rfc2136 import Rfc2136Provider, parse_key_file
from drkit.errors import EXIT_UNSAFE, ConfigError
from drkit.lab.lab import free_port

CNAME = "kafka.example.test."
PRIMARY, BACKUP, OTHER = (f"kafka-{c}.example.test." for c in ("primary", "backup", "other"))
BAD_SECRET = "d3JvbmctYnV0LXBsYXVzaWJsZS1zZWNyZXQtMDEyMzQ1Njc4OQ=="


def _provider(cfg: dict[str, Any], **override: Any) -> Rfc2136Provider:
    conf: dict[str, Any] = {"server": cfg["server"], "port": cfg["port"], "zone": cfg["zone"],
                            "tsig_key_file": cfg["key_file"], "timeout": 5}
    conf.update(override)
    return Rfc2136Provider({k: v for k, v in conf.items() if v is not None})


def _secret(cfg: dict[str, Any]) -> str:
    found = re.search(r'secret\s+"([^"]+)"', Path(cfg["key_file"]).read_text())
    assert found, "the lab key file has a secret"
    return found.group(1)


def _dig(cfg: dict[str, Any], name: str, rtype: str) -> list[str]:
    """What the server answers to a plain, unsigned, non-recursive query (sorted rdata text)."""
    q = dns.message.make_query(name, rtype)
    r = dns.query.tcp(q, cfg["server"], port=int(cfg["port"]), timeout=5)
    rrset = r.get_rrset(r.answer, q.question[0].name, q.question[0].rdclass,
                        q.question[0].rdtype)
    return sorted(rd.to_text() for rd in rrset) if rrset else []


def _serial(cfg: dict[str, Any]) -> int:
    """The zone's SOA serial: BIND bumps it on every applied update."""
    return int(_dig(cfg, cfg["zone"], "SOA")[0].split()[2])


def _set_behind_back(cfg: dict[str, Any], name: str, rtype: str, *values: str) -> None:
    """Someone else (same key, plain dnspython) replaces the record."""
    u = dns.update.UpdateMessage(cfg["zone"], keyring=dns.tsig.Key("drkit-lab-key", _secret(cfg)))
    u.replace(name, 60, rtype, *values)
    assert dns.query.tcp(u, cfg["server"], port=int(cfg["port"]), timeout=5).rcode() == \
        dns.rcode.NOERROR


def _rs(name: str, rtype: str, *values: str, ttl: int = 60) -> RecordSet:
    return RecordSet(name, rtype, ttl, values)


def _stale_first_read(monkeypatch: pytest.MonkeyPatch, provider: Rfc2136Provider,
                      stale: RecordSet | None) -> None:
    """Make the pre-read see ``stale``: what a race between drkit's read and update looks like."""
    real = provider.get
    calls: list[str] = []

    def get(name: str, rtype: str) -> RecordSet | None:
        calls.append(name)
        return stale if len(calls) == 1 else real(name, rtype)

    monkeypatch.setattr(provider, "get", get)


def test_get_reads_the_zone_as_the_server_holds_it(bind_server: dict[str, Any]) -> None:
    provider = _provider(bind_server)
    assert provider.get("KAFKA.example.test", "cname") == _rs(CNAME, "CNAME", PRIMARY)
    assert provider.get(PRIMARY, "A") == _rs(PRIMARY, "A", "127.0.0.11")
    assert provider.get("missing.example.test.", "A") is None      # NXDOMAIN
    assert provider.get(PRIMARY, "TXT") is None                     # NOERROR, no data
    assert provider.nameservers("example.test.") == [("127.0.0.1", bind_server["port"])]
    assert provider.describe() == (f"rfc2136 127.0.0.1:{bind_server['port']} zone "
                                   "example.test. key drkit-lab-key")


def test_flip_cname_with_cas_then_repeat_is_already(bind_server: dict[str, Any]) -> None:
    provider = _provider(bind_server)
    old, new = _rs(CNAME, "CNAME", PRIMARY), _rs(CNAME, "CNAME", BACKUP)
    change = provider.change(old, new)
    assert change.status == "applied" and change.old == old
    assert _dig(bind_server, CNAME, "CNAME") == [BACKUP]
    serial = _serial(bind_server)

    again = provider.change(old, new)

    assert again.status == "already"
    assert _serial(bind_server) == serial, "a repeated flip must not send an update"
    assert _dig(bind_server, CNAME, "CNAME") == [BACKUP]
    provider.wait(again, 1.0)  # no-op: the primary applied it at once


def test_cas_conflict_when_changed_behind_drkits_back(bind_server: dict[str, Any]) -> None:
    provider = _provider(bind_server)
    _set_behind_back(bind_server, CNAME, "CNAME", OTHER)

    with pytest.raises(DnsConflict) as err:
        provider.change(_rs(CNAME, "CNAME", PRIMARY), _rs(CNAME, "CNAME", BACKUP))

    msg = str(err.value)
    for part in (CNAME, f"now {OTHER}", f"expected {PRIMARY}", BACKUP, "re-run"):
        assert part in msg, f"{part!r} missing from: {msg}"
    assert err.value.exit_code == EXIT_UNSAFE
    assert _dig(bind_server, CNAME, "CNAME") == [OTHER], "a refused CAS changes nothing"


def test_prerequisite_failure_with_new_value_in_place_is_already(
        bind_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    provider = _provider(bind_server)
    old, new = _rs(CNAME, "CNAME", PRIMARY), _rs(CNAME, "CNAME", BACKUP)
    _set_behind_back(bind_server, CNAME, "CNAME", BACKUP)   # another drkit got there first
    _stale_first_read(monkeypatch, provider, old)

    assert provider.change(old, new).status == "already"
    assert _dig(bind_server, CNAME, "CNAME") == [BACKUP]


def test_stale_read_still_cannot_overwrite(bind_server: dict[str, Any],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard is the server-side prerequisite, not drkit's own read."""
    provider = _provider(bind_server)
    _set_behind_back(bind_server, CNAME, "CNAME", OTHER)
    _stale_first_read(monkeypatch, provider, _rs(CNAME, "CNAME", PRIMARY))

    with pytest.raises(DnsConflict, match=f"now {re.escape(OTHER)}"):
        provider.change(_rs(CNAME, "CNAME", PRIMARY), _rs(CNAME, "CNAME", BACKUP))
    assert _dig(bind_server, CNAME, "CNAME") == [OTHER]


def test_create_when_absent_and_refuse_when_present(bind_server: dict[str, Any]) -> None:
    provider = _provider(bind_server)
    name = "app.example.test."
    new = _rs(name, "A", "127.0.0.21", ttl=30)

    assert provider.change(None, new).status == "applied"
    assert _dig(bind_server, name, "A") == ["127.0.0.21"]
    assert provider.get(name, "A") == new
    assert provider.change(None, new).status == "already"

    with pytest.raises(DnsConflict) as err:   # "RRset does not exist" fails: YXRRSET
        provider.change(None, _rs(name, "A", "127.0.0.22"))
    assert "expected absent" in str(err.value) and "now 127.0.0.21" in str(err.value)
    assert _dig(bind_server, name, "A") == ["127.0.0.21"]


def test_a_record_with_two_values(bind_server: dict[str, Any]) -> None:
    provider = _provider(bind_server)
    name = "brokers.example.test."
    first = _rs(name, "A", "127.0.0.31", "127.0.0.32")
    second = _rs(name, "A", "127.0.0.42", "127.0.0.41")

    assert provider.change(None, first).status == "applied"
    assert _dig(bind_server, name, "A") == ["127.0.0.31", "127.0.0.32"]
    assert provider.change(first, second).status == "applied"
    assert _dig(bind_server, name, "A") == ["127.0.0.41", "127.0.0.42"]
    assert provider.get(name, "A") == second

    # Value-dependent prerequisite: the whole RRset must match, not one member of it.
    with pytest.raises(DnsConflict):
        provider.change(_rs(name, "A", "127.0.0.41"), first)
    assert _dig(bind_server, name, "A") == ["127.0.0.41", "127.0.0.42"]


def test_update_the_server_drops_or_drkit_refuses(bind_server: dict[str, Any]) -> None:
    provider = _provider(bind_server)
    # kafka-primary has an A record: BIND answers NOERROR but drops the CNAME (RFC 2136 3.4.2.2)
    with pytest.raises(DnsError, match=r"accepted the update .* holds absent: a CNAME cannot"):
        provider.change(None, _rs(PRIMARY, "CNAME", BACKUP))
    assert _dig(bind_server, PRIMARY, "A") == ["127.0.0.11"]
    assert _dig(bind_server, PRIMARY, "CNAME") == []
    serial = _serial(bind_server)
    with pytest.raises(DnsError, match="a CNAME has exactly one target"):
        provider.change(None, _rs("two.example.test.", "CNAME", PRIMARY, BACKUP))
    with pytest.raises(DnsError, match="'not-an-ip' is not a valid A value"):
        provider.change(None, _rs("bad.example.test.", "A", "not-an-ip"))
    assert _serial(bind_server) == serial, "refused before sending anything"


@pytest.mark.parametrize("stage", ["read", "update"])
def test_wrong_secret_is_explained_without_the_secret(
        bind_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    provider = _provider(bind_server, tsig_key_file=None, tsig_key_name="drkit-lab-key",
                         tsig_secret=BAD_SECRET)
    if stage == "update":  # reach the UPDATE itself, not only the signed pre-read
        _stale_first_read(monkeypatch, provider, _rs(CNAME, "CNAME", PRIMARY))

    with pytest.raises(DnsError) as err:
        provider.change(_rs(CNAME, "CNAME", PRIMARY), _rs(CNAME, "CNAME", BACKUP))

    msg = str(err.value)
    assert "TSIG key 'drkit-lab-key'" in msg and "BADSIG" in msg, msg
    assert "wrong or not allowed to update example.test." in msg, msg
    assert f"127.0.0.1:{bind_server['port']}" in msg
    for shown in (msg, repr(err.value), repr(provider), provider.describe(),
                  str(provider.config)):
        assert BAD_SECRET not in shown
    assert _dig(bind_server, CNAME, "CNAME") == [PRIMARY]


def test_key_name_the_server_does_not_know(bind_server: dict[str, Any]) -> None:
    provider = _provider(bind_server, tsig_key_file=None, tsig_key_name="stranger-key",
                         tsig_secret=_secret(bind_server))
    with pytest.raises(DnsError, match=r"does not know TSIG key 'stranger-key' \(BADKEY\)"):
        provider.get(CNAME, "CNAME")


def test_zone_the_server_does_not_serve(bind_server: dict[str, Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    provider = _provider(bind_server, zone="elsewhere.test.")
    with pytest.raises(DnsError, match="REFUSED to the query"):
        provider.get("kafka.elsewhere.test.", "CNAME")
    _stale_first_read(monkeypatch, provider, None)
    with pytest.raises(DnsError, match=r"answered (NOTAUTH|REFUSED) to the update") as err:
        provider.change(None, _rs("kafka.elsewhere.test.", "CNAME", BACKUP))
    assert "update-policy" in str(err.value)
    with pytest.raises(DnsError, match=re.escape("outside zone elsewhere.test.")):
        provider.get(CNAME, "CNAME")


def test_nothing_listening_names_host_port_at_once() -> None:
    port = free_port()
    provider = Rfc2136Provider({"server": "127.0.0.1", "port": port, "zone": "example.test.",
                                "tsig_key_name": "k", "tsig_secret": BAD_SECRET, "timeout": 3})
    started = time.monotonic()
    with pytest.raises(DnsError, match=f"127.0.0.1:{port} refused the TCP connection"):
        provider.change(None, _rs("a.example.test.", "A", "127.0.0.1"))
    assert time.monotonic() - started < 3


def test_silent_server_times_out_within_the_timeout() -> None:
    with socket.socket() as silent:   # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        provider = Rfc2136Provider({"server": "127.0.0.1", "port": port, "zone": "example.test.",
                                    "tsig_key_name": "k", "tsig_secret": BAD_SECRET,
                                    "timeout": 0.5})
        started = time.monotonic()
        with pytest.raises(DnsError, match=f"127.0.0.1:{port} did not answer .* within 0.5 s"):
            provider.get("a.example.test.", "A")
        assert time.monotonic() - started < 3


# --- config, no server needed -------------------------------------------------------------

KEYS = """// tsig-keygen output, twice, with the comments people add
key "first-key" {
\talgorithm hmac-sha256;   # primary
\tsecret "Zmlyc3Qtc2VjcmV0Ly9ub3QtYS1jb21tZW50";
};
/* a second key
   for the backup site */
key second-key { algorithm HMAC-SHA512; secret "c2Vjb25kLXNlY3JldA=="; };
zone "example.test" { type primary; update-policy { grant first-key zonesub ANY; }; };
"""


def test_key_file_parser_handles_comments_and_several_keys(tmp_path: Path) -> None:
    assert parse_key_file(KEYS) == {
        "first-key": ("hmac-sha256", "Zmlyc3Qtc2VjcmV0Ly9ub3QtYS1jb21tZW50"),
        "second-key": ("HMAC-SHA512", "c2Vjb25kLXNlY3JldA=="),
    }
    path = tmp_path / "keys.conf"
    path.write_text(KEYS)
    base = {"server": "ns1.example.test", "zone": "example.test", "tsig_key_file": str(path)}
    provider = Rfc2136Provider({**base, "tsig_key_name": "Second-Key."})
    assert provider.describe() == "rfc2136 ns1.example.test:53 zone example.test. key second-key"
    with pytest.raises(ConfigError, match="holds keys first-key, second-key: set tsig_key_name"):
        Rfc2136Provider(base)
    with pytest.raises(ConfigError, match="tsig_key_name 'third-key' is not in"):
        Rfc2136Provider({**base, "tsig_key_name": "third-key"})


@pytest.mark.parametrize(("override", "field"), [
    ({"server": None}, "server is required"),
    ({"zone": ""}, "zone is required"),
    ({"port": "53x"}, "port must be an integer"),
    ({"timeout": 0}, "timeout must be a positive"),
    ({"tsig_secret": "c2VjcmV0"}, "both tsig_key_file and tsig_secret"),
    ({"tsig_key_file": "/nonexistent/tsig.key"}, "tsig_key_file '/nonexistent/tsig.key' cannot"),
    ({"tsig_key_file": "MALFORMED"}, "is not a BIND key file: line 2: expected ';' after"),
    ({"tsig_key_file": "EMPTY"}, "holds no 'key"),
    ({"tsig_key_file": None, "tsig_key_name": "k", "tsig_secret": "c2VjcmV0",
      "tsig_algorithm": "hmac-sha3"}, "tsig_algorithm: unknown TSIG algorithm 'hmac-sha3'"),
    ({"tsig_key_file": None, "tsig_key_name": "k", "tsig_secret": "not base64!"},
     "tsig_secret: the TSIG secret is not valid base64"),
    ({"tsig_key_file": None}, "needs a TSIG key"),
    ({"tsig_keyfile": "x"}, "unknown field(s) tsig_keyfile"),
])
def test_config_errors_name_the_field(tmp_path: Path, override: dict[str, Any],
                                      field: str) -> None:
    good = tmp_path / "good.key"
    good.write_text('key "k" { algorithm hmac-sha256; secret "c2VjcmV0"; };\n')
    files = {"MALFORMED": 'key "k" {\n algorithm hmac-sha256\n secret "c2VjcmV0"; };',
             "EMPTY": "# nothing here\n"}
    conf: dict[str, Any] = {"server": "127.0.0.1", "zone": "example.test.",
                            "tsig_key_file": str(good)}
    for key, value in override.items():
        if value in files:
            (tmp_path / value).write_text(files[value])
            value = str(tmp_path / value)
        conf[key] = value
    conf = {k: v for k, v in conf.items() if v is not None}
    with pytest.raises(ConfigError) as err:
        Rfc2136Provider(conf)
    msg = str(err.value).replace(str(tmp_path) + "/", "")
    assert msg.startswith("[dns.rfc2136]") and field in msg, msg
    assert "c2VjcmV0" not in msg
