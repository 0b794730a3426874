"""Byte codecs for MM2 records, checked against mm2-reference §1 and §7.1."""

from __future__ import annotations

import base64
import contextlib
import json
import struct
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drkit.errors import CodecError
from drkit.mm2 import codec
from drkit.mm2.codec import (
    MAX_STRING_BYTES,
    decode_checkpoint,
    decode_checkpoint_key,
    decode_checkpoint_value,
    decode_heartbeat,
    decode_heartbeat_key,
    decode_heartbeat_value,
    decode_offset_sync,
    decode_offset_sync_key,
    decode_offset_sync_value,
    encode_checkpoint,
    encode_heartbeat,
    encode_offset_sync,
    looks_like_json,
)
from drkit.mm2.model import Checkpoint, Heartbeat, OffsetSync

# ---------------------------------------------------------------------------------------------
# The vectors exactly as printed in mm2-reference §1.

CP_KEY = bytes.fromhex("00 02 67 31  00 06 6f 72 64 65 72 73  00 00 00 00")
CP_VALUE = bytes.fromhex("00 00  00 00 00 00 00 00 00 64  00 00 00 00 00 00 00 2a  00 00")
# "Under DefaultReplicationPolicy with alias primary the key holds 00 0e "primary.orders"".
CP_KEY_PRIMARY = (
    bytes.fromhex("00 02 67 31")
    + bytes.fromhex("00 0e")
    + b"primary.orders"
    + (bytes.fromhex("00 00 00 00"))
)
OS_KEY = bytes.fromhex("00 06 6f7264657273 00000000")
OS_VALUE = bytes.fromhex("0000000000000064 0000000000000029")
HB_KEY = bytes.fromhex("00 06 6261636b7570 00 07 7072696d617279")
HB_TIMESTAMP = 1_729_850_000_123
HB_VALUE = bytes.fromhex("00 00") + HB_TIMESTAMP.to_bytes(8, "big")

Decoder = Callable[[Any], object]

# (record part, decoder of that part, a valid encoding of it)
PARTS: list[tuple[str, Decoder, bytes]] = [
    ("checkpoint key", decode_checkpoint_key, CP_KEY),
    ("checkpoint value", decode_checkpoint_value, CP_VALUE),
    ("offset-sync key", decode_offset_sync_key, OS_KEY),
    ("offset-sync value", decode_offset_sync_value, OS_VALUE),
    ("heartbeat key", decode_heartbeat_key, HB_KEY),
    ("heartbeat value", decode_heartbeat_value, HB_VALUE),
]
PART_IDS = [p[0] for p in PARTS]

# (record part, decoder of that part, valid encoding, byte offset of each STRING length)
STRING_FIELDS: list[tuple[str, Decoder, bytes, int, str]] = [
    ("checkpoint key", decode_checkpoint_key, CP_KEY, 0, "group"),
    ("checkpoint key", decode_checkpoint_key, CP_KEY, 4, "topic"),
    ("checkpoint value", decode_checkpoint_value, CP_VALUE, 18, "metadata"),
    ("offset-sync key", decode_offset_sync_key, OS_KEY, 0, "topic"),
    ("heartbeat key", decode_heartbeat_key, HB_KEY, 0, "sourceClusterAlias"),
    ("heartbeat key", decode_heartbeat_key, HB_KEY, 8, "targetClusterAlias"),
]
STRING_IDS = [f"{p[0]}:{p[4]}" for p in STRING_FIELDS]


def _with_string(buf: bytes, at: int, raw: bytes) -> bytes:
    """Replace the STRING whose length prefix is at ``at`` by ``raw`` (length fixed up)."""
    (old,) = struct.unpack_from(">h", buf, at)
    return buf[:at] + struct.pack(">h", len(raw)) + raw + buf[at + 2 + old :]


# ---------------------------------------------------------------------------------------------
# Reference vectors


class TestReferenceVectors:
    def test_checkpoint_vector_decodes(self) -> None:
        assert len(CP_KEY) == 16
        assert len(CP_VALUE) == 20
        assert decode_checkpoint(CP_KEY, CP_VALUE) == Checkpoint("g1", "orders", 0, 100, 42, "")
        assert decode_checkpoint_key(CP_KEY) == ("g1", "orders", 0)
        assert decode_checkpoint_value(CP_VALUE) == (100, 42, "")

    def test_checkpoint_vector_reencodes_byte_identically(self) -> None:
        assert encode_checkpoint(Checkpoint("g1", "orders", 0, 100, 42, "")) == (CP_KEY, CP_VALUE)

    def test_checkpoint_key_with_remote_topic_name(self) -> None:
        # §1 prints "(20 B)" for this key, but g1 (4 B) + "primary.orders" (2+14 B) + partition
        # (4 B) is 24 B; the topic field alone is 16 B. The bytes, not the count, are the spec.
        assert CP_KEY_PRIMARY[4:6] == b"\x00\x0e"
        assert len(CP_KEY_PRIMARY[4:20]) == 16
        assert len(CP_KEY_PRIMARY) == 24
        cp = decode_checkpoint(CP_KEY_PRIMARY, CP_VALUE)
        assert cp == Checkpoint("g1", "primary.orders", 0, 100, 42, "")
        assert encode_checkpoint(cp) == (CP_KEY_PRIMARY, CP_VALUE)

    def test_offset_sync_vector(self) -> None:
        sync = decode_offset_sync(OS_KEY, OS_VALUE)
        assert sync == OffsetSync("orders", 0, 100, 41)
        assert decode_offset_sync_key(OS_KEY) == ("orders", 0)
        assert decode_offset_sync_value(OS_VALUE) == (100, 41)
        assert encode_offset_sync(sync) == (OS_KEY, OS_VALUE)

    def test_heartbeat_vector(self) -> None:
        hb = decode_heartbeat(HB_KEY, HB_VALUE)
        assert hb == Heartbeat("backup", "primary", HB_TIMESTAMP)
        assert decode_heartbeat_key(HB_KEY) == ("backup", "primary")
        assert decode_heartbeat_value(HB_VALUE) == HB_TIMESTAMP
        assert encode_heartbeat(hb) == (HB_KEY, HB_VALUE)
        assert len(HB_VALUE) == 10

    def test_non_ascii_and_empty_strings(self) -> None:
        cp = Checkpoint("grüppe-€", "", 7, 0, 0, "meta 😀")
        key, value = encode_checkpoint(cp)
        assert key[:2] == struct.pack(">h", len("grüppe-€".encode()))
        assert b"\x00\x00\x00\x00\x00\x07" in key  # "" then partition 7
        assert decode_checkpoint(key, value) == cp

    def test_extreme_integers(self) -> None:
        lo, hi = -(2**63), 2**63 - 1
        cp = Checkpoint("g", "t", -(2**31), lo, hi, "")
        assert decode_checkpoint(*encode_checkpoint(cp)) == cp
        sync = OffsetSync("t", 2**31 - 1, hi, lo)
        assert decode_offset_sync(*encode_offset_sync(sync)) == sync
        hb = Heartbeat("a", "b", lo)
        assert decode_heartbeat(*encode_heartbeat(hb)) == hb


# ---------------------------------------------------------------------------------------------
# Malformed records


class TestVersion:
    @pytest.mark.parametrize("version", [1, -1, 3, 0x7FFF, -0x8000])
    def test_checkpoint_value_rejects_other_versions(self, version: int) -> None:
        bad = struct.pack(">h", version) + CP_VALUE[2:]
        with pytest.raises(CodecError) as err:
            decode_checkpoint_value(bad)
        assert str(err.value) == (
            f"checkpoint value: version {version} is not 0 (unknown MM2 format)"
        )
        with pytest.raises(CodecError, match="checkpoint value: version"):
            decode_checkpoint(CP_KEY, bad)

    @pytest.mark.parametrize("version", [1, -1])
    def test_heartbeat_value_rejects_other_versions(self, version: int) -> None:
        bad = struct.pack(">h", version) + HB_VALUE[2:]
        with pytest.raises(CodecError, match=rf"^heartbeat value: version {version} is not 0"):
            decode_heartbeat_value(bad)
        with pytest.raises(CodecError, match="heartbeat value: version"):
            decode_heartbeat(HB_KEY, bad)

    @pytest.mark.parametrize(
        ("decoder", "valid"),
        [(decode_checkpoint_value, CP_VALUE), (decode_heartbeat_value, HB_VALUE)],
    )
    def test_version_error_wins_over_truncation(self, decoder: Decoder, valid: bytes) -> None:
        # A future format may be shorter; "unknown version" is the useful message.
        with pytest.raises(CodecError, match="version 1 is not 0"):
            decoder(b"\x00\x01")

    def test_offset_sync_value_has_no_version(self) -> None:
        # The first two bytes are the top of upstreamOffset, not a version.
        value = struct.pack(">qq", 2**62, 5)
        assert decode_offset_sync_value(value) == (2**62, 5)


class TestTruncation:
    @pytest.mark.parametrize(("what", "decoder", "valid"), PARTS, ids=PART_IDS)
    def test_every_prefix_is_rejected(self, what: str, decoder: Decoder, valid: bytes) -> None:
        for length in range(len(valid)):
            with pytest.raises(CodecError) as err:
                decoder(valid[:length])
            message = str(err.value)
            assert message.startswith(f"{what}: truncated at byte "), message
            assert f"{length}-byte record" in message

    def test_truncation_message_names_field_and_position(self) -> None:
        with pytest.raises(CodecError) as err:
            decode_checkpoint_key(CP_KEY[:9])
        assert str(err.value) == (
            "checkpoint key: truncated at byte 6: field 'topic' (6-byte string) needs 6 bytes, "
            "only 3 left in 9-byte record"
        )
        with pytest.raises(CodecError) as err:
            decode_checkpoint_value(CP_VALUE[:10])
        assert str(err.value) == (
            "checkpoint value: truncated at byte 10: field 'offset' (INT64) needs 8 bytes, "
            "only 0 left in 10-byte record"
        )

    def test_full_record_decoders_report_truncated_parts(self) -> None:
        with pytest.raises(CodecError, match=r"^checkpoint key: truncated"):
            decode_checkpoint(CP_KEY[:-1], CP_VALUE)
        with pytest.raises(CodecError, match=r"^checkpoint value: truncated"):
            decode_checkpoint(CP_KEY, CP_VALUE[:-1])
        with pytest.raises(CodecError, match=r"^offset-sync key: truncated"):
            decode_offset_sync(OS_KEY[:-1], OS_VALUE)
        with pytest.raises(CodecError, match=r"^offset-sync value: truncated"):
            decode_offset_sync(OS_KEY, OS_VALUE[:-1])
        with pytest.raises(CodecError, match=r"^heartbeat key: truncated"):
            decode_heartbeat(HB_KEY[:-1], HB_VALUE)
        with pytest.raises(CodecError, match=r"^heartbeat value: truncated"):
            decode_heartbeat(HB_KEY, HB_VALUE[:-1])


class TestStrings:
    @pytest.mark.parametrize("length", [b"\xff\xff", b"\x80\x00", b"\xff\xfe"])
    @pytest.mark.parametrize(
        ("what", "decoder", "valid", "at", "field"), STRING_FIELDS, ids=STRING_IDS
    )
    def test_negative_length_rejected(
        self, what: str, decoder: Decoder, valid: bytes, at: int, field: str, length: bytes
    ) -> None:
        bad = valid[:at] + length + valid[at + 2 :]
        with pytest.raises(CodecError) as err:
            decoder(bad)
        (n,) = struct.unpack(">h", length)
        assert str(err.value) == (
            f"{what}: field '{field}' at byte {at} has negative string length {n} "
            "(STRING is non-nullable)"
        )

    @pytest.mark.parametrize("raw", [b"\xff", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"a\x80b"])
    @pytest.mark.parametrize(
        ("what", "decoder", "valid", "at", "field"), STRING_FIELDS, ids=STRING_IDS
    )
    def test_non_utf8_rejected(
        self, what: str, decoder: Decoder, valid: bytes, at: int, field: str, raw: bytes
    ) -> None:
        bad = _with_string(valid, at, raw)
        with pytest.raises(CodecError, match=rf"^{what}: field '{field}' at byte {at + 2} "):
            decoder(bad)
        with pytest.raises(CodecError, match="is not valid UTF-8"):
            decoder(bad)

    def test_empty_string_is_two_zero_bytes(self) -> None:
        key, value = encode_checkpoint(Checkpoint("", "", 0, 0, 0, ""))
        assert key == b"\x00\x00" * 2 + b"\x00" * 4
        assert value.endswith(b"\x00\x00")
        assert len(value) == 20

    def test_longest_string_round_trips(self) -> None:
        longest = "x" * MAX_STRING_BYTES
        cp = Checkpoint(longest, "é" * (MAX_STRING_BYTES // 2), 0, 1, 2, longest)
        key, value = encode_checkpoint(cp)
        assert key[:2] == b"\x7f\xff"
        assert decode_checkpoint(key, value) == cp

    @pytest.mark.parametrize("text", ["x" * (MAX_STRING_BYTES + 1), "é" * 16384])
    def test_too_long_string_cannot_be_encoded(self, text: str) -> None:
        with pytest.raises(CodecError, match=r"checkpoint key: field 'group' is 3276[89] UTF-8"):
            encode_checkpoint(Checkpoint(text, "t", 0, 0, 0, ""))
        with pytest.raises(CodecError, match="heartbeat key: field 'targetClusterAlias'"):
            encode_heartbeat(Heartbeat("a", text, 0))

    def test_unencodable_string(self) -> None:
        with pytest.raises(CodecError, match="offset-sync key: field 'topic' cannot be encoded"):
            encode_offset_sync(OffsetSync("bad\udc80", 0, 0, 0))

    @pytest.mark.parametrize(
        "record",
        [
            Checkpoint("g", "t", 2**31, 0, 0, ""),
            Checkpoint("g", "t", 0, 2**63, 0, ""),
            OffsetSync("t", -(2**31) - 1, 0, 0),
            OffsetSync("t", 0, 0, -(2**63) - 1),
            Heartbeat("a", "b", 2**63),
        ],
    )
    def test_out_of_range_integers_cannot_be_encoded(
        self, record: Checkpoint | OffsetSync | Heartbeat
    ) -> None:
        with pytest.raises(CodecError, match="out of range"):
            if isinstance(record, Checkpoint):
                encode_checkpoint(record)
            elif isinstance(record, OffsetSync):
                encode_offset_sync(record)
            else:
                encode_heartbeat(record)


class TestNull:
    @pytest.mark.parametrize(("what", "decoder", "valid"), PARTS, ids=PART_IDS)
    def test_part_decoders_reject_none(self, what: str, decoder: Decoder, valid: bytes) -> None:
        with pytest.raises(CodecError, match=rf"^{what}: null "):
            decoder(None)

    @pytest.mark.parametrize(
        ("what", "decoder", "key", "value"),
        [
            ("checkpoint", decode_checkpoint, CP_KEY, CP_VALUE),
            ("offset-sync", decode_offset_sync, OS_KEY, OS_VALUE),
            ("heartbeat", decode_heartbeat, HB_KEY, HB_VALUE),
        ],
    )
    def test_record_decoders_reject_null_key_and_value(
        self, what: str, decoder: Callable[[Any, Any], object], key: bytes, value: bytes
    ) -> None:
        with pytest.raises(CodecError, match=rf"^{what} key: null key"):
            decoder(None, value)
        with pytest.raises(CodecError, match=rf"^{what} value: null value \(a delete"):
            decoder(key, None)
        with pytest.raises(CodecError, match=rf"^{what} key: null key"):
            decoder(None, None)


class TestTrailingBytes:
    @pytest.mark.parametrize("extra", [b"\x00", b"\xff\xff\xff", b"garbage" * 10])
    @pytest.mark.parametrize(("what", "decoder", "valid"), PARTS, ids=PART_IDS)
    def test_trailing_bytes_ignored_like_java(
        self, what: str, decoder: Decoder, valid: bytes, extra: bytes
    ) -> None:
        assert decoder(valid + extra) == decoder(valid)

    def test_trailing_bytes_in_full_records(self) -> None:
        assert decode_checkpoint(CP_KEY + b"\x01", CP_VALUE + b"\x02") == decode_checkpoint(
            CP_KEY, CP_VALUE
        )
        assert decode_offset_sync(OS_KEY + b"x", OS_VALUE + b"y") == OffsetSync(
            "orders", 0, 100, 41
        )
        assert decode_heartbeat(HB_KEY + b"x", HB_VALUE + b"y").source_alias == "backup"


# ---------------------------------------------------------------------------------------------
# Property tests

INT64 = st.integers(-(2**63), 2**63 - 1)
INT32 = st.integers(-(2**31), 2**31 - 1)


def _fill(unit: str, budget: int) -> str:
    """``unit`` repeated to at most ``budget`` UTF-8 bytes (cheap large strings)."""
    return unit * (budget // len(unit.encode()))


MM2_STRINGS = st.one_of(
    st.text(max_size=40),
    st.builds(_fill, st.text(min_size=1, max_size=4), st.integers(0, MAX_STRING_BYTES)),
    st.sampled_from(["x" * MAX_STRING_BYTES, "€" * (MAX_STRING_BYTES // 3), "😀" * 8191]),
)


class TestRoundTrip:
    @given(
        group=MM2_STRINGS,
        topic=MM2_STRINGS,
        partition=INT32,
        up=INT64,
        down=INT64,
        metadata=MM2_STRINGS,
    )
    def test_checkpoint(
        self, group: str, topic: str, partition: int, up: int, down: int, metadata: str
    ) -> None:
        cp = Checkpoint(group, topic, partition, up, down, metadata)
        key, value = encode_checkpoint(cp)
        assert decode_checkpoint(key, value) == cp
        assert len(key) == 8 + len(group.encode()) + len(topic.encode())
        assert len(value) == 20 + len(metadata.encode())

    @given(topic=MM2_STRINGS, partition=INT32, up=INT64, down=INT64)
    def test_offset_sync(self, topic: str, partition: int, up: int, down: int) -> None:
        sync = OffsetSync(topic, partition, up, down)
        key, value = encode_offset_sync(sync)
        assert decode_offset_sync(key, value) == sync
        assert len(value) == 16

    @given(source=MM2_STRINGS, target=MM2_STRINGS, timestamp=INT64)
    def test_heartbeat(self, source: str, target: str, timestamp: int) -> None:
        hb = Heartbeat(source, target, timestamp)
        key, value = encode_heartbeat(hb)
        assert decode_heartbeat(key, value) == hb
        assert len(value) == 10


def _reencode(what: str, decoded: Any) -> bytes:
    """Encode a decoded record part again, to compare with the bytes it came from."""
    if what == "checkpoint key":
        group, topic, partition = decoded
        return encode_checkpoint(Checkpoint(group, topic, partition, 0, 0, ""))[0]
    if what == "checkpoint value":
        upstream, downstream, metadata = decoded
        return encode_checkpoint(Checkpoint("", "", 0, upstream, downstream, metadata))[1]
    if what == "offset-sync key":
        topic, partition = decoded
        return encode_offset_sync(OffsetSync(topic, partition, 0, 0))[0]
    if what == "offset-sync value":
        upstream, downstream = decoded
        return encode_offset_sync(OffsetSync("", 0, upstream, downstream))[1]
    if what == "heartbeat key":
        source, target = decoded
        return encode_heartbeat(Heartbeat(source, target, 0))[0]
    return encode_heartbeat(Heartbeat("", "", decoded))[1]


def _mutated(valid: bytes) -> st.SearchStrategy[bytes]:
    """Near-valid inputs: a valid record with a cut, a splice or overwritten bytes."""
    size = len(valid)
    return st.one_of(
        st.integers(0, size).map(lambda n: valid[:n]),
        st.tuples(st.integers(0, size), st.binary(max_size=8)).map(
            lambda t: valid[: t[0]] + t[1] + valid[t[0] :]
        ),
        st.tuples(st.integers(0, size), st.binary(min_size=1, max_size=4)).map(
            lambda t: valid[: t[0]] + t[1] + valid[t[0] + len(t[1]) :]
        ),
    )


FUZZ_INPUT = st.one_of(
    st.binary(max_size=64),
    *[_mutated(valid) for _, _, valid in PARTS],
    st.sampled_from([v for _, _, v in PARTS]).flatmap(_mutated),
)


class TestFuzz:
    @settings(max_examples=400)
    @given(data=FUZZ_INPUT)
    @pytest.mark.parametrize(("what", "decoder", "valid"), PARTS, ids=PART_IDS)
    def test_decoders_return_or_raise_codec_error(
        self, what: str, decoder: Decoder, valid: bytes, data: bytes
    ) -> None:
        try:
            decoded = decoder(data)
        except CodecError as exc:
            assert str(exc).startswith(f"{what}: ")
            assert "internal decoder inconsistency" not in str(exc)
            return
        # Whatever decodes must be exactly the bytes MM2 would write, plus ignored trailing bytes.
        assert data.startswith(_reencode(what, decoded))

    @settings(max_examples=300)
    @given(key=FUZZ_INPUT, value=FUZZ_INPUT)
    def test_record_decoders_return_or_raise_codec_error(self, key: bytes, value: bytes) -> None:
        for decoder in (decode_checkpoint, decode_offset_sync, decode_heartbeat):
            with contextlib.suppress(CodecError):
                decoder(key, value)


# ---------------------------------------------------------------------------------------------
# JsonConverter detection


def _envelope(raw: bytes) -> bytes:
    payload = base64.b64encode(raw).decode()
    return json.dumps(
        {"schema": {"type": "bytes", "optional": False}, "payload": payload},
        separators=(",", ":"),
    ).encode()


JSON_RECORDS = [
    # JsonConverter, schemas.enable=true (its default), as it writes them.
    b'{"schema":{"type":"bytes","optional":false},"payload":"AAJnMQAGb3JkZXJzAAAAAA=="}',
    b'{"schema":{"type":"bytes","optional":false},"payload":"AAAAAAAAAAAAZAAAAAAAAAAqAAA="}',
    _envelope(HB_KEY),
    _envelope(HB_VALUE),
    # schemas.enable=false: a bare JSON string.
    b'"AAJnMQAGb3JkZXJzAAAAAA=="',
    b'"AAAAAAAAAAAAZAAAAAAAAAAqAAA="',
    # Pretty-printed / other JSON values a converter might produce.
    b' {\n  "payload": null\n}',
    b"[1, 2]",
]


class TestLooksLikeJson:
    def test_reference_envelopes_match_helper(self) -> None:
        assert JSON_RECORDS[0] == _envelope(CP_KEY)
        assert JSON_RECORDS[1] == _envelope(CP_VALUE)

    @pytest.mark.parametrize("data", JSON_RECORDS)
    def test_true_for_json_converter_records(self, data: bytes) -> None:
        assert looks_like_json(data)

    @pytest.mark.parametrize("what", ["checkpoint key", "checkpoint value"])
    def test_json_records_fail_to_decode_so_reader_can_explain(self, what: str) -> None:
        data = _envelope(CP_KEY if what == "checkpoint key" else CP_VALUE)
        decoder = decode_checkpoint_key if what == "checkpoint key" else decode_checkpoint_value
        with pytest.raises(CodecError, match=f"^{what}: "):
            decoder(data)
        assert looks_like_json(data)
        assert "ByteArrayConverter" in codec.JSON_CONVERTER_HINT

    @pytest.mark.parametrize(
        "data",
        [CP_KEY, CP_VALUE, CP_KEY_PRIMARY, OS_KEY, OS_VALUE, HB_KEY, HB_VALUE],
    )
    def test_false_for_binary_vectors(self, data: bytes) -> None:
        assert not looks_like_json(data)

    @pytest.mark.parametrize(
        "data",
        [
            None,
            b"",
            b"   ",
            b"{",
            b'"unterminated',
            b"{\x00\x06orders",
            b"[" * 100_000,
            b"42",
            b"null",
            b"\xff\xfe{}",
            b'{"a": 1} trailing',
        ],
    )
    def test_false_for_non_json(self, data: bytes | None) -> None:
        assert not looks_like_json(data)

    @given(st.binary(max_size=64))
    def test_never_raises(self, data: bytes) -> None:
        assert looks_like_json(data) in (True, False)
