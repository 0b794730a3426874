"""Pure content matching of a drill (drkit.drill.content): windows as (offset, digest) lists."""

from __future__ import annotations

from drkit.drill.content import digest, match_partition


def d(n: int) -> bytes:
    return digest(b"k", f"v{n}".encode(), 1_000 + n, [("h", b"x")])


def primary(lo: int, hi: int) -> list[tuple[int, bytes]]:
    """Source records lo..hi-1: record n at source offset n."""
    return [(n, d(n)) for n in range(lo, hi)]


def mirrored(src_lo: int, src_hi: int, shift: int) -> list[tuple[int, bytes]]:
    """The same records on the standby at offset n + shift."""
    return [(n + shift, d(n)) for n in range(src_lo, src_hi)]


def test_digest_covers_key_value_timestamp_headers() -> None:
    base = digest(b"k", b"v", 1, [("h", b"1")])
    assert base == digest(b"k", b"v", 1, [("h", b"1")])
    assert len({base, digest(b"K", b"v", 1, [("h", b"1")]), digest(b"k", b"V", 1, [("h", b"1")]),
                digest(b"k", b"v", 2, [("h", b"1")]), digest(b"k", b"v", 1, [("h", b"2")]),
                digest(b"k", b"v", 1, None), digest(None, b"v", 1, None),
                digest(b"", b"v", 1, None), digest(b"kv", b"", 1, None)}) == 9


def test_translated_behind_the_group_counts_exact_records_again() -> None:
    # group processed source 0..149 (c=150); standby offset = source + 1000; d = 1120 (src 120)
    m = match_partition(mirrored(119, 200, 1000), 1120, 1200, True, primary(0, 300), 150)
    assert (m.status, m.records_again) == ("verified", 30)


def test_translated_exactly_at_the_group_is_zero_again() -> None:
    m = match_partition(mirrored(149, 200, 1000), 1150, 1200, True, primary(0, 300), 150)
    assert (m.status, m.records_again) == ("verified", 0)


def test_translated_ahead_of_the_group_is_loss_naming_the_skip() -> None:
    m = match_partition(mirrored(159, 200, 1000), 1160, 1200, True, primary(0, 300), 150)
    assert m.status == "loss" and m.skipped == 10 and "skips 10 record(s)" in m.reason


def test_translated_at_standby_end_with_unprocessed_mirrored_records_is_loss() -> None:
    # everything up to source 199 is mirrored; the group is at 150; d = standby end
    m = match_partition(mirrored(199, 200, 1000), 1200, 1200, True, primary(0, 300), 150)
    assert m.status == "loss" and m.skipped == 50


def test_translated_at_standby_end_with_group_caught_up_is_verified() -> None:
    m = match_partition(mirrored(199, 200, 1000), 1200, 1200, True, primary(0, 300), 250)
    assert (m.status, m.records_again) == ("verified", 0)


def test_group_past_the_mirrored_end_sees_every_mirrored_record_again() -> None:
    m = match_partition(mirrored(119, 200, 1000), 1120, 1200, True, primary(0, 300), 250)
    assert (m.status, m.records_again) == ("verified", 80)


def test_window_that_stops_short_of_the_group_is_unverified_not_verified() -> None:
    m = match_partition(mirrored(119, 140, 1000), 1120, 1200, False, primary(0, 300), 150)
    assert m.status == "unverified" and m.records_again is None


def test_nothing_matches_is_unverified() -> None:
    other = [(n, digest(b"x", str(n).encode(), n, None)) for n in range(1119, 1200)]
    m = match_partition(other, 1120, 1200, True, primary(0, 300), 150)
    assert m.status == "unverified" and "matches" in m.reason


def test_empty_primary_window_is_unverified() -> None:
    m = match_partition(mirrored(119, 200, 1000), 1120, 1200, True, [], 150)
    assert m.status == "unverified"


def test_content_that_differs_in_order_is_unverified() -> None:
    std = mirrored(119, 200, 1000)
    std[10] = (std[10][0], d(5000))
    m = match_partition(std, 1120, 1200, True, primary(0, 300), 150)
    assert m.status == "unverified" and "differs" in m.reason


def test_gaps_in_offsets_on_both_sides_count_records_not_offsets() -> None:
    # transaction markers: source offsets are every other number, standby dense
    src = [(2 * n, d(n)) for n in range(0, 150)]
    std = [(500 + n, d(n)) for n in range(59, 150)]
    # group at source offset 200 (= record 100); d = standby 560 (record 60)
    m = match_partition(std, 560, 650, True, src, 200)
    assert (m.status, m.records_again) == ("verified", 40)


def test_records_deleted_from_the_standby_before_d_are_loss() -> None:
    # the standby's log starts at record 170 (earlier ones deleted); the group is at 150
    m = match_partition(mirrored(170, 200, 1000), 1170, 1200, True, primary(0, 300), 150)
    assert m.status == "loss" and m.skipped == 20
