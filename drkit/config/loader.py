"""Finding and reading ``drkit.toml`` and building :class:`Settings` from it and the MM2 file."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from drkit.config.client_mapping import build_cluster
from drkit.config.javaprops import PropertiesFile, load_properties
from drkit.config.mm2view import MM2View, build_flow
from drkit.config.model import DEFAULT_REPLICATION_POLICY, MM2Settings, Settings
from drkit.config.providers import ConfigProviders
from drkit.errors import ConfigError
from drkit.mm2.versions import parse_version

ENV_VAR = "DRKIT_CONFIG"
DEFAULT_CONFIG_NAME = "drkit.toml"
DEFAULT_STATE_DIR = ".drkit"
TOML_KEYS = frozenset(
    {"mm2_config", "state_dir", "runbook_dir", "clusters", "dns", "mm2", "status", "failover",
     "drill"}
)
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


def find_config(
    explicit: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Path | None:
    """The drkit.toml to use: ``explicit``, else ``$DRKIT_CONFIG``, else ``./drkit.toml``.

    An explicit path or ``$DRKIT_CONFIG`` that does not exist is an error (a typo must not make
    drkit run with other settings); a missing ``./drkit.toml`` just returns None.
    """
    env = os.environ if environ is None else environ
    base = Path.cwd() if cwd is None else cwd
    for path, origin in ((explicit, "--config"), (env.get(ENV_VAR) or None, f"${ENV_VAR}")):
        if path is not None:
            resolved = base / Path(path).expanduser()
            if not resolved.is_file():
                raise ConfigError(f"config file {resolved} (from {origin}) does not exist")
            return resolved
    default = base / DEFAULT_CONFIG_NAME
    return default if default.is_file() else None


def load_settings(
    config: str | Path | None = None,
    *,
    mm2_config: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    topic_overrides: Mapping[str, str] | None = None,
) -> Settings:
    """Find and load drkit.toml and its MM2 file, or ``mm2_config`` alone.

    ``mm2_config`` (``--mm2-config``, relative to ``cwd``) wins over the toml's ``mm2_config``.
    Without a drkit.toml, state goes to ``./.drkit``. ``topic_overrides`` (``--topic-name``)
    win over drkit.toml's ``[mm2.topics]``. ``environ`` also feeds ``${env:...}`` variables.
    """
    base = Path.cwd() if cwd is None else cwd
    toml_path = find_config(config, environ, base)
    toml: dict[str, Any] = {} if toml_path is None else read_toml(toml_path)
    toml_dir = base if toml_path is None else toml_path.parent
    if mm2_config is not None:
        mm2_path = base / Path(mm2_config).expanduser()
    elif "mm2_config" in toml:
        mm2_path = toml_dir / Path(_toml_str(toml, "mm2_config", toml_path)).expanduser()
    elif toml_path is not None:
        raise ConfigError(f"{toml_path}: mm2_config is missing; name the MM2 properties file")
    else:
        raise ConfigError(
            f"no drkit config found (looked at --config, ${ENV_VAR} and "
            f"{base / DEFAULT_CONFIG_NAME}); pass --config drkit.toml "
            "or --mm2-config mm2.properties"
        )
    try:
        properties = load_properties(mm2_path)
    except ConfigError as exc:
        if mm2_config is not None or toml_path is None or not isinstance(exc.__cause__, OSError):
            raise
        # The path came from drkit.toml: say where, so the operator fixes the right file.
        line = toml_key_line(toml_path, "mm2_config")
        raise ConfigError(f"{exc} (mm2_config in {toml_path} line {line}, relative to "
                          f"{toml_dir}); fix the path there or pass --mm2-config") from None
    return build_settings(
        toml, properties, config_path=toml_path, mm2_config_path=mm2_path, base_dir=toml_dir,
        topic_overrides=topic_overrides, environ=environ,
    )


def toml_key_line(path: Path, key: str) -> int | str:
    """The line of top-level ``key = …`` in the TOML file ``path`` ("?" if not found)."""
    pattern = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return "?"
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("["):
            break  # top-level keys come before the first table
        if pattern.match(line):
            return number
    return "?"


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; errors name the file and line tomllib reports."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.search(str(exc))
        line = int(match.group(1)) if match else text.count("\n") + 1
        raise ConfigError(f"{path}:{line}: invalid TOML: {exc}") from None


def build_settings(
    toml: Mapping[str, Any],
    properties: PropertiesFile,
    *,
    config_path: Path | None,
    mm2_config_path: Path,
    base_dir: Path,
    topic_overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from parsed drkit.toml data and MM2 properties.

    No file access except what the MM2 file's config providers read (``${file:...}``,
    ``${directory:...}``), lazily. ``topic_overrides`` (e.g. from ``--topic-name``) take the
    same keys as ``[mm2.topics]`` and win over it. ``environ`` feeds ``${env:...}`` (default:
    the process environment).
    """
    label = str(config_path) if config_path else "drkit settings"
    unknown = sorted(set(toml) - TOML_KEYS)
    if unknown:
        raise ConfigError(
            f"{label}: unknown top-level key '{unknown[0]}'; "
            f"allowed: {', '.join(sorted(TOML_KEYS))}"
        )
    providers = ConfigProviders(properties, dict(os.environ if environ is None else environ))
    view = MM2View(properties, providers)
    aliases = view.clusters()
    client_tables = _toml_clusters(toml, label, aliases, properties.source)
    overrides = _toml_topic_overrides(toml, label, aliases)
    if topic_overrides:
        overrides.update(_validate_topic_overrides(
            dict(topic_overrides), "--topic-name", aliases, cli=True
        ))
    try:
        policy_class, separator, internal = view.policy(None)
    except ConfigError:  # the flows carry the problem; only a flow in use fails for it
        policy_class, separator, internal = DEFAULT_REPLICATION_POLICY, ".", True
    version = _toml_mm2_version(toml, label)
    mm2 = MM2Settings(aliases, properties, policy_class, separator, internal, overrides, version)
    clusters = {a: build_cluster(view, a, client_tables.get(a, {})) for a in aliases}
    legacy = version is not None and parse_version(version) < (4, 0, 0)
    flows = {
        (s, t): build_flow(view, s, t, overrides, legacy_filters=legacy, version=version)
        for s in aliases for t in aliases if s != t
    }

    def path_of(key: str) -> Path | None:
        raw = toml.get(key)
        return None if raw is None else base_dir / Path(_toml_str(toml, key, label)).expanduser()

    return Settings(
        config_path=config_path,
        mm2_config_path=mm2_config_path,
        state_dir=path_of("state_dir") or base_dir / DEFAULT_STATE_DIR,
        clusters=clusters,
        flows=flows,
        mm2=mm2,
        runbook_dir=path_of("runbook_dir"),
        dns=_toml_table(toml, "dns", label),
        thresholds=_toml_table(toml, "status", label),
        failover=_toml_table(toml, "failover", label),
        drill=_toml_table(toml, "drill", label),
    )


def _toml_str(toml: Mapping[str, Any], key: str, label: object) -> str:
    value = toml[key]
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{label}: {key} must be a non-empty string (a path)")
    return value


def _toml_table(toml: Mapping[str, Any], key: str, label: str) -> dict[str, Any]:
    value = toml.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: {key} must be a table ([{key}])")
    return value


def _toml_clusters(
    toml: Mapping[str, Any], label: str, aliases: tuple[str, ...], mm2_file: str
) -> dict[str, dict[str, str]]:
    """``[clusters.<alias>.client]`` tables, values as librdkafka strings."""
    result: dict[str, dict[str, str]] = {}
    for alias, table in _toml_table(toml, "clusters", label).items():
        if alias not in aliases:
            raise ConfigError(
                f"{label}: [clusters.{alias}] names no cluster in {mm2_file} "
                f"(clusters = {', '.join(aliases)})"
            )
        if not isinstance(table, dict) or set(table) - {"client"}:
            raise ConfigError(
                f"{label}: [clusters.{alias}] may only hold a [clusters.{alias}.client] table"
            )
        client = table.get("client", {})
        if not isinstance(client, dict):
            raise ConfigError(f"{label}: clusters.{alias}.client must be a table")
        result[alias] = {}
        for key, value in client.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, int | float):
                value = str(value)
            if not isinstance(value, str):
                raise ConfigError(
                    f'{label}: clusters.{alias}.client."{key}" must be a string, number or bool'
                )
            result[alias][key] = value
    return result


def _toml_topic_overrides(
    toml: Mapping[str, Any], label: str, aliases: tuple[str, ...]
) -> dict[str, str]:
    """``[mm2.topics]``: explicit internal topic names for custom policies (KIP-690)."""
    mm2 = _toml_table(toml, "mm2", label)
    if set(mm2) - {"topics", "version"}:
        raise ConfigError(
            f"{label}: unknown key 'mm2.{sorted(set(mm2) - {'topics', 'version'})[0]}'; "
            "allowed: topics, version"
        )
    raw = mm2.get("topics", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{label}: mm2.topics must be a table")
    flat: dict[str, Any] = {}

    def flatten(prefix: str, table: Mapping[str, Any]) -> None:
        for key, value in table.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                flatten(f"{name}.", value)
            else:
                flat[name] = value

    flatten("", raw)
    return _validate_topic_overrides(flat, label, aliases)


def _validate_topic_overrides(
    flat: dict[str, Any], label: str, aliases: tuple[str, ...], cli: bool = False
) -> dict[str, str]:
    """Check ``heartbeats`` / ``checkpoints.<alias>`` / ``offset-syncs.<alias>`` keys."""
    what = "--topic-name" if cli else "mm2.topics key"
    for key, value in flat.items():
        kind, _, alias = key.partition(".")
        valid = key == "heartbeats" or (
            kind in ("checkpoints", "offset-syncs") and alias in aliases
        )
        if not valid:
            raise ConfigError(
                f'{label}: {what} "{key}" is not one of "heartbeats", '
                f'"checkpoints.<alias>", "offset-syncs.<alias>" (aliases: {", ".join(aliases)})'
            )
        if not isinstance(value, str) or not value:
            raise ConfigError(f'{label}: {what} "{key}" must be a non-empty topic name')
    return flat


def parse_topic_names(items: Iterable[str]) -> dict[str, str]:
    """``--topic-name KEY=NAME`` values (repeatable) as overrides; ConfigError if malformed."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, name = item.partition("=")
        if not sep or not key.strip() or not name.strip():
            raise ConfigError(
                f"--topic-name {item!r}: write KEY=NAME with KEY heartbeats, "
                "checkpoints.<alias> or offset-syncs.<alias>, e.g. "
                "--topic-name checkpoints.primary=primary.checkpoints.internal"
            )
        out[key.strip()] = name.strip()
    return out


def _toml_mm2_version(toml: Mapping[str, Any], label: str) -> str | None:
    """``[mm2] version``: the Kafka version MM2 runs; checkpoint semantics depend on it."""
    raw = _toml_table(toml, "mm2", label).get("version")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ConfigError(f'{label}: mm2.version must be a string such as "3.7.1"')
    try:
        parse_version(raw)
    except ConfigError as exc:
        raise ConfigError(f"{label}: mm2.version: {exc}") from None
    return raw
