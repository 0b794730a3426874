"""Which settings hold secrets, and masking them: secrets never appear in a repr or an error."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
_SECRET_WORDS = ("password", "passwd", "secret", "jaas", "token", "credential", "private")
_SECRET_KEYS = frozenset({"ssl.key.pem", "ssl.keystore.key", "ssl_key", "sasl.oauthbearer.config"})


def is_secret_key(key: str) -> bool:
    """Whether a setting named ``key`` holds a secret (by name: password, secret, jaas, ...)."""
    lowered = key.lower()
    return lowered in _SECRET_KEYS or any(word in lowered for word in _SECRET_WORDS)


def redact(value: Any) -> Any:
    """A copy of ``value`` (dicts, lists, scalars) with the values of secret keys as ``***``."""
    if isinstance(value, Mapping):
        return {k: MASK if is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


#: AWS credentials botocore reads from the environment (the access key id is not secret by
#: itself, but it names the key pair and is scrubbed with it).
AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
_NOT_A_SECRET_SUFFIXES = ("_FILE", "_DIR", "_PATH", "_SOCK", "_URL", "_HOST", "_PORT")


def environment_secrets(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(where, value)`` of the secrets drkit inherits from its environment: AWS credentials,
    and any variable whose name says it is one (``*_PASSWORD``, ``*_TOKEN``, ``*_SECRET`` …),
    except names of paths, sockets and addresses."""
    out = [(f"${name}", environ[name]) for name in AWS_ENV if environ.get(name)]
    for name, value in sorted(environ.items()):
        if (value and name not in AWS_ENV and is_secret_key(name)
                and not name.upper().endswith(_NOT_A_SECRET_SUFFIXES)):
            out.append((f"${name}", value))
    return out


def aws_file_secrets(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(where, value)`` of the keys in the AWS shared credentials and config files (every
    profile: which one botocore picks is its business). No network: instance-metadata and SSO
    credentials are not resolved here. Unreadable files are skipped."""
    import configparser
    from pathlib import Path

    home = Path(environ.get("HOME") or Path.home())
    files = [environ.get("AWS_SHARED_CREDENTIALS_FILE") or str(home / ".aws" / "credentials"),
             environ.get("AWS_CONFIG_FILE") or str(home / ".aws" / "config")]
    out: list[tuple[str, str]] = []
    for name in files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(Path(name).expanduser(), encoding="utf-8")
        except (OSError, configparser.Error, UnicodeDecodeError):
            continue
        for section in parser.sections():
            for key, value in parser.items(section):
                if value and (key in ("aws_secret_access_key", "aws_session_token",
                                      "aws_security_token", "aws_access_key_id")
                              or is_secret_key(key)):
                    out.append((f"{name} [{section}] {key}", value))
    return out


# -- debug logs -------------------------------------------------------------------------------

_HEADER_VALUE = re.compile(
    r"""(?ix)
    ( ['"]?(?:authorization|x-amz-security-token|x-amz-content-sha256-signature
            |proxy-authorization|cookie|x-api-key)['"]? \s* [:=] \s* b?['"] ) [^'"]*
    """)
_HEADER_LINE = re.compile(r"(?im)^(\s*(?:authorization|x-amz-security-token|proxy-authorization)"
                          r"\s*:\s*).*$")
_QUERY_OR_SIG = re.compile(
    r"(?i)((?:X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential|Signature|Credential)=)"
    r"[^&,\s'\"]+")


class SecretLogFilter(logging.Filter):
    """Masks credentials in log records before any handler writes them (``drkit --debug``).

    botocore's debug log prints each request's headers: ``Authorization`` (credential id and
    signature) and ``X-Amz-Security-Token``; those values, signatures in URLs, and every
    secret value registered with :meth:`add` (config passwords, the TSIG secret, AWS keys from
    the environment) become ``***``. The record is rewritten in place, once.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Also mask these values (at least 6 characters: shorter ones would mangle logs)."""
        self.secrets.update(s for s in secrets if isinstance(s, str) and len(s) >= 6)

    def scrub(self, text: str) -> str:
        text = _HEADER_VALUE.sub(lambda m: m.group(1) + MASK, text)
        text = _HEADER_LINE.sub(lambda m: m.group(1) + MASK, text)
        text = _QUERY_OR_SIG.sub(lambda m: m.group(1) + MASK, text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's business
            return True
        clean = self.scrub(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        record.msg, record.args = clean, None
        return True


#: The one filter ``drkit --debug`` installs on the root handlers; sessions add their secrets.
LOG_FILTER = SecretLogFilter()


def install_log_filter(environ: Mapping[str, str]) -> SecretLogFilter:
    """Put :data:`LOG_FILTER` on every root handler (records of every logger pass them), knowing
    the environment's secrets from the start."""
    LOG_FILTER.add(v for _w, v in environment_secrets(environ))
    for handler in logging.getLogger().handlers:
        if LOG_FILTER not in handler.filters:
            handler.addFilter(LOG_FILTER)
    return LOG_FILTER
