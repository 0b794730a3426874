"""Kafka config providers (``${provider:[path:]key}``) resolved as MirrorMaker 2 resolves them.

MM2 declares providers at the top level of its file (``config.providers = file, env, directory``
with ``config.providers.<name>.class`` and ``config.providers.<name>.param.<p>``) and resolves
every value that contains a variable: ``MirrorMakerConfig`` transforms the cluster client and
worker settings itself, and the Connect worker transforms the connector settings with the same
providers. drkit does the same for the three providers Kafka ships:

* ``FileConfigProvider``: ``${file:/path/to/file.properties:key}`` — the file is read as a Java
  properties file (UTF-8, as the provider reads it); ``allowed.paths`` limits the files.
* ``EnvVarConfigProvider``: ``${env:VAR}`` — no path allowed; ``allowlist.pattern`` (a regex
  that must match the whole name) limits the variables.
* ``DirectoryConfigProvider``: ``${directory:/dir:file}`` — the content of a regular file in the
  directory, unchanged (no trimming); ``allowed.paths`` limits the directories.

The variable grammar is ``ConfigTransformer``'s: the provider name runs to the first ``:``, an
optional path to the next ``:``, the key to the first ``}``; nothing is resolved recursively.

One deliberate difference: where Kafka leaves a variable it cannot resolve in place (unknown or
undeclared provider, missing key, a path outside ``allowed.paths``), drkit raises a one-line
:class:`ConfigError` naming the setting, its ``file:line`` and the provider, because a literal
``${...}`` sent to a broker as a password fails late and obscurely. Errors never quote a value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from drkit.config.javaprops import PropertiesFile, parse_properties
from drkit.errors import ConfigError

__all__ = ["PROVIDER_CLASSES", "VARIABLE", "ConfigProviders"]

#: ``ConfigTransformer.DEFAULT_PATTERN``.
VARIABLE = re.compile(r"\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}")
_PACKAGE = "org.apache.kafka.common.config.provider."
#: The providers Kafka ships, by kind; Connect also accepts the simple class name and the name
#: without the ``ConfigProvider`` suffix as aliases.
PROVIDER_CLASSES = {
    "file": "FileConfigProvider",
    "env": "EnvVarConfigProvider",
    "directory": "DirectoryConfigProvider",
}
_KIND_OF = {
    alias: kind
    for kind, simple in PROVIDER_CLASSES.items()
    for alias in (_PACKAGE + simple, simple, simple.removesuffix("ConfigProvider"))
}
_COMMA = re.compile(r"\s*,\s*")


def _java_list(text: str) -> list[str]:
    """ConfigDef LIST parsing (``getList``): trim, split on commas with blanks around them."""
    stripped = text.strip()
    return _COMMA.split(stripped) if stripped else []


@dataclass
class ConfigProviders:
    """The providers one MM2 file declares, resolving values on demand (with a read cache)."""

    props: PropertiesFile
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    _cache: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict, repr=False)

    @property
    def declared(self) -> list[str]:
        """Provider names in the top-level ``config.providers``, as MM2's ``getList`` reads them."""
        return _java_list(self.props.get("config.providers") or "")

    def resolve(self, value: str, key: str, where: str) -> str:
        """``value`` with every ``${provider:[path:]key}`` replaced, or a one-line ConfigError.

        ``key`` and ``where`` (``file:line``) only label errors.
        """
        if "${" not in value:
            return value
        out: list[str] = []
        pos = 0
        for match in VARIABLE.finditer(value):
            provider, path, name = match.group(1), match.group(3) or "", match.group(4)
            out.append(value[pos : match.start()])
            out.append(self._lookup(provider, path, name, key, where))
            pos = match.end()
        out.append(value[pos:])
        return "".join(out)

    # -- one variable ------------------------------------------------------------------------

    def _lookup(self, provider: str, path: str, name: str, key: str, where: str) -> str:
        def fail(why: str) -> ConfigError:
            ref = f"${{{provider}:{path + ':' if path else ''}{name}}}"
            return ConfigError(f"{where}: {key}: cannot resolve {ref}: {why}")

        if provider not in self.declared:
            declared = ", ".join(self.declared) or "none"
            return _raise(fail(
                f"provider '{provider}' is not declared in config.providers (declared: "
                f"{declared}); add it, with config.providers.{provider}.class, at the top level "
                f"of {self.props.source}"
            ))
        class_key = f"config.providers.{provider}.class"
        class_name = self.props.get(class_key) or ""  # Connect loads it as written
        if not class_name:
            return _raise(fail(f"{class_key} is not set in {self.props.source}"))
        kind = _KIND_OF.get(class_name)
        if kind is None:
            return _raise(fail(
                f"{class_key} = {class_name} is not a provider drkit can run (it runs Kafka's "
                f"{', '.join(PROVIDER_CLASSES.values())}); put the value in the file instead"
            ))
        params = {
            k[len(f"config.providers.{provider}.param.") :]: v
            for k, v in self.props.values.items()
            if k.startswith(f"config.providers.{provider}.param.")
        }
        reader: Callable[[str, dict[str, str]], dict[str, str]] = {
            "file": self._file, "env": self._env, "directory": self._directory,
        }[kind]
        try:
            data = self._cache.get((provider, path))
            if data is None:
                data = reader(path, params)
                self._cache[(provider, path)] = data
        except _ProviderError as exc:
            raise fail(f"{PROVIDER_CLASSES[kind]} '{provider}': {exc}") from None
        if name not in data:
            where_from = {"file": f"file {path}", "env": "the environment",
                          "directory": f"directory {path}"}[kind]
            return _raise(fail(f"no key '{name}' in {where_from} ({PROVIDER_CLASSES[kind]} "
                               f"'{provider}')"))
        return data[name]

    # -- the providers -----------------------------------------------------------------------

    def _file(self, path: str, params: dict[str, str]) -> dict[str, str]:
        if not path:
            raise _ProviderError("a path is needed: ${file:/path/to/file.properties:key}")
        target = _allowed(path, params)
        try:
            raw = target.read_bytes()
        except OSError as exc:
            raise _ProviderError(
                f"could not read properties from file {path}: {exc.strerror or exc}"
            ) from None
        try:
            text = raw.decode("utf-8")  # FileConfigProvider reads UTF-8, not Latin-1
        except UnicodeDecodeError:
            raise _ProviderError(
                f"could not read properties from file {path}: not UTF-8"
            ) from None
        try:
            return dict(parse_properties(text, path).values)
        except ConfigError as exc:  # a malformed \uXXXX: names file:line, never a value
            raise _ProviderError(str(exc)) from None

    def _env(self, path: str, params: dict[str, str]) -> dict[str, str]:
        if path:
            raise _ProviderError(f"a path is not supported, invalid value '{path}'")
        pattern = params.get("allowlist.pattern")
        if pattern is None:
            return dict(self.environ)
        try:
            allow = re.compile(pattern)
        except re.error as exc:
            raise _ProviderError(f"allowlist.pattern is not a valid regex: {exc}") from None
        return {k: v for k, v in self.environ.items() if allow.fullmatch(k)}

    def _directory(self, path: str, params: dict[str, str]) -> dict[str, str]:
        if not path:
            return {}
        directory = _allowed(path, params)
        if not directory.is_dir():
            raise _ProviderError(f"{path} is not a directory")
        out: dict[str, str] = {}
        for entry in directory.iterdir():
            if entry.is_file():
                try:
                    out[entry.name] = entry.read_bytes().decode("utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise _ProviderError(f"could not read file {entry}: {exc}") from None
        return out


class _ProviderError(Exception):
    """A provider failed; the caller adds key, file:line and provider."""


def _raise(error: ConfigError) -> str:
    raise error


def _normalize(path: str) -> PurePosixPath:
    """``Path.normalize()``: drop ``.`` and resolve ``..`` lexically (no file access)."""
    parts: list[str] = []
    pure = PurePosixPath(path)
    for part in pure.parts:
        if part == "..":
            if parts and parts[-1] not in ("..", "/"):
                parts.pop()
            elif not pure.is_absolute():
                parts.append(part)
        elif part != ".":
            parts.append(part)
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _allowed(path: str, params: Mapping[str, str]) -> Path:
    """The path, if ``allowed.paths`` (comma-separated absolute paths) lets the provider read it."""
    allowed = params.get("allowed.paths")
    if not allowed:
        return Path(path)
    roots = []
    for entry in allowed.split(","):
        root = _normalize(entry)
        if not root.is_absolute():
            raise _ProviderError(f"allowed.paths: path {root} is not absolute")
        if not Path(root).exists():
            raise _ProviderError(f"allowed.paths: path {root} does not exist")
        roots.append(root)
    target = _normalize(path)
    if not any(target.is_relative_to(root) for root in roots):
        raise _ProviderError(f"path {path} is outside allowed.paths ({allowed})")
    return Path(target)
