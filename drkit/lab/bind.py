"""An optional BIND 9 for the lab: one zone, one TSIG key, RFC 2136 updates allowed.

Runs ``named`` in the foreground on a loopback port so later DNS flips hit a real server.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

from drkit.errors import LabError, ToolMissingError

ZONE = "example.test."
RECORD = "kafka.example.test."
KEY_NAME = "drkit-lab-key"


def named_path() -> str | None:
    return shutil.which("named") or (
        "/usr/sbin/named" if Path("/usr/sbin/named").exists() else None)


def available() -> bool:
    return named_path() is not None


def write_private(path: Path, text: str) -> None:
    """Write a secret into a new file that is 0600 from its first moment, whatever the umask.

    An old file (or a symlink planted in its place) is removed, never followed or reused: the
    secret goes into a fresh inode (``O_EXCL | O_NOFOLLOW``) that nobody else can have open.
    """
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
    except OSError as exc:
        raise LabError(f"cannot create {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o600)
        data = text.encode()
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def prepare(dns_dir: Path, port: int) -> dict[str, Any]:
    """Write key, zone and named.conf; return what the lab and drkit.toml need to know."""
    if not available():
        raise ToolMissingError("'named' is not installed: apt-get install bind9 (or --no-dns)")
    dns_dir.mkdir(parents=True, exist_ok=True)
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    key_file = dns_dir / "tsig.key"
    write_private(key_file,
                  f'key "{KEY_NAME}" {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n')
    zone_file = dns_dir / "db.example.test"
    zone_file.write_text(
        "$TTL 60\n"
        f"@   IN SOA ns1.{ZONE} hostmaster.{ZONE} ( 1 60 60 600 60 )\n"
        f"    IN NS  ns1.{ZONE}\n"
        "ns1 IN A   127.0.0.1\n"
        "kafka-primary IN A 127.0.0.11\n"
        "kafka-backup  IN A 127.0.0.12\n"
        f"kafka 60 IN CNAME kafka-primary.{ZONE}\n"
    )
    conf = dns_dir / "named.conf"
    conf.write_text(f"""include "{key_file}";
options {{
    directory "{dns_dir}";
    pid-file "{dns_dir}/named.pid";
    session-keyfile "{dns_dir}/session.key";
    managed-keys-directory "{dns_dir}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    allow-query {{ 127.0.0.1; }};
}};
controls {{ }};
zone "{ZONE.rstrip('.')}" {{
    type primary;
    file "{zone_file}";
    journal "{dns_dir}/db.example.test.jnl";
    update-policy {{ grant {KEY_NAME} zonesub ANY; }};
}};
""")
    return {
        "server": "127.0.0.1", "port": port, "zone": ZONE, "key_file": str(key_file),
        "conf": str(conf), "record": RECORD,
        "values": {"primary": f"kafka-primary.{ZONE}", "backup": f"kafka-backup.{ZONE}"},
    }


def argv(dns_cfg: dict[str, Any]) -> list[str]:
    named = named_path()
    if named is None:
        raise ToolMissingError("'named' is not installed: apt-get install bind9")
    # No `-u bind`: the lab dir may sit under a 0700 parent (pytest's tmp dirs) that the
    # bind user cannot enter; a loopback-only lab server runs as whoever started the lab.
    return [named, "-g", "-c", dns_cfg["conf"]]


def check_config(dns_cfg: dict[str, Any]) -> None:
    checker = shutil.which("named-checkconf") or "/usr/sbin/named-checkconf"
    if Path(checker).exists():
        proc = subprocess.run([checker, dns_cfg["conf"]], capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise LabError(f"named-checkconf {dns_cfg['conf']}: {proc.stdout or proc.stderr}")


def wait_ready(dns_cfg: dict[str, Any], timeout_s: float, alive: Callable[[], None]) -> None:
    deadline = time.monotonic() + timeout_s
    query = dns.message.make_query(dns_cfg["zone"], dns.rdatatype.SOA)
    while time.monotonic() < deadline:
        alive()
        try:
            dns.query.udp(query, dns_cfg["server"], port=int(dns_cfg["port"]), timeout=0.5)
            return
        except (OSError, dns.exception.Timeout):
            time.sleep(0.1)
    raise LabError(f"BIND on {dns_cfg['server']}:{dns_cfg['port']} did not answer within "
                   f"{timeout_s:.0f} s")
