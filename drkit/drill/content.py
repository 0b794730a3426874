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
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["verified", "unverified", "loss"]
# (offset, digest) or a window's Rec (offset, digest, timestamp), ascending offsets
Window = Sequence[tuple[int, bytes] | tuple[int, bytes, int]]


_B2 = hashlib.blake2b


def digest(key: bytes | None, value: bytes | None, timestamp_ms: int,
           headers: Iterable[tuple[str, bytes | str | None]] | None) -> bytes:
    """A record's identity across clusters: key, value, timestamp and headers, length-framed
    (``len(key):len(value):timestamp:`` then the bytes, −1 for None, then each header as
    ``len(name):len(value):`` name value, so no two different records share an encoding), hashed
    in one BLAKE2b call and cut to 16 bytes. A drill digests every record of its windows, so the
    common case (no headers) is one format, one concatenation and one hash:
    tests/bench/bench_drill.py."""
    head = b"%d:%d:%d:" % (-1 if key is None else len(key), -1 if value is None else len(value),
                           timestamp_ms)
    if not headers:
        return _B2(head + (key or b"") + (value or b"")).digest()[:16]
    parts = [head, key or b"", value or b""]
    for name, val in headers:
        raw = name.encode("utf-8", "surrogatepass")
        if isinstance(val, str):
            val = val.encode("utf-8", "surrogatepass")
        parts.append(b"%d:%d:%b%b" % (len(raw), -1 if val is None else len(val), raw, val or b""))
    return _B2(b"".join(parts)).digest()[:16]


@dataclass(frozen=True)
class Match:
    status: Status
    records_again: int | None
    reason: str
    skipped: int | None = None  # with loss: records of the group's the standby would skip


def _align(sd: list[bytes], pd: list[bytes], std_offs: list[int], pri_offs: list[int]
           ) -> tuple[int | None, str]:
    """``primary index − standby index`` for the common run of records, or None and why."""
    last = {dig: i for i, dig in enumerate(pd)}
    first = {dig: i for i, dig in zip(range(len(pd) - 1, -1, -1), reversed(pd), strict=True)}
    shift: int | None = None
    for j, dig in enumerate(sd):
        i = last.get(dig)
        if i is not None and first[dig] == i:  # unique in the primary window
            shift = i - j
            break
    if shift is None:
        return None, ("no mirrored record near the translated position matches a record near "
                      "the group's position on the source (compacted, expired, or too far apart)")
    j0, j1 = max(0, -shift), min(len(sd), len(pd) - shift)  # the overlapping standby indexes
    if sd[j0:j1] != pd[j0 + shift:j1 + shift]:
        j = next(j for j in range(j0, j1) if sd[j] != pd[j + shift])
        return None, (f"mirrored record at standby offset {std_offs[j]} differs from source "
                      f"offset {pri_offs[j + shift]} where the order says it should match")
    return shift, ""


def match_partition(standby: Window, d: int, standby_end: int, standby_complete: bool,
                    primary: Window, c: int) -> Match:
    """Judge the translated position ``d`` against the group's committed position ``c``.

    ``standby`` holds the mirrored records from just before ``d`` (``d − 1`` when it exists)
    onwards; ``standby_complete`` says it reaches the standby's end ``standby_end``. ``primary``
    holds the source records around ``c`` (from before the standby window's first record to
    some way past ``c``). Records are ``(offset, digest, …)`` tuples; the work per record is
    in C (dict and list comparisons, bisection), not in Python loops.
    """
    if not standby:
        if d >= standby_end and not primary:
            return Match("verified", 0, "nothing mirrored and nothing on the source to process")
        return Match("unverified", None, "no mirrored records to compare around the position")
    std_offs = [r[0] for r in standby]
    pri_offs = [r[0] for r in primary]
    shift, why = _align([r[1] for r in standby], [r[1] for r in primary], std_offs, pri_offs)
    if shift is None:
        return Match("unverified", None, why)
    n_std, n_pri = len(standby), len(primary)
    first_after = bisect_left(std_offs, d)  # standby index of the first record at offset ≥ d
    if first_after < n_std:
        i0 = first_after + shift
        if not 0 <= i0 < n_pri:
            if i0 >= n_pri:  # past the window, which reaches beyond c
                return Match("loss", None, f"the record at standby offset {d} comes after the "
                             f"group's position {c} on the source, beyond the read window",
                             None)
            return Match("unverified", None, f"the record at standby offset {d} is older than "
                         "the source window (the group is far past its checkpoint)")
        first_src = pri_offs[i0]
        if first_src > c:
            skipped = bisect_left(pri_offs, first_src) - bisect_left(pri_offs, c)
            if skipped:
                return Match("loss", None, f"resuming at standby offset {d} (source offset "
                             f"{first_src}) skips {skipped} record(s) from source offset {c} "
                             "that the group has not processed", skipped)
        # standby records from d on map to source offsets pri_offs[i0:]; those below c are
        # seen again. The count stops at c, at the source window's end (which lies beyond c)
        # or at the standby window's end (then c must not have been reached).
        i_c = max(i0, bisect_left(pri_offs, c, i0))
        stop = n_std + shift
        again = min(i_c, stop) - i0
        reached = i_c < stop
    else:
        last_i = n_std - 1 + shift
        if not 0 <= last_i < n_pri:
            return Match("unverified", None, f"the last mirrored record before standby offset "
                         f"{d} is outside the source window")
        last_src = pri_offs[last_i]
        if last_src >= c:
            skipped = bisect_left(pri_offs, last_src + 1) - bisect_left(pri_offs, c)
            return Match("loss", None, f"standby offset {d} is past the mirrored record of "
                         f"source offset {last_src}, which the group (at {c}) has not "
                         f"processed: {skipped} record(s) skipped", skipped)
        again, reached = 0, False
    if not reached and not standby_complete:
        return Match("unverified", None, f"the group's position {c} was not reached within "
                     f"the standby window ({again} records read from offset {d})")
    return Match("verified", again, f"{again} record(s) seen again, none skipped")
