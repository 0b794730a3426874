"""Facts plus thresholds in, Nagios-style checks out: the judgement of ``drkit status``, no I/O.

Every check's message is one line an operator can act on at 3 a.m., built as

    <headline>[ (details)][: <cause>] — <the one thing to do next>

so the renderers can take the headline for the Nagios summary line (:func:`headline`) and the
remedy for ``NEXT:`` (:func:`remedy`) without a second source of truth. Headlines never contain
": " or " — "; causes (error texts) may, which is why :func:`remedy` splits at the *last* " — ".

Levels rank CRITICAL > UNKNOWN > WARNING > OK (:data:`SEVERITY`), not by their exit-code
number: with the primary down the flow's plan is UNKNOWN too, and the pager must still say
CRITICAL (and many alerting setups do not notify on UNKNOWN at all).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

from drkit.status.model import (
    CRITICAL,
    OK,
    UNKNOWN,
    WARNING,
    Check,
    ClusterFacts,
    DrillFacts,
    FlowFacts,
    GroupFacts,
    RunFacts,
    StatusFacts,
    Thresholds,
    TopicLag,
)

SEVERITY = {OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3}
REMEDY_SEP = " — "
_ERROR_CHARS = 300  # an exception text can be kilobytes; the JSON keeps the facts in full
_PARENS = re.compile(r"\s*\([^()]*\)")


# --- subjects: shared with render.py so it can find a group's or a topic's checks ------------

def flow_name(source: str, target: str) -> str:
    return f"{source}->{target}"


def cluster_subject(alias: str) -> str:
    return f"cluster {alias}"


def flow_subject(flow: FlowFacts) -> str:
    return f"flow {flow_name(flow.source, flow.target)}"


def topic_subject(flow: FlowFacts, topic: str) -> str:
    return f"topic {topic} ({flow_name(flow.source, flow.target)})"


def group_subject(flow: FlowFacts, group: str) -> str:
    return f"group {group} ({flow_name(flow.source, flow.target)})"


# --- reading a check back ----------------------------------------------------------------------

def remedy(check: Check) -> str:
    """The one thing to do next: the text after the message's last " — " ("" if none)."""
    _finding, sep, rest = check.message.rpartition(REMEDY_SEP)
    return rest if sep else ""


def headline(check: Check) -> str:
    """The short form for the summary line: no parenthesised details, no cause, no remedy."""
    finding = check.message.rpartition(REMEDY_SEP)[0] or check.message
    while True:  # innermost first, so nested parentheses go too
        shorter = _PARENS.sub("", finding)
        if shorter == finding:
            break
        finding = shorter
    return " ".join(finding.partition(": ")[0].split())


def severity(level: int) -> int:
    return SEVERITY.get(level, SEVERITY[UNKNOWN])


def overall(checks: Iterable[Check]) -> int:
    """The exit code: the worst level by :data:`SEVERITY`; OK when there is nothing to say."""
    return max((c.level for c in checks), key=severity, default=OK)


def sort_key(check: Check) -> tuple[int, str]:
    return -severity(check.level), check.subject


def newest_runs(runs: Iterable[RunFacts]) -> list[RunFacts]:
    """The newest run of each flow, newest first: older runs were superseded by it.

    A run without a flow (a damaged journal) stands alone: nothing supersedes it.
    """
    newest: dict[tuple[str, str], RunFacts] = {}
    for run in runs:
        key = ((run.source, run.target) if run.source is not None and run.target is not None
               else ("", run.run_id))
        if key not in newest or _run_order(run) > _run_order(newest[key]):
            newest[key] = run
    return sorted(newest.values(), key=_run_order, reverse=True)


def _run_order(run: RunFacts) -> tuple[str, str]:
    # ISO-8601 UTC times sort as text; run ids start with their start time as a tiebreak.
    return run.created_at or "", run.run_id


# --- formatting ------------------------------------------------------------------------------

def _text(error: str | None, fallback: str = "no reason given") -> str:
    """An error as one bounded line: exception texts can span lines and kilobytes."""
    line = " ".join((error or "").split()) or fallback
    return line if len(line) <= _ERROR_CHARS else line[: _ERROR_CHARS - 1] + "…"


def _age(seconds: float, *details: str) -> str:
    """Seconds first (the thresholds' unit), then minutes or hours and ``details`` in brackets."""
    human = ([f"{seconds / 3600:.1f} h"] if abs(seconds) >= 7200
             else [f"{seconds / 60:.0f} min"] if abs(seconds) >= 120 else [])
    extra = "; ".join([*human, *details])
    return f"{seconds:.0f} s old" + (f" ({extra})" if extra else "")


def _records(n: float) -> str:
    return f"{n:,.0f} records" if n != 1 else "1 record"


def _level(value: float, warn: float | None, crit: float | None) -> tuple[int, str]:
    """The level of ``value`` against ≥ thresholds (None: off) and which limit it reached."""
    if crit is not None and value >= crit:
        return CRITICAL, "crit"
    if warn is not None and value >= warn:
        return WARNING, "warn"
    return OK, ""


def _make(level: int, subject: str, finding: str, todo: str) -> Check:
    return Check(level, subject, f"{finding}{REMEDY_SEP}{todo}")


# --- the rules -------------------------------------------------------------------------------

def evaluate(facts: StatusFacts, t: Thresholds) -> list[Check]:
    """Every problem in ``facts``, worst first then by subject; [] means all is well."""
    clusters = {c.alias: c for c in facts.clusters}
    checks: list[Check] = []
    for cluster in facts.clusters:
        checks.extend(_cluster(cluster))
    for flow in facts.flows:
        checks.extend(_heartbeat(flow, t, clusters))
        checks.extend(_lags(flow, t, clusters))
        checks.extend(_readiness(flow))
        checks.extend(_groups(flow, t))
    checks.extend(_dns(facts))
    checks.extend(_runs(facts.runs))
    checks.extend(_drills(facts))
    return sorted(checks, key=sort_key)  # stable: a subject's checks keep the rules' order


def _reachable(clusters: dict[str, ClusterFacts], alias: str) -> bool:
    """Unknown aliases count as reachable: better a redundant warning than a silent gap."""
    cluster = clusters.get(alias)
    return cluster is None or cluster.reachable


def _cluster(c: ClusterFacts) -> list[Check]:
    if c.reachable:
        return []
    # The admin error starts "cannot reach <alias> (<bootstrap>): ": said once, not twice.
    error = (c.error or "").removeprefix(f"cannot reach {c.alias} ({c.bootstrap}): ")
    return [_make(CRITICAL, cluster_subject(c.alias),
                  f"cluster {c.alias} ({c.bootstrap}) unreachable: {_text(error)}",
                  f"check {c.alias}'s brokers and the network from this host to {c.bootstrap}")]


def _heartbeat(flow: FlowFacts, t: Thresholds,
               clusters: dict[str, ClusterFacts]) -> list[Check]:
    name, subject = flow_name(flow.source, flow.target), flow_subject(flow)
    mm2 = f"is MM2's {name} running? see its log"
    if flow.heartbeat_age_s is None:
        if not _reachable(clusters, flow.target):
            return []  # the cluster check already says CRITICAL, and why
        return [_make(WARNING, subject,
                      f"{name} heartbeat unavailable ({flow.heartbeat_topic} on {flow.target}): "
                      f"{_text(flow.heartbeat_error, 'no heartbeat record found')}",
                      f"{mm2}; with --clusters {flow.target} alone nothing emits heartbeats "
                      f"into {flow.source}, so the end-to-end check is blind")]
    age = flow.heartbeat_age_s
    level, which = _level(age, t.heartbeat_age_warn, t.heartbeat_age_crit)
    if level == OK:
        return []
    limit = t.heartbeat_age_crit if level == CRITICAL else t.heartbeat_age_warn
    return [_make(level, subject,
                  f"{name} heartbeat " + _age(age, f"{which} ≥ {limit:.0f} s",
                                              f"newest in {flow.heartbeat_topic} on {flow.target}"),
                  mm2)]


def _lags(flow: FlowFacts, t: Thresholds, clusters: dict[str, ClusterFacts]) -> list[Check]:
    name = flow_name(flow.source, flow.target)
    checks = [c for lag in flow.lags if (c := _lag(flow, lag, t)) is not None]
    if flow.lag_error is not None and _reachable(clusters, flow.source) and _reachable(
            clusters, flow.target):
        checks.append(_make(WARNING, flow_subject(flow),
                            f"{name} record lag unknown: {_text(flow.lag_error)}",
                            f"check that MM2's {name} writes offset-syncs and that this host "
                            "can read them"))
    return checks


def _lag(flow: FlowFacts, lag: TopicLag, t: Thresholds) -> Check | None:
    """One check per topic, at the worse of its time and record lag; None when within limits."""
    found: list[tuple[int, str]] = []
    if lag.seconds is not None:
        level, which = _level(lag.seconds, t.lag_seconds_warn, t.lag_seconds_crit)
        limit = t.lag_seconds_crit if which == "crit" else t.lag_seconds_warn
        if level != OK and limit is not None:
            found.append((level, f"{lag.seconds:.0f} s behind ({which} ≥ {limit:.0f} s)"))
    if lag.messages is not None:
        level, which = _level(lag.messages, t.lag_messages_warn, t.lag_messages_crit)
        limit_n = t.lag_messages_crit if which == "crit" else t.lag_messages_warn
        if level != OK and limit_n is not None:
            found.append((level, f"{_records(lag.messages)} behind "
                                 f"({which} ≥ {_records(limit_n)})"))
    if not found:
        return None
    name = flow_name(flow.source, flow.target)
    level = max((lvl for lvl, _ in found), key=severity)
    return _make(level, topic_subject(flow, lag.topic),
                 f"{name} topic {lag.topic} is " + " and ".join(text for _, text in found),
                 f"is MM2's {name} keeping up with {lag.topic}? check its tasks and log")


def _readiness(flow: FlowFacts) -> list[Check]:
    """The failover readiness rule (drkit.offsets.readiness, shared with preflight and plan):
    one WARNING per refusal a failover now would meet, worded as preflight words it."""
    r = flow.readiness or {}
    return [Check(WARNING, flow_subject(flow),
                  f"{flow_name(flow.source, flow.target)} failover would be refused: "
                  f"{_text(str(refusal))}")
            for refusal in r.get("refusals") or []]


def _groups(flow: FlowFacts, t: Thresholds) -> list[Check]:
    name = flow_name(flow.source, flow.target)
    if flow.groups_error is not None:
        return [_make(UNKNOWN, flow_subject(flow),
                      f"{name} failover plan unknown: {_text(flow.groups_error)}",
                      f"run `drkit plan --from {flow.source} --to {flow.target}` for details")]
    checks: list[Check] = []
    for g in flow.groups:
        checks.extend(_group(flow, g, t))
    return checks


def _group(flow: FlowFacts, g: GroupFacts, t: Thresholds) -> list[Check]:
    subject = group_subject(flow, g.group)
    who = f"group {g.group} ({flow_name(flow.source, flow.target)})"
    checks: list[Check] = []
    stale = _stale_checkpoint(flow, g, t, subject, who)
    if stale is not None:
        checks.append(stale)
    if not g.ready and not g.excluded_by_mm2:
        checks.append(_make(WARNING, subject, f"{who} not ready for a failover: {_text(g.reason)}",
                            _readiness_remedy(flow, g)))
    redo, limit = g.expected_redeliveries, t.redeliveries_warn
    if redo is not None and limit is not None and redo >= limit:
        checks.append(_make(WARNING, subject,
                            f"{who} would re-deliver {_records(redo)} after a failover now "
                            f"(warn ≥ {_records(limit)})",
                            "check that MM2 emits checkpoints for it, or make sure its consumers "
                            "tolerate the duplicates"))
    return checks


def _stale_checkpoint(flow: FlowFacts, g: GroupFacts, t: Thresholds, subject: str,
                      who: str) -> Check | None:
    """An old checkpoint is an alarm only when the group moved since (MM2 ≥ 3.4.1 re-emits
    nothing unchanged): idle groups never alarm, and without the source it is at most a WARNING.
    """
    age = g.checkpoint_age_s
    if age is None or g.idle or g.moved_since_checkpoint is False:
        return None
    level, which = _level(age, t.checkpoint_age_warn, t.checkpoint_age_crit)
    if level == OK:
        return None
    limit = t.checkpoint_age_crit if which == "crit" else t.checkpoint_age_warn
    limits = f"{which} ≥ {limit:.0f} s"
    todo = (f"is MM2's checkpoint connector for {flow_name(flow.source, flow.target)} running? "
            "see its log")
    if g.moved_since_checkpoint is None:
        level = min(level, WARNING, key=severity)
        return _make(level, subject,
                     f"{who} checkpoint {_age(age, limits)}: cannot tell idle from stuck "
                     "without the source",
                     f"check {flow.source} is reachable from here; then {todo}")
    return _make(level, subject,
                 f"{who} checkpoint {_age(age, limits)} though it moved on {flow.source}",
                 todo)


def _readiness_remedy(flow: FlowFacts, g: GroupFacts) -> str:
    if g.members_on_standby > 0:
        return f"stop its consumers on {flow.target} before a failover"
    regex = shlex.quote(f"^{re.escape(g.group)}$")
    return (f"see which partitions and why: `drkit plan --from {flow.source} "
            f"--to {flow.target} --group {regex}`")


def _dns(facts: StatusFacts) -> list[Check]:
    checks: list[Check] = []
    if facts.dns_error is not None:
        checks.append(_make(WARNING, "dns", f"DNS records unreadable: {_text(facts.dns_error)}",
                            "check the DNS provider settings in drkit.toml (`drkit dns show`)"))
    for d in facts.dns:
        subject = f"dns {d.name}"
        if d.error is not None:
            checks.append(_make(WARNING, subject,
                                f"DNS {d.name} ({d.type}) unreadable: {_text(d.error)}",
                                "check the DNS provider and its credentials (`drkit dns show`)"))
        elif d.points_at is None:
            values = ", ".join(d.values) or "no value"
            checks.append(_make(WARNING, subject,
                                f"DNS {d.name} ({d.type}) points at no known cluster: "
                                f"{_text(values)}",
                                f"point {d.name} at a cluster, or fix the clusters' addresses "
                                "in drkit.toml"))
    return checks


def _runs(runs: Iterable[RunFacts]) -> list[Check]:
    checks: list[Check] = []
    for run in newest_runs(runs):
        if run.status in ("succeeded", "rolled back"):
            continue  # done, or undone on purpose: nothing left to do
        # as drkit.runbook.liveness.resume_command (a drill finishes with `drkit drill --resume`)
        command = (f"drkit {run.kind} --resume {run.run_id}" if run.kind in ("failover", "drill")
                   else f"drkit runs resume {run.run_id}")
        if run.status == "running":
            todo = f"if its drkit process is gone, resume it with `{command}`"
        elif run.status == "damaged":
            todo = (f"its journal is unreadable: see `drkit runs show {run.run_id}`, then fix it "
                    "or move it away (drkit never overwrites a damaged journal)")
        elif run.status == "aborted":
            todo = f"see what it did with `drkit runs show {run.run_id}`"
        elif run.status == "tampered":
            todo = ("its journal was changed outside drkit (its integrity MAC does not verify): "
                    "find out who changed it (`drkit runs list` names the file); drkit will "
                    "not resume or roll it back")
        elif run.status == "rollback incomplete":
            todo = (f"see what its rollback left with `drkit runs show {run.run_id}`, then "
                    f"finish it with `drkit runs rollback {run.run_id}`")
        else:
            todo = f"resume it with `{command}`"
        flow = (f" {flow_name(run.source, run.target)}" if run.source and run.target else "")
        checks.append(_make(WARNING, f"run {run.run_id}",
                            f"run {run.run_id} ({run.kind}{flow}) is {run.status}", todo))
    return checks


def drill_age_days(d: DrillFacts) -> float | None:
    return None if d.last_success_age_s is None else d.last_success_age_s / 86400


def _drills(facts: StatusFacts) -> list[Check]:
    """WARNING when a flow's last passing drill is older than [drill] max_age_days (or there
    is none while max_age_days is set). Without max_age_days a missing drill is only shown."""
    checks: list[Check] = []
    for d in facts.drills:
        if d.max_age_days is None:
            continue
        name = flow_name(d.source, d.target)
        todo = f"run `drkit drill --from {d.source} --to {d.target}` (docs/drills.md)"
        days = drill_age_days(d)
        if days is None:
            finding = f"no passing drill of {name} ([drill] max_age_days {d.max_age_days:g} d)"
            if d.last_run_id is not None:
                finding += f"; newest drill {d.last_run_id} failed"
            checks.append(_make(WARNING, f"drill {name}", finding, todo))
        elif days > d.max_age_days:
            checks.append(_make(WARNING, f"drill {name}",
                                f"last passing drill of {name} is {days:.1f} d old "
                                f"(max_age_days {d.max_age_days:g} d; {d.last_success_run_id})",
                                todo))
    return checks
