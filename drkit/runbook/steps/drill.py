"""The drill's steps (issue 10): a failover rehearsed into shadow groups, checked by content.

``shadow-commit`` commits the translated plan into ``<[drill] group_prefix><group>`` on the
standby (never the real group, never a group with members); ``dns-check`` changes nothing and
checks each record is where the failover expects it; ``verify-content`` reads small windows on
both clusters and proves, per partition, that nothing the group has not processed is skipped
(:mod:`drkit.drill.content`); ``measure`` takes the RPO; ``cleanup`` deletes the shadow groups
(``--keep`` keeps them); ``drill-report`` builds, saves and journals the :class:`DrillReport`.

Every step journals what it did before it does the next thing, so a drill killed anywhere and
resumed finishes with the same verdict and leaves no shadow group behind.
"""

from __future__ import annotations

import bisect
import concurrent.futures
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from confluent_kafka import KafkaException

from drkit.config.drill import DrillSettings, drill_settings
from drkit.dns.base import Provider, fqdn, show_records
from drkit.dns.flip import flip_record, provider_for, rollback_record
from drkit.dns.settings import DnsSettings, RecordSpec, dns_settings
from drkit.drill.content import match_partition
from drkit.drill.history import save_report
from drkit.drill.report import (
    DrillReport,
    DrillThresholds,
    PartitionCheck,
    Rto,
    StepTiming,
    TopicRpo,
)
from drkit.drill.windows import Rec, bounded, paused_gc, read_windows
from drkit.errors import ConfigError, DrkitError, UnsafeError
from drkit.kafka.admin import KafkaAdmin
from drkit.mm2.model import TopicPartition
from drkit.mm2.policy import ReplicationPolicy
from drkit.offsets.apply import commit_offsets
from drkit.offsets.plan import OffsetPlan
from drkit.runbook.engine import RunContext, StepFailed, now_iso
from drkit.runbook.spec import StepSchema, StepSpec
from drkit.runbook.state import StepState
from drkit.runbook.steps.common import cluster, offsets_from_json, offsets_to_json, the_plan

MARGIN = 50  # records read beyond the bound MM2's offset.lag.max gives
MAX_EXTRA = 100_000  # at most this many records of predicted re-delivery widen a window
PROBE_TIMEOUT_S = 5.0
# The failover step each rehearsed drill step stands for (RTO).
REHEARSES = {"preflight": "preflight", "translate": "translate", "shadow-commit": "commit",
             "dns-check": "dns-flip", "verify-content": "verify"}


def shadow_positions(plan: OffsetPlan) -> dict[str, dict[TopicPartition, int]]:
    """Where each group would resume after the failover: committed or kept offsets."""
    out: dict[str, dict[TopicPartition, int]] = {}
    for g in plan.groups:
        pos = {}
        for p in g.partitions:
            if p.action == "commit" and p.new_offset is not None:
                pos[p.topic_partition] = p.new_offset
            elif p.action == "keep" and p.current is not None:
                pos[p.topic_partition] = p.current
        if pos:
            out[g.group] = pos
    return out


def _settings(ctx: RunContext) -> DrillSettings:
    return drill_settings(ctx.settings)


def _only_in_drills(ctx: RunContext) -> None:
    if ctx.run.kind != "drill":
        raise UnsafeError(f"run {ctx.run.run_id} is a {ctx.run.kind}: drill steps run only in "
                          "`drkit drill`")


class ShadowCommitStep:
    schema = StepSchema("shadow-commit", {},
                        "Commit the plan into empty shadow groups on the standby (drill).")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        _only_in_drills(ctx)
        drill = _settings(ctx)
        out = state.outputs
        if "shadows" not in out:  # journaled before the first commit: cleanup knows them all
            positions = shadow_positions(the_plan(ctx))
            out["prefix"] = drill.group_prefix
            out["shadows"] = {g: drill.shadow_of(g) for g in sorted(positions)}
            out["positions"] = {g: offsets_to_json(o) for g, o in sorted(positions.items())}
            ctx.save()
        shadows: dict[str, str] = out["shadows"]
        positions = {g: offsets_from_json(rows) for g, rows in out["positions"].items()}
        target = cluster(ctx, ctx.target)
        existing = target.target_groups(shadows.values())
        refused: dict[str, str] = out.setdefault("refused", {})
        todo = []
        for group, shadow in shadows.items():
            tg = existing.get(shadow)
            if tg is not None and tg.is_active:
                refused[group] = (f"shadow group {shadow} has {tg.member_count} member(s) on "
                                  f"{ctx.target} (state {tg.state}); left alone")
            elif shadow in existing and existing[shadow].committed == positions[group]:
                continue  # committed before a kill
            else:
                todo.append((shadow, positions[group]))
        res = commit_offsets(target, todo)
        failed = []
        by_shadow = {s: g for g, s in shadows.items()}
        for r in res.results:
            if r.outcome == "refused":
                refused[by_shadow[r.group]] = f"shadow group {r.group}: {r.error}; left alone"
            elif r.outcome == "failed":
                failed.append(f"{r.group}: {r.error}")
        ctx.save()
        if failed:
            raise StepFailed(f"{len(failed)} shadow group(s) could not be committed on "
                             f"{ctx.target}: {failed[0]}")
        done = len(shadows) - len(refused)
        return {"summary": f"{done} shadow group(s) committed on {ctx.target}"
                           + (f", {len(refused)} refused (members)" if refused else "")}


class DnsCheckStep:
    schema = StepSchema("dns-check", {},
                        "Check each DNS record is what a failover flips; flip and restore only "
                        "the [drill] dns_record.")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        dns = dns_settings(ctx.settings)
        drill = _settings(ctx)
        if dns is None:
            problems = ([f"[drill] dns_record {drill.dns_record} needs a DNS provider: add [dns] "
                         "and [[dns.records]] to drkit.toml (docs/dns.md), or remove it"]
                        if drill.dns_record else [])
            return {"configured": False, "ttl_s": 0, "records": [], "problems": problems,
                    "summary": "no DNS provider configured ([dns] in drkit.toml): not checked"}
        provider = provider_for(dns)
        records, problems, ttl = [], [], 0
        for rec in dns.records:
            expected = rec.for_cluster(ctx.source)
            flip_to = rec.for_cluster(ctx.target)
            try:
                current = provider.get(rec.name, rec.type)
            except DrkitError as exc:
                problems.append(f"DNS provider {provider.describe()} cannot be read for "
                                f"{rec.name}: {exc}")
                continue
            now = list(current.values) if current else None
            ok = expected.same_values(current)
            ttl_ok = current is None or current.ttl == rec.ttl
            records.append({"name": rec.name, "type": rec.type, "now": now,
                            "ttl": current.ttl if current else None, "ttl_expected": rec.ttl,
                            "expected": list(expected.values), "flip_to": list(flip_to.values),
                            "ok": ok and ttl_ok})
            if current is not None:
                ttl = max(ttl, current.ttl)
            if current is not None and not ok and flip_to.same_values(current):
                problems.append(f"DNS {rec.name} {rec.type} already points at {ctx.target} "
                                f"({', '.join(now or [])}), as a failover would flip it: is "
                                f"{ctx.target} already active? Point it back at {ctx.source} "
                                f"({', '.join(expected.values)}) or drill the other way")
            elif not ok:
                problems.append(f"DNS {rec.name} {rec.type} is "
                                f"{', '.join(now) if now else 'missing'}, not {ctx.source}'s "
                                f"{', '.join(expected.values)}: a failover would refuse to flip "
                                "it; fix the record or [[dns.records]]")
            elif not ttl_ok and current is not None:
                problems.append(f"DNS {rec.name} {rec.type} has TTL {current.ttl} s, not the "
                                f"{rec.ttl} s of [[dns.records]]: clients cache it "
                                f"{current.ttl} s after a flip; set the record's TTL or ttl in "
                                "drkit.toml so the RTO is what you planned")
        out: dict[str, Any] = {"configured": True, "provider": provider.describe(),
                               "records": records, "ttl_s": ttl, "problems": problems}
        if drill.dns_record:
            drilled = flip_and_restore(ctx, dns, provider, drill.dns_record, state, problems)
            out["drill_record"] = drilled
        return out | {"summary": f"{len(records)} record(s) read, {len(problems)} problem(s)"
                      + (f"; drill record {drill.dns_record} "
                         f"{state.outputs.get('drill_record', {}).get('result', 'not flipped')}"
                         if drill.dns_record else "")}


def drill_record_spec(dns: DnsSettings, name: str) -> RecordSpec:
    """``[drill] dns_record`` as a record drkit may flip: the type, TTL and per-cluster values
    of the first ``[[dns.records]]`` entry under the drill's own name. A name that is one of
    the production records is refused (exit 2): a drill never changes those."""
    production = {fqdn(r.name) for r in dns.records}
    if fqdn(name) in production:
        raise ConfigError(f"[drill] dns_record {name} is a production record of "
                          "[[dns.records]]; a drill never flips those: name a record of its "
                          "own, e.g. drill.kafka.example.com.")
    first = dns.records[0]
    return RecordSpec(name, first.type, first.ttl, first.values)


def flip_and_restore(ctx: RunContext, dns: DnsSettings, provider: Provider, name: str,
                     state: StepState, problems: list[str]) -> dict[str, Any]:
    """Flip the drill record from the source's value to the target's (compare-and-swap,
    journaled through :func:`drkit.dns.flip.flip_record`), verify it on the authoritative
    servers, then put it back — only where it still holds what the drill set. A drill killed
    in between is restored by its resume (this step re-entered) or by ``cleanup``."""
    spec = drill_record_spec(dns, name)
    rec: dict[str, Any] = state.outputs.setdefault("drill_record", {"name": spec.name,
                                                                     "type": spec.type})
    if "before" not in rec:
        current = provider.get(spec.name, spec.type)
        if not spec.for_cluster(ctx.source).same_values(current):
            rec["result"] = "not flipped"
            problems.append(f"drill record {spec.name} {spec.type} is "
                            f"{show_records(current)}, not {ctx.source}'s "
                            f"{', '.join(spec.for_cluster(ctx.source).values)}: not flipped; "
                            f"create or fix it so the drill can rehearse the flip")
            ctx.save()
            return rec
    started = time.monotonic()
    try:
        if not rec.get("restore"):
            flip_record(provider, dns, spec, ctx.source, ctx.target, rec, ctx.save)
            rec["flip_s"] = round(time.monotonic() - started, 3)
            ctx.save()
    except DrkitError as exc:
        problems.append(f"drill record {spec.name}: flip failed: {exc}")
    restore_drill_record(ctx, provider, spec, rec, problems)
    return rec


def restore_drill_record(ctx: RunContext, provider: Provider, spec: RecordSpec,
                         rec: dict[str, Any], problems: list[str]) -> None:
    """Put the drill record back (compare-and-swap: only if it still holds the value the drill
    set); a record someone changed since is left alone and named."""
    if "before" not in rec:
        return
    if rec.get("restore"):  # restored before a kill: say again what was left alone
        if rec["restore"]["action"] == "left alone":
            problems.append(f"drill record {spec.name}: {rec['restore']['why']}")
        return
    decision = rollback_record(provider, spec, rec, ctx.run.run_id)
    rec["restore"] = {"action": decision.action, "why": decision.why}
    rec["result"] = ("flipped to " + ", ".join(spec.for_cluster(ctx.target).values)
                     + f" and {decision.why}" if decision.action in ("restored", "already")
                     else decision.why)
    ctx.save()
    if decision.action == "left alone":
        problems.append(f"drill record {spec.name}: {decision.why}")


def _probe(ctx: RunContext) -> tuple[KafkaAdmin | None, str]:
    try:
        src = KafkaAdmin.connect(ctx.settings, ctx.source, PROBE_TIMEOUT_S)
        src.tcp_probe()
        src.describe()
        return src, ""
    except DrkitError as exc:
        return None, str(exc)


def _windows_read(ctx: RunContext, alias: str, windows: Mapping[TopicPartition, tuple[int, int]],
                  candidates: Mapping[TopicPartition, set[int]] | None = None
                  ) -> dict[TopicPartition, list[Rec]]:
    config = ctx.settings.cluster(alias).consumer_client_config()
    return read_windows(config, windows, alias, timeout_s=ctx.time_left(120.0),
                        candidates=candidates)


class VerifyContentStep:
    schema = StepSchema("verify-content", {},
                        "Match records on both clusters: nothing skipped, exact re-deliveries.")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        plan = the_plan(ctx)
        commit = ctx.outputs_of("shadow-commit")
        shadows: dict[str, str] = commit["shadows"]
        refused: dict[str, str] = commit.get("refused", {})
        positions = {g: offsets_from_json(rows) for g, rows in commit["positions"].items()}
        flow = ctx.flow
        lag_max = max(1, int(flow.offset_lag_max))
        tgt = cluster(ctx, ctx.target)
        src, src_error = _probe(ctx)
        checks: list[PartitionCheck] = []
        todo = []  # (group, plan partition, d)
        prefix = _settings(ctx).group_prefix
        for g in plan.groups:
            for p in g.partitions:
                d = positions.get(g.group, {}).get(p.topic_partition)
                shadow = shadows.get(g.group, prefix + g.group)
                if d is None or g.group in refused:
                    why = refused.get(g.group) or f"not planned for commit: {p.reason}"
                    checks.append(PartitionCheck(g.group, p.topic, p.partition, shadow, None,
                                                 None, "skipped", None, p.expected_duplicates,
                                                 why))
                else:
                    todo.append((g.group, p, d))
        if src is None:
            for group, p, d in todo:
                checks.append(PartitionCheck(group, p.topic, p.partition, shadows[group], d, None,
                                             "unverified", None, p.expected_duplicates,
                                             f"{ctx.source} unreachable: {src_error}"))
            return _checks_out(checks, f"{ctx.source} unreachable")
        policy = flow.policy()
        upstream = {policy.format_remote_topic(flow.source, t): t for t in src.topics()}
        primary_committed = src.committed({group for group, _p, _d in todo})
        std_ranges = tgt.log_ranges({p.topic_partition for _g, p, _d in todo})
        src_tps = {TopicPartition(upstream[p.topic], p.partition)
                   for _g, p, _d in todo if p.topic in upstream}
        src_ranges = src.log_ranges(src_tps)
        std_win: dict[TopicPartition, tuple[int, int]] = {}
        src_win: dict[TopicPartition, tuple[int, int]] = {}
        jobs = []
        for group, p, d in todo:
            tp = p.topic_partition
            stp = TopicPartition(upstream.get(p.topic, ""), p.partition)
            c = primary_committed.get(group, {}).get(stp)
            why = ("" if p.topic in upstream else f"{p.topic} has no source topic on "
                   f"{ctx.source}") or ("" if c is not None else
                                        f"the group has no commit on {ctx.source}") or (
                "" if tp in std_ranges and stp in src_ranges else "partition missing")
            if why:
                checks.append(PartitionCheck(group, p.topic, p.partition, shadows[group], d, c,
                                             "unverified", None, p.expected_duplicates, why))
                continue
            assert c is not None
            u = p.checkpoint_upstream if p.checkpoint_upstream is not None else c
            drift = max(0, c - u)
            # MM2 translates to the newest offset-sync at or before the group's position, and
            # keeps fewer syncs the further back they go, so d may lie more than offset.lag.max
            # behind: the plan's own bound (expected duplicates, capped) widens both windows.
            # When the plan's bound is about d itself (d is where the plan resumes), it bounds
            # D(u) − d, the records from d to the checkpoint's own position: the windows need
            # that much and a margin (a quarter more on the source, whose offsets may have
            # gaps: transaction markers, compaction). Otherwise offset.lag.max is added too.
            far = min(max(0, p.expected_duplicates or 0), MAX_EXTRA)
            resume = p.current if p.action == "keep" and p.current is not None else p.new_offset
            back = far if p.expected_duplicates is not None and d == resume else lag_max + far
            s_lo, s_hi = bounded(d - 1, d + back + drift + MARGIN, *std_ranges[tp])
            p_lo, p_hi = bounded(min(u, c) - back - back // 4 - MARGIN, c + lag_max + MARGIN,
                                 *src_ranges[stp])
            # Several groups share a partition: one window covering all of them, per cluster.
            std_win[tp] = _union(std_win.get(tp), (s_lo, s_hi))
            src_win[stp] = _union(src_win.get(stp), (p_lo, p_hi))
            jobs.append((group, p, d, c, tp, stp, (s_lo, s_hi), (p_lo, p_hi)))
        # The standby first: only the source records whose timestamp occurs in the standby's
        # window can match one there, and only those are hashed (the rest keep their offset).
        std_recs = _windows_read(ctx, ctx.target, std_win)
        stamps: dict[TopicPartition, set[int]] = {}
        for tp, stp in {(job[4], job[5]) for job in jobs}:
            stamps.setdefault(stp, set()).update(r[2] for r in std_recs[tp])
        src_recs = _windows_read(ctx, ctx.source, src_win, stamps)
        with paused_gc():  # millions of record tuples alive, none in a cycle
            for group, p, d, c, tp, stp, (s_lo, s_hi), (p_lo, p_hi) in jobs:
                s = _slice(std_recs[tp], s_lo, s_hi)
                pr = _slice(src_recs[stp], p_lo, p_hi)
                end = std_ranges[tp][1]
                m = match_partition(s, d, end, s_hi >= end, pr, c)
                checks.append(PartitionCheck(group, p.topic, p.partition, shadows[group], d, c,
                                             m.status, m.records_again, p.expected_duplicates,
                                             m.reason))
        return _checks_out(checks, "")


def _slice(recs: list[Rec], lo: int, hi: int) -> list[Rec]:
    """The records at offsets ``[lo, hi)`` of a window (ascending offsets), without a Python
    loop per record: several groups share one window per partition."""
    offs = [r[0] for r in recs]
    return recs[bisect.bisect_left(offs, lo):bisect.bisect_left(offs, hi)]


def _union(a: tuple[int, int] | None, b: tuple[int, int]) -> tuple[int, int]:
    return b if a is None else (min(a[0], b[0]), max(a[1], b[1]))


def _checks_out(checks: list[PartitionCheck], note: str) -> dict[str, Any]:
    checks.sort(key=lambda c: (c.group, c.topic, c.partition))
    counts: dict[str, int] = {}
    for c in checks:
        counts[c.status] = counts.get(c.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no partitions"
    return {"checks": [c.to_dict() for c in checks], "counts": counts,
            "summary": summary + (f" ({note})" if note else "")}


class MeasureStep:
    schema = StepSchema("measure", {},
                        "RPO: records and seconds not yet mirrored, per topic partition.")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        flow = ctx.flow
        policy = flow.policy()
        tgt = cluster(ctx, ctx.target)
        topic_re = ctx.args.get("topic_regex")
        plan = the_plan(ctx)
        std_topics = tgt.topics()
        remotes = rpo_topics({p.topic for g in plan.groups for p in g.partitions}, std_topics,
                             policy, flow.source,
                             every=topic_re is None and not ctx.args.get("group_regex"))
        std_tps = [TopicPartition(t, n) for t in remotes if t in std_topics
                   for n in range(std_topics[t])]
        src, src_error = _probe(ctx)
        rows: list[TopicRpo] = []
        if src is None:
            rows = [TopicRpo(policy.upstream_topic(tp.topic) or tp.topic, tp.topic, tp.partition,
                             None, None, f"{ctx.source} unreachable: {src_error}")
                    for tp in std_tps]
            return _rpo_out(rows, f"{ctx.source} unreachable")
        src_topics = src.topics()
        upstream = {policy.format_remote_topic(flow.source, t): t for t in src_topics}
        pairs = [(TopicPartition(upstream[tp.topic], tp.partition), tp) for tp in std_tps
                 if tp.topic in upstream]
        # The drill's instant: both ends read at once, then the records around them.
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            f_s = pool.submit(src.log_ranges, [s for s, _t in pairs])
            f_t = pool.submit(tgt.log_ranges, [t for _s, t in pairs])
            src_ranges, std_ranges = f_s.result(), f_t.result()
        tail = max(1, int(flow.offset_lag_max)) * 10 + MARGIN
        src_win = {s: bounded(src_ranges[s][1] - tail, src_ranges[s][1], *src_ranges[s])
                   for s, _t in pairs if s in src_ranges}
        std_win = {t: bounded(std_ranges[t][1] - 1, std_ranges[t][1], *std_ranges[t])
                   for _s, t in pairs if t in std_ranges}
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            f_src = pool.submit(_windows_read, ctx, ctx.source, src_win)
            f_std = pool.submit(_windows_read, ctx, ctx.target, std_win)
            src_recs, std_recs = f_src.result(), f_std.result()
        for s, t in pairs:
            rows.append(_rpo_row(s, t, src_recs.get(s, []), std_recs.get(t, []), tail))
        return _rpo_out(rows, "")


def rpo_topics(planned: Iterable[str], std_topics: Iterable[str], policy: ReplicationPolicy,
               source: str, *, every: bool) -> list[str]:
    """The mirrored topics whose RPO a drill measures: the plan's, and (``every``: no --group
    nor --topic) every topic mirrored from ``source``; never MM2's own topics (heartbeats are
    mirrored like data, but are no one's data to lose; checkpoints, offset-syncs)."""
    topics = set(planned)
    if every:
        topics |= {t for t in std_topics if policy.topic_source(t) == source}
    return sorted(t for t in topics
                  if not policy.is_internal_topic(t) and not policy.is_heartbeats_topic(t))


def _rpo_row(s: TopicPartition, t: TopicPartition, src: list[Rec], std: list[Rec],
             tail: int) -> TopicRpo:
    if not src:
        return TopicRpo(s.topic, t.topic, s.partition, 0, 0.0, "nothing to mirror")
    newest = src[-1]
    if not std:
        return TopicRpo(s.topic, t.topic, s.partition, len(src), None,
                        "nothing mirrored yet" + (f" (≥ {len(src)} records)"
                                                  if len(src) >= tail else ""))
    last = std[-1]
    idx = next((i for i in range(len(src) - 1, -1, -1) if src[i].digest == last.digest), None)
    if idx is None:
        secs = max(0.0, (newest.timestamp_ms - last.timestamp_ms) / 1000)
        return TopicRpo(s.topic, t.topic, s.partition, None, round(secs, 3),
                        f"more than {len(src)} records behind (by timestamp)")
    behind = len(src) - 1 - idx
    secs = 0.0 if behind == 0 else max(0.0, (newest.timestamp_ms - last.timestamp_ms) / 1000)
    return TopicRpo(s.topic, t.topic, s.partition, behind, round(secs, 3))


def _rpo_out(rows: list[TopicRpo], note: str) -> dict[str, Any]:
    rows.sort(key=lambda r: (r.topic, r.partition))
    known = [r.seconds_behind for r in rows if r.seconds_behind is not None]
    worst = f"max {max(known):.1f} s behind" if known else "no RPO measured"
    return {"rpo": [r.to_dict() for r in rows], "measured_at": now_iso(),
            "summary": f"{len(rows)} mirrored partition(s), {worst}"
                       + (f" ({note})" if note else "")}


class CleanupStep:
    schema = StepSchema("cleanup", {}, "Delete the drill's shadow groups (kept with --keep).")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        shadows = _shadows_of(ctx)
        dns_note = _restore_left_flipped(ctx)
        if ctx.args.get("keep"):
            return {"kept": sorted(shadows), "deleted": [],
                    "summary": f"kept {len(shadows)} shadow group(s) (--keep)"
                               + (f"; {dns_note}" if dns_note else "")}
        prefix = _settings(ctx).group_prefix
        mine = sorted(s for s in shadows if s.startswith(prefix))
        out = state.outputs
        deleted: list[str] = out.setdefault("deleted", [])
        left: dict[str, str] = {}
        if mine:
            tgt = cluster(ctx, ctx.target)
            futs = tgt.admin.delete_consumer_groups(mine, request_timeout=tgt.timeout_s)
            for group, fut in futs.items():
                try:
                    fut.result(timeout=tgt.timeout_s + 5)
                    deleted.append(group)
                except KafkaException as exc:
                    msg = str(exc.args[0].str() if exc.args else exc)
                    if "GROUP_ID_NOT_FOUND" in msg:
                        deleted.append(group)
                    else:
                        left[group] = msg
                except concurrent.futures.TimeoutError:
                    left[group] = "timed out deleting the group"
        out["deleted"] = sorted(set(deleted))
        out["left"] = left
        ctx.save()
        if left:
            first = next(iter(left.items()))
            raise StepFailed(f"{len(left)} shadow group(s) could not be deleted on {ctx.target} "
                             f"({first[0]}: {first[1]}); resume the drill to try again")
        return {"kept": [], "summary": f"{len(out['deleted'])} shadow group(s) deleted"
                                       + (f"; {dns_note}" if dns_note else "")}


def _restore_left_flipped(ctx: RunContext) -> str:
    """The [drill] dns_record put back if dns-check flipped it and failed before restoring
    (compare-and-swap, like the step itself); raises StepFailed if the provider cannot."""
    rec = _outputs(ctx, "dns-check")[0].get("drill_record")  # failed or not
    dns = dns_settings(ctx.settings)
    if not rec or "before" not in rec or rec.get("restore") or dns is None:
        return ""
    problems: list[str] = []
    try:
        spec = drill_record_spec(dns, rec["name"])
        restore_drill_record(ctx, provider_for(dns), spec, rec, problems)
    except DrkitError as exc:
        raise StepFailed(f"drill record {rec['name']} could not be restored: {exc}; resume "
                         "the drill to try again") from None
    if problems:
        raise StepFailed(problems[0])
    return f"drill record {rec['name']} {rec['restore']['why']}"


def _shadows_of(ctx: RunContext) -> list[str]:
    for spec in ctx.runbook.steps:
        st = ctx.run.step(spec.id)
        if spec.uses == "shadow-commit" and "shadows" in st.outputs:
            return sorted(st.outputs["shadows"].values())
    return []


class DrillReportStep:
    schema = StepSchema("drill-report", {}, "Judge the drill, save its report (state_dir/drills).")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        _only_in_drills(ctx)
        report = build_report(ctx, now_iso())
        path = save_report(ctx.settings.state_dir, report)
        return {"report": report.to_dict(), "path": str(path),
                "summary": ("PASSED" if report.passed else "FAILED")
                + (f": {report.failures[0]}" if report.failures else "")}


def _outputs(ctx: RunContext, uses: str) -> tuple[dict[str, Any], str | None, str]:
    """(outputs, error, status) of the runbook's step of type ``uses`` (absent: {}, None, '')."""
    for spec in ctx.runbook.steps:
        if spec.uses == uses:
            st = ctx.run.step(spec.id)
            return st.outputs, st.error, st.status
    return {}, None, ""


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    a = datetime.fromisoformat(start.replace("Z", "+00:00"))
    b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return max(0.0, (b - a).total_seconds())


def build_report(ctx: RunContext, finished_at: str) -> DrillReport:
    drill = _settings(ctx)
    thresholds = DrillThresholds(drill.max_rpo_seconds, drill.max_rto_seconds,
                                 drill.max_duplicates_per_partition, drill.max_age_days)
    failures: list[str] = []
    unsafe = False
    for sp in ctx.runbook.steps:
        st = ctx.run.step(sp.id)
        if sp.uses != "drill-report" and st.status == "failed":
            failures.append(f"step {sp.id} failed: {st.error}")
    verify, _e, _s = _outputs(ctx, "verify-content")
    checks = tuple(PartitionCheck.from_dict(c) for c in verify.get("checks", []))
    commit, _e, _s = _outputs(ctx, "shadow-commit")
    for group, why in sorted(commit.get("refused", {}).items()):
        failures.append(f"group {group}: {why}")
        unsafe = True
    for c in checks:
        if c.status == "loss":
            failures.append(f"LOSS {c.topic}-{c.partition} group {c.group}: {c.reason}")
    unverified = [c for c in checks if c.status == "unverified"]
    notes: list[str] = []
    if unverified:
        line = (f"{len(unverified)} partition(s) unverified (first: {unverified[0].topic}-"
                f"{unverified[0].partition} group {unverified[0].group}: "
                f"{unverified[0].reason})")
        if ctx.args.get("allow_unverified"):
            notes.append(line + "; accepted with --allow-unverified")
        else:
            failures.append(line + "; pass --allow-unverified to accept")
    if verify and not any(c.status != "skipped" for c in checks):
        failures.append("nothing to rehearse: no group of the plan has a position to commit "
                        "(check --group/--topic and that MM2 wrote checkpoints)")
    if thresholds.max_duplicates_per_partition is not None:
        for c in checks:
            if c.records_again is not None and (
                    c.records_again > thresholds.max_duplicates_per_partition):
                failures.append(f"{c.topic}-{c.partition} group {c.group}: {c.records_again} "
                                f"records again > max_duplicates_per_partition "
                                f"{thresholds.max_duplicates_per_partition}")
    measure, _e, _s = _outputs(ctx, "measure")
    rpo = tuple(TopicRpo.from_dict(r) for r in measure.get("rpo", []))
    rpo_known = [r.seconds_behind for r in rpo if r.seconds_behind is not None]
    if thresholds.max_rpo_seconds is not None and rpo_known and (
            max(rpo_known) > thresholds.max_rpo_seconds):
        worst = max((r for r in rpo if r.seconds_behind is not None),
                    key=lambda r: r.seconds_behind or 0.0)
        failures.append(f"RPO {worst.seconds_behind:.1f} s on {worst.topic}-{worst.partition} "
                        f"> max_rpo_seconds {thresholds.max_rpo_seconds:g}")
    dns, _e, _s = _outputs(ctx, "dns-check")
    failures += [f"DNS: {p}" for p in dns.get("problems", [])]
    rto = _rto(ctx, drill, float(dns.get("ttl_s") or 0))
    if thresholds.max_rto_seconds is not None and rto.total_s > thresholds.max_rto_seconds:
        failures.append(f"RTO {rto.total_s:.1f} s > max_rto_seconds "
                        f"{thresholds.max_rto_seconds:g}")
    cleanup, _e, _s = _outputs(ctx, "cleanup")
    kept = bool(cleanup.get("kept"))
    if kept:
        notes.append(f"shadow groups kept (--keep): {', '.join(cleanup['kept'][:5])}"
                     + (" …" if len(cleanup["kept"]) > 5 else ""))
    code = 0 if not failures else (3 if unsafe and len(failures) == len(commit.get("refused", {}))
                                   else 1)
    return DrillReport(
        run_id=ctx.run.run_id, source=ctx.source, target=ctx.target,
        started_at=ctx.run.created_at, finished_at=finished_at, passed=not failures,
        exit_code=code, failures=tuple(failures), partitions=checks, rpo=rpo, rto=rto,
        thresholds=thresholds,
        dns={k: v for k, v in dns.items() if k in ("configured", "provider", "records",
                                                   "ttl_s", "problems", "drill_record")},
        shadow_prefix=drill.group_prefix, kept=kept, notes=tuple(notes))


def _rto(ctx: RunContext, drill: DrillSettings, ttl_s: float) -> Rto:
    steps: list[StepTiming] = []
    for sp in ctx.runbook.steps:
        role = REHEARSES.get(sp.uses)
        st = ctx.run.step(sp.id)
        secs = _seconds(st.started_at, st.ended_at)
        if role is not None and secs is not None and st.status == "succeeded":
            steps.append(StepTiming(role, round(secs, 3), True))
    estimates = [StepTiming(name, secs, False) for name, secs in
                 sorted(drill.rto_estimates_s.items())]
    measured = sum(s.seconds for s in steps)
    est = sum(s.seconds for s in estimates)
    return Rto(tuple(steps + estimates), ttl_s, est, round(measured + est + ttl_s, 3))


DRILL_STEPS = (ShadowCommitStep(), DnsCheckStep(), VerifyContentStep(), MeasureStep(),
               CleanupStep(), DrillReportStep())
