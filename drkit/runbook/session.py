"""Start or resume a run: pick the runbook, take the lock, journal, run the engine.

This is the glue between the CLI and the engine, shared by ``drkit failover`` and
``drkit runs resume`` (and later by failback and drill).
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drkit import clock
from drkit.config import Settings, is_secret_key
from drkit.config.providers import ConfigProviders
from drkit.config.redaction import LOG_FILTER, aws_file_secrets, environment_secrets
from drkit.dns.rfc2136 import parse_key_file
from drkit.dns.settings import dns_settings
from drkit.errors import ConfigError, UnsafeError
from drkit.runbook.audit import MIN_HUNTED, AuditLog
from drkit.runbook.engine import Prompt, RunContext, now_iso, run_steps, side_effect_started
from drkit.runbook.lock import RunLock
from drkit.runbook.spec import Runbook, find_runbook, load_runbook, packaged_runbook_dir, validate
from drkit.runbook.state import Journal, RunState, StepState, new_run_id
from drkit.runbook.steps import BUILTIN, schemas


def who_am_i() -> tuple[str, str]:
    host = socket.gethostname()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{host}", host


def secret_sources(settings: Settings,
                   environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """``(where, value)`` for every secret drkit parses or inherits, so that free text it writes
    or prints (journal, audit log, command output, errors, debug logs) can be scrubbed of them:

    * every cluster's client configs, all roles (SASL and SSL passwords, JAAS, key PEMs), with
      config providers resolved; and every secret-looking key of the raw MM2 file, resolved
      too (``ssl.truststore.password`` and the like that librdkafka does not use);
    * the TSIG secret (``tsig_secret``, or the key in ``tsig_key_file``);
    * AWS credentials in the environment and the AWS shared files, and other ``*_PASSWORD``/
      ``*_TOKEN``/``*_SECRET`` variables of drkit's environment.
    """
    env = os.environ if environ is None else environ
    out: list[tuple[str, str]] = []
    for alias, cluster in settings.clusters.items():
        configs = {"": cluster.client_config, **{f"{r}.": c.config
                                                 for r, c in cluster.roles.items()}}
        out += [(f"{alias} {prefix}{k}", v) for prefix, config in configs.items()
                for k, v in config.items() if v and is_secret_key(k)]
    props = settings.mm2_properties
    providers = ConfigProviders(props, dict(env))
    for key in props:
        raw = props.get(key)
        if raw and is_secret_key(key):
            try:
                value = providers.resolve(raw, key, props.where(key))
            except ConfigError:
                value = raw  # reported where the setting is used
            out.append((f"{props.where(key)} {key}", value))
    out += _tsig_secrets(settings)
    out += environment_secrets(env)
    if str(settings.dns.get("provider", "")) == "route53":
        out += aws_file_secrets(env)
    return out


def _tsig_secrets(settings: Settings) -> list[tuple[str, str]]:
    try:
        conf = dns_settings(settings)
    except ConfigError:
        return []
    if conf is None:
        return []
    pconf = conf.provider_config
    out = [(f"[dns.{conf.provider}] {k}", str(v)) for k, v in pconf.items()
           if v and isinstance(v, str) and is_secret_key(k)]
    key_file = pconf.get("tsig_key_file")
    if isinstance(key_file, str):
        try:
            keys = parse_key_file(Path(key_file).expanduser().read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            keys = {}
        out += [(f"{key_file} key {name}", secret) for name, (_alg, secret) in keys.items()]
    return out


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value drkit knows of (:func:`secret_sources`), so none reaches disk."""
    return list(dict.fromkeys(v for _where, v in secret_sources(settings)))


def short_secret_warning(settings: Settings) -> str | None:
    """One line naming the secrets too short to scrub from free text, or None.

    Decision: a secret shorter than MIN_HUNTED characters is not hunted in free text (replacing
    ``"admin"`` everywhere would mangle messages and names); drkit warns once per command instead
    of refusing to run, since a failover must not be blocked by a weak lab password.
    """
    first: dict[str, str] = {}
    for where, value in secret_sources(settings):
        first.setdefault(value, where)
    short = sorted(where for value, where in first.items() if len(value) < MIN_HUNTED)
    if not short:
        return None
    return (f"warning: {len(short)} secret(s) shorter than {MIN_HUNTED} characters are not "
            f"scrubbed from command output and messages ({', '.join(short[:3])}"
            f"{', …' if len(short) > 3 else ''}); use longer secrets")


def search_dirs(settings: Settings) -> list[Path]:
    """Where a runbook *name* is looked up: ``runbook_dir`` from drkit.toml, then the packaged
    runbooks. Never the current directory: a ``runbooks/`` there may belong to anyone, and its
    ``exec`` steps would run with drkit's credentials (another file needs ``--runbook FILE``)."""
    dirs = [settings.runbook_dir] if settings.runbook_dir else []
    return [*dirs, packaged_runbook_dir()]


def load_checked(settings: Settings, name_or_path: str) -> Runbook:
    return validate(load_runbook(find_runbook(name_or_path, search_dirs(settings))), schemas())


@dataclass
class Session:
    settings: Settings
    journal: Journal
    audit: AuditLog
    say: Callable[[str], None]
    prompt: Prompt | None = None  # the CLI's way to ask the operator (approve step)

    @classmethod
    def open(cls, settings: Settings, say: Callable[[str], None],
             prompt: Prompt | None = None) -> Session:
        secrets = secrets_of(settings)
        LOG_FILTER.add(secrets)  # debug logs are scrubbed of them too
        warning = short_secret_warning(settings)
        if warning:
            say(warning)
        moved = clock.override_note()  # DRKIT_NOW_MS: tests only, said on every run
        if moved:
            say(moved)
        return cls(settings, Journal(settings.state_dir, secrets),
                   AuditLog(settings.state_dir, secrets), say, prompt)

    def new_run(self, kind: str, runbook: Runbook, source: str, target: str,
                args: dict[str, Any], allow_placeholder: bool = False) -> RunState:
        if runbook.placeholder and not allow_placeholder:
            raise ConfigError(f"{runbook.path}: runbook {runbook.name!r} is a placeholder "
                              "(placeholder = true); it is not complete yet")
        self.settings.flow(source, target)  # a clear error for a disabled or unknown flow
        who, host = who_am_i()
        now = now_iso()
        return RunState(
            run_id=new_run_id(kind, source, target), kind=kind, runbook=runbook.name,
            runbook_path=str(runbook.path), runbook_digest=runbook.digest, source=source,
            target=target, args=args, who=who, host=host, pid=os.getpid(), created_at=now,
            updated_at=now, status="running",
            steps=[StepState(s.id, s.uses) for s in runbook.steps])

    def start(self, run: RunState, runbook: Runbook, *, approve: str | None,
              interactive: bool, force_unlock: bool = False) -> RunState:
        lock = RunLock(self.settings.state_dir, f"{run.source}->{run.target}", run.run_id,
                       run.who, os.getpid())
        forced = lock.acquire(force_unlock=force_unlock)
        try:
            self.journal.create(run)
        except BaseException:  # e.g. the disk is full: no run exists to hold the lock
            lock.release()
            raise
        self.say(f"run {run.run_id}: {runbook.name} runbook ({runbook.path})")
        self.audit.append(run.run_id, "run-started", who=run.who, runbook=run.runbook,
                          source=run.source, target=run.target, forced_unlock=bool(forced))
        return self._go(run, runbook, lock, approve, interactive)

    def resume(self, run_id: str, *, approve: str | None, interactive: bool,
               force_unlock: bool = False, runbook_arg: str | None = None,
               trust_journal: bool = False) -> RunState:
        run = self.journal.load(run_id, trust_unsigned=trust_journal)
        if run.rollbacks:  # what it changed was put back: carrying on would redo it blindly
            last = run.rollbacks[-1]
            raise UnsafeError(f"run {run_id} was rolled back at {last.get('at')} by "
                              f"{last.get('who')}; it cannot be resumed: start a new failover")
        if run.status == "succeeded":
            self.say(f"run {run_id} already succeeded; nothing to do")
            return run
        runbook = self.runbook_for_resume(run, runbook_arg)
        who, _host = who_am_i()
        lock = RunLock(self.settings.state_dir, f"{run.source}->{run.target}", run.run_id,
                       who, os.getpid())
        forced = lock.acquire(force_unlock=force_unlock, allow_run_id=run.run_id)
        run.resumed.append({"who": who, "pid": os.getpid(), "at": now_iso()})
        run.pid = os.getpid()
        self.audit.append(run.run_id, "run-resumed", who=who, forced_unlock=bool(forced))
        return self._go(run, runbook, lock, approve, interactive)

    def runbook_for_resume(self, run: RunState, runbook_arg: str | None = None) -> Runbook:
        """The run's runbook, found again where runbooks come from (``runbook_arg``, i.e.
        ``--runbook`` given again, else the run's runbook name in :func:`search_dirs`) and
        checked against the journal's digest. ``runbook_path`` in the journal is never opened:
        whoever can edit the journal could point it at a file whose ``exec`` steps then run."""
        hint = (f"resume with `drkit failover --resume {run.run_id} --runbook FILE` naming the "
                "runbook file the run started with, or start a new run")
        if runbook_arg is None:
            name = run.runbook
            if (not name or "/" in name or "\\" in name or "\0" in name
                    or name.endswith(".toml") or name in (".", "..")):
                raise UnsafeError(f"run {run.run_id}: the journal's runbook name {name!r} is "
                                  f"not a runbook name; {hint}")
        try:
            runbook = load_checked(self.settings, runbook_arg or run.runbook)
        except ConfigError as exc:
            raise ConfigError(f"run {run.run_id} started with runbook {run.runbook!r} "
                              f"({run.runbook_path!r}): {exc}; {hint}") from None
        if runbook.digest != run.runbook_digest:
            raise UnsafeError(
                f"run {run.run_id}: runbook {runbook.path} (sha256 {runbook.digest[:12]}) is not "
                f"the one the run started with ({run.runbook_path!r}, sha256 "
                f"{run.runbook_digest[:12]!r}); restore that file, or {hint}")
        return runbook

    def _go(self, run: RunState, runbook: Runbook, lock: RunLock, approve: str | None,
            interactive: bool) -> RunState:
        ctx = RunContext(self.settings, run, runbook, self.journal, self.audit, self.say,
                         approve=approve, interactive=interactive, prompt=self.prompt)
        try:
            finished = run_steps(ctx, BUILTIN)
        except BaseException:
            # A run that failed or was refused before any side effect (no commit, dns-flip or
            # exec step started) left nothing half-done: it gives the lock back, so the next
            # attempt needs no --force-unlock. One that did keeps it (stale once the process is
            # gone) so nobody starts a second failover over a half-done one.
            if not side_effect_started(run):
                lock.release()
                self.audit.append(run.run_id, "lock-released", reason="no side effect started")
                self.say(f"run {run.run_id}: nothing was changed; lock released")
            raise
        lock.release()
        return finished
