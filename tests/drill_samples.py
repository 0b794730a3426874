"""Hand-built drill reports for the renderer, history and alert tests (and the docs)."""

from __future__ import annotations

from drkit.drill.report import (
    DrillReport,
    DrillThresholds,
    PartitionCheck,
    Rto,
    StepTiming,
    TopicRpo,
)


def sample_report(*, run_id: str = "20261126T030000Z-drill-primary-backup-3f9a1c",
                  passed: bool = True, finished_at: str = "2026-11-26T03:00:42.120Z",
                  source: str = "primary", target: str = "backup",
                  groups: tuple[str, ...] = ("billing", "shipping"),
                  loss: bool = False, unverified: bool = False) -> DrillReport:
    parts: list[PartitionCheck] = []
    for g in groups:
        for p in range(3):
            status = "verified"
            reason = "translated position found on both clusters by content"
            again: int | None = 12 * p
            if loss and g == groups[-1] and p == 1:
                status, again = "loss", None
                reason = "3 record(s) after the group's position are missing on the standby"
            elif unverified and p == 2:
                status, again = "unverified", None
                reason = "primary unreachable: content not compared"
            parts.append(PartitionCheck(
                group=g, topic=f"{source}.orders", partition=p, shadow_group=f"drkit-drill.{g}",
                translated=1000 + p, primary_committed=1010 + p, status=status,  # type: ignore[arg-type]
                records_again=again, predicted_bound=40, reason=reason))
    failures: list[str] = []
    if loss:
        failures.append(f"loss: {groups[-1]} {source}.orders[1] would skip 3 record(s)")
    if unverified:
        failures.append(f"{len(groups)} partition(s) unverified (primary unreachable)")
    if not passed and not failures:
        failures.append("RPO 75.0 s exceeds max_rpo_seconds 60 s")
    return DrillReport(
        run_id=run_id, source=source, target=target,
        started_at="2026-11-26T03:00:00.004Z", finished_at=finished_at,
        passed=passed, exit_code=0 if passed else 1, failures=tuple(failures),
        partitions=tuple(parts),
        rpo=(TopicRpo("orders", f"{source}.orders", 0, 0, 0.0),
             TopicRpo("orders", f"{source}.orders", 1, 17, 1.5),
             TopicRpo("payments", f"{source}.payments", 0, None, None,
                      "primary unreachable")),
        rto=Rto(steps=(StepTiming("preflight", 0.41, True), StepTiming("translate", 1.2, True),
                       StepTiming("commit", 0.35, True), StepTiming("approve", 120.0, False)),
                dns_ttl_s=60.0, estimates_s=120.0, total_s=181.96),
        thresholds=DrillThresholds(max_rpo_seconds=60.0, max_rto_seconds=600.0,
                                   max_duplicates_per_partition=1000, max_age_days=8.0),
        dns={"record": "kafka.example.test.", "type": "CNAME",
             "value": "kafka-primary.example.test.", "ttl": 60, "reachable": True},
        shadow_prefix="drkit-drill.", kept=False,
        notes=("shadow groups deleted",),
    )
