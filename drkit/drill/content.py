"""Content matching for a drill (pure): is the translated position safe, and how many again?

A drill reads two small windows per partition: the mirrored records around the translated
position ``d`` on the standby, and the source records around the group's committed position
``c`` on the primary. Records are compared by a digest of key, value, timestamp and headers
(what MirrorMaker 2 copies unchanged), never by offset: offsets differ between the clusters.

MM2 keeps each partition's order, so the standby window is a run of the primary's records. One
alignment (standby index → primary index) is found from records whose digest is unique in the
primary window and then checked for every overlapping record; anything that does not line up is
``unverified`` with the reason, never guessed.

With the alignment each standby record has a source offset ``src``. A consumer that resumes at
``d`` on the standby reads the records at offsets ≥ ``d``; the group has processed exactly the
source records at offsets < ``c``. So:

* **loss**: the first record the consumer would read has ``src > c`` while the primary holds
  records in ``[c, src)``: records the group has not processed would be skipped (or, with
  ``d`` at the standby's end, the last mirrored record before ``d`` has ``src ≥ c``);
* otherwise **verified**, and ``records_again`` is the number of standby records at offsets
  ≥ ``d`` with ``src < c``: records the group would see a second time.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["verified", "unverified", "loss"]
Window = Sequence[tuple[int, bytes]]  # (offset, digest), ascending offsets


_LENS = struct.Struct(">qq").pack  # two lengths, -1 for None
_TS = struct.Struct(">q").pack


def digest(key: bytes | None, value: bytes | None, timestamp_ms: int,
           headers: Iterable[tuple[str, bytes | None]] | None) -> bytes:
    """A record's identity across clusters: key, value, timestamp and headers, length-framed
    (so no two different records share an encoding), hashed in one call (a drill digests
    every record of its windows: tests/bench/bench_drill.py)."""
    parts = [_LENS(-1 if key is None else len(key), -1 if value is None else len(value)),
             key or b"", value or b"", _TS(int(timestamp_ms))]
    for name, val in headers or ():
        raw = name.encode("utf-8", "surrogatepass")
        parts += (_LENS(len(raw), -1 if val is None else len(val)), raw, val or b"")
    return hashlib.blake2b(b"".join(parts), digest_size=16).digest()


@dataclass(frozen=True)
class Match:
    status: Status
    records_again: int | None
    reason: str
    skipped: int | None = None  # with loss: records of the group's the standby would skip


def _align(standby: Window, primary: Window) -> tuple[int | None, str]:
    """``primary index − standby index`` for the common run of records, or None and why."""
    where: dict[bytes, list[int]] = {}
    for i, (_off, dig) in enumerate(primary):
        where.setdefault(dig, []).append(i)
    shift: int | None = None
    for j, (_off, dig) in enumerate(standby):
        hits = where.get(dig, [])
        if len(hits) == 1:
            shift = hits[0] - j
            break
    if shift is None:
        return None, ("no mirrored record near the translated position matches a record near "
                      "the group's position on the source (compacted, expired, or too far apart)")
    for j, (off, dig) in enumerate(standby):
        i = j + shift
        if 0 <= i < len(primary) and primary[i][1] != dig:
            return None, (f"mirrored record at standby offset {off} differs from source offset "
                          f"{primary[i][0]} where the order says it should match")
    return shift, ""


def match_partition(standby: Window, d: int, standby_end: int, standby_complete: bool,
                    primary: Window, c: int) -> Match:
    """Judge the translated position ``d`` against the group's committed position ``c``.

    ``standby`` holds the mirrored records from just before ``d`` (``d − 1`` when it exists)
    onwards; ``standby_complete`` says it reaches the standby's end ``standby_end``. ``primary``
    holds the source records around ``c`` (from before the standby window's first record to
    some way past ``c``).
    """
    before = [r for r in standby if r[0] < d]
    after = [r for r in standby if r[0] >= d]
    if not standby:
        if d >= standby_end and not primary:
            return Match("verified", 0, "nothing mirrored and nothing on the source to process")
        return Match("unverified", None, "no mirrored records to compare around the position")
    shift, why = _align(standby, primary)
    if shift is None:
        return Match("unverified", None, why)

    def src(j: int) -> int | None:
        i = j + shift
        return primary[i][0] if 0 <= i < len(primary) else None

    first_after = len(before)  # standby index of the first record at offset ≥ d
    if after:
        first_src = src(first_after)
        if first_src is None:
            if first_after + shift >= len(primary):  # past the window, which reaches beyond c
                return Match("loss", None, f"the record at standby offset {d} comes after the "
                             f"group's position {c} on the source, beyond the read window",
                             None)
            return Match("unverified", None, f"the record at standby offset {d} is older than "
                         "the source window (the group is far past its checkpoint)")
        if first_src > c:
            skipped = sum(1 for off, _ in primary if c <= off < first_src)
            if skipped:
                return Match("loss", None, f"resuming at standby offset {d} (source offset "
                             f"{first_src}) skips {skipped} record(s) from source offset {c} "
                             "that the group has not processed", skipped)
    else:
        last_src = src(len(before) - 1)
        if last_src is None:
            return Match("unverified", None, f"the last mirrored record before standby offset "
                         f"{d} is outside the source window")
        if last_src >= c:
            skipped = sum(1 for off, _ in primary if c <= off <= last_src)
            return Match("loss", None, f"standby offset {d} is past the mirrored record of "
                         f"source offset {last_src}, which the group (at {c}) has not "
                         f"processed: {skipped} record(s) skipped", skipped)
    again = 0
    reached = False
    for j in range(first_after, len(standby)):
        s = src(j)
        if s is None:
            if j + shift < 0:
                return Match("unverified", None, "mirrored records after the translated "
                             "position are older than the source window")
            reached = True  # past the window's end, which lies beyond c
            break
        if s >= c:
            reached = True
            break
        again += 1
    if not reached and not standby_complete:
        return Match("unverified", None, f"the group's position {c} was not reached within "
                     f"the standby window ({again} records read from offset {d})")
    return Match("verified", again, f"{again} record(s) seen again, none skipped")
