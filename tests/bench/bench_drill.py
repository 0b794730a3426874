"""Drill benchmark (issue 10, docs/benchmarks.md): content verification and report building
over 1,000 groups × 12 partitions with the real matching code (drkit.drill.content) on
generated windows — pure, no cluster. Target: ≤ 10 s on the 2-core CI machine; the rows give
the share spent in verification.

Each partition gets the windows the verify-content step reads with MM2's defaults and a
predicted re-delivery (the plan's bound) of 0-150 records: on the standby from just before the
translated position to the bound + 50 records margin, on the source from the bound (+ a quarter,
+ 50) before the group's commit to offset.lag.max 100 + 50 past it.
"""

from __future__ import annotations

import json
import random
import time

from drkit.drill import render
from drkit.drill.content import digest, match_partition
from drkit.drill.report import DrillReport, DrillThresholds, PartitionCheck, Rto, StepTiming
from drkit.drill.windows import NO_MATCH, Rec, new_rec, paused_gc

GROUPS, PARTITIONS = 1000, 12
LAG_MAX, MARGIN = 100, 50


Raw = tuple[int, bytes, bytes, int, list[tuple[str, bytes]]]  # offset, key, value, ts, headers


def windows(rng: random.Random, seq: int) -> tuple[list[Raw], int, list[Raw], int, int]:
    """(standby records, d, source records, c, expected again) for one partition, undigested:
    digesting is part of verification (read_windows digests every record it reads)."""
    shift = rng.randrange(0, 5000)  # source offset = standby offset + shift
    c = 10_000 + rng.randrange(0, 1000)
    again = rng.randrange(0, 150)
    d = c - again - shift
    # The windows verify-content reads (drkit/runbook/steps/drill.py) when the plan's bound is
    # about d: the source from the bound (plus a quarter, plus the margin) before the group's
    # position to offset.lag.max + margin past it; the standby from d − 1 to bound + margin.
    src = [(o, b"k%d" % (o % 7), b"v%d-%d" % (seq, o), 1_700_000_000_000 + o, [("n", b"%d" % o)])
           for o in range(c - again - again // 4 - MARGIN, c + LAG_MAX + MARGIN)]
    first = src[0][0]
    std = [(o - shift, *src[o - first][1:]) for o in range(d - 1 + shift,
                                                           d + again + MARGIN + shift)
           if 0 <= o - first < len(src)]
    return std, d, src, c, again  # type: ignore[return-value]


def _digested(records: list[Raw], candidates: set[int] | None = None) -> list[Rec]:
    """What read_windows keeps of each record it reads: one Rec tuple with the digest, or
    NO_MATCH for a source record whose timestamp is not in the standby window."""
    return [new_rec((o, digest(k, v, ts, h) if candidates is None or ts in candidates
                     else NO_MATCH, ts)) for o, k, v, ts, h in records]


def run() -> list[dict[str, object]]:
    rng = random.Random(10)
    t0 = time.perf_counter()
    work = [(f"group-{g:04d}", p, windows(rng, g * 100 + p))
            for g in range(GROUPS) for p in range(PARTITIONS)]
    gen_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    checks = []
    with paused_gc():  # as read_windows digests and verify-content matches
        for group, p, (std, d, src, c, again) in work:
            s = _digested(std)  # the standby window first, then the source's candidates
            m = match_partition(s, d, d + 100_000, False,
                                _digested(src, {r[2] for r in s}), c)
            assert m.status == "verified" and m.records_again == again, (group, p, m)
            checks.append(PartitionCheck(group, "primary.orders", p, f"drkit-drill.{group}", d,
                                         c, m.status, m.records_again, again, m.reason))
    verify_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    report = DrillReport(
        run_id="bench-drill", source="primary", target="backup",
        started_at="2026-12-03T03:00:00Z", finished_at="2026-12-03T03:00:09Z", passed=True,
        exit_code=0, failures=(), partitions=tuple(checks), rpo=(),
        rto=Rto((StepTiming("verify", 1.0, True),), 60.0, 300.0, 361.0),
        thresholds=DrillThresholds(None, None, None, None), dns={},
        shadow_prefix="drkit-drill.", kept=False, notes=())
    again_report = DrillReport.from_dict(json.loads(json.dumps(render.to_json(report))))
    texts = [render.table(again_report), render.markdown(again_report),
             render.junit([again_report]), render.to_prometheus([again_report])]
    report_s = time.perf_counter() - t2
    total = verify_s + report_s
    hashed = 0
    for _g, _p, (std, _d, src, _c, _a) in work:
        stamps = {r[3] for r in std}
        hashed += len(std) + sum(1 for r in src if r[3] in stamps)
    n = GROUPS * PARTITIONS
    return [
        {"metric": "partitions", "value": n, "unit": "", "note": f"{GROUPS} groups × {PARTITIONS}"},
        {"metric": "window generation (not counted)", "value": round(gen_s, 2), "unit": "s"},
        {"metric": "content verification (digest + match)", "value": round(verify_s, 2),
         "unit": "s", "note": f"{sum(len(w[2][0]) + len(w[2][2]) for w in work):,} records, "
                              f"{hashed:,} hashed"},
        {"metric": "report build + JSON round trip + 4 renderers", "value": round(report_s, 2),
         "unit": "s", "note": f"{sum(map(len, texts)):,} chars"},
        {"metric": "total (verification + report)", "value": round(total, 2), "unit": "s",
         "target": "≤ 10 s"},
        {"metric": "share in verification", "value": round(100 * verify_s / total, 1),
         "unit": "%"},
    ]
