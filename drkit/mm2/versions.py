"""What a checkpoint means depends on the MM2 version that wrote it (mm2-reference §3b, §7.15).

Pure: a version string in, the behaviour range and what an operator should know about it out.
drkit records the assumed range in every plan so a report says which semantics it relied on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drkit.errors import ConfigError

ASSUMED_WHEN_UNSET = "3.7.1"


@dataclass(frozen=True)
class MM2Behaviour:
    version: str
    assumed: bool
    range_label: str
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"version": self.version, "assumed": self.assumed, "range": self.range_label,
                "notes": list(self.notes)}


def parse_version(text: str) -> tuple[int, int, int]:
    m = re.fullmatch(r"\s*(\d+)\.(\d+)(?:\.(\d+))?(?:[-.][0-9A-Za-z.-]+)?\s*", text)
    if m is None:
        raise ConfigError(f"MM2 version {text!r} is not like 3.7.1 or 4.2; "
                          "set [mm2] version in drkit.toml to the Kafka version MM2 runs")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def behaviour(version: str | None) -> MM2Behaviour:
    """The checkpoint semantics of an MM2 version (None: assume a current one, and say so)."""
    assumed = version is None
    text = ASSUMED_WHEN_UNSET if version is None else version
    v = parse_version(text)
    notes: tuple[str, ...]
    if v < (3, 3, 0):
        label, notes = "≤3.2", (
            "partitions without an offset-sync got the source offset copied verbatim "
            "(KAFKA-12635): checkpoints past the standby's log end are clamped and flagged",
            "topics that came from the standby itself may carry source offsets; check them",
        )
    elif v < (3, 4, 1):
        label, notes = "3.3–3.4.0", (
            "translation extrapolated from the latest offset-sync only (s.d + (g − s.u)) and can "
            "overshoot with gaps or transactions, skipping records; clamped commits are unsafe",
        )
    elif v < (3, 7, 1):
        label, notes = "3.4.1–3.7.0", (
            "after an MM2 restart only the latest offset-sync is kept: groups behind it get no "
            "checkpoint until they pass it (KAFKA-16622), so some may show as untranslated",
        )
    else:
        label, notes = "≥3.7.1", ()
    if assumed:
        notes = (f"MM2 version not set: assuming {label} semantics; set [mm2] version in "
                 "drkit.toml", *notes)
    return MM2Behaviour(text, assumed, label, notes)
