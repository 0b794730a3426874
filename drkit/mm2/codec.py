"""Byte codecs for the three record types MM2 writes (mm2-reference §1).

MM2 serializes Checkpoint, OffsetSync and Heartbeat with Kafka's internal protocol ``Schema``:
big-endian INT16/INT32/INT64, and STRING = INT16 length + UTF-8 bytes (non-nullable, at most
32767 bytes). There is no magic byte; only the Checkpoint and Heartbeat *values* carry an INT16
version, and only version 0 exists. Like Java, trailing bytes are ignored and a short buffer is an
error. Unlike Java (which checks the version with a disabled ``assert`` and decodes bad UTF-8 to
U+FFFD), drkit rejects other versions and invalid UTF-8: MM2 never writes either, so such a record
means a foreign format, and guessing would commit offsets for the wrong group or topic.

Pure functions, no I/O. The reader decodes up to a million records per scan, so each decoder has a
straight-line fast path built on precompiled ``struct.Struct`` objects and only walks the record
field by field (``_diagnose``) to explain a failure.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Final

from drkit.errors import CodecError
from drkit.mm2.model import Checkpoint, Heartbeat, OffsetSync

__all__ = [
    "JSON_CONVERTER_HINT",
    "MAX_STRING_BYTES",
    "SUPPORTED_VERSION",
    "checkpoint_key_prefix",
    "decode_checkpoint",
    "decode_checkpoint_key",
    "decode_checkpoint_value",
    "decode_heartbeat",
    "decode_heartbeat_key",
    "decode_heartbeat_value",
    "decode_offset_sync",
    "decode_offset_sync_key",
    "decode_offset_sync_value",
    "encode_checkpoint",
    "encode_heartbeat",
    "encode_offset_sync",
    "heartbeat_key_prefix",
    "looks_like_json",
    "offset_sync_key_prefix",
]

SUPPORTED_VERSION: Final = 0
"""The only value-format version MM2 has ever written (2.4 → 4.x)."""

MAX_STRING_BYTES: Final = 32767
"""A protocol STRING's length is a signed INT16, so longer UTF-8 cannot be encoded."""

JSON_CONVERTER_HINT: Final = (
    "the topic holds JSON records: MM2 is running with JsonConverter; "
    "set key.converter/value.converter to org.apache.kafka.connect.converters.ByteArrayConverter"
)
"""What to tell the operator when ``looks_like_json`` is true for an undecodable record."""

_I16: Final = struct.Struct(">h")
_I32: Final = struct.Struct(">i")
_I64: Final = struct.Struct(">q")
# Checkpoint value up to the metadata length: version, upstream, downstream, len(metadata).
_CP_VALUE_HEAD: Final = struct.Struct(">hqqh")
_CP_VALUE_FIXED: Final = struct.Struct(">hqq")
_OS_VALUE: Final = struct.Struct(">qq")
_HB_VALUE: Final = struct.Struct(">hq")

# Field kinds for the slow, explaining walk.
_STR: Final = "STRING"
_INT16: Final = "INT16"
_INT32: Final = "INT32"
_INT64: Final = "INT64"
_WIDTH: Final = {_INT16: 2, _INT32: 4, _INT64: 8}

_Layout = Sequence[tuple[str, str]]

_CP_KEY: Final[_Layout] = (("group", _STR), ("topic", _STR), ("partition", _INT32))
_CP_VALUE: Final[_Layout] = (
    ("version", _INT16),
    ("upstreamOffset", _INT64),
    ("offset", _INT64),
    ("metadata", _STR),
)
_OS_KEY: Final[_Layout] = (("topic", _STR), ("partition", _INT32))
_OS_VAL: Final[_Layout] = (("upstreamOffset", _INT64), ("offset", _INT64))
_HB_KEY: Final[_Layout] = (("sourceClusterAlias", _STR), ("targetClusterAlias", _STR))
_HB_VAL: Final[_Layout] = (("version", _INT16), ("timestamp", _INT64))


# --------------------------------------------------------------------------------------------
# Errors: the slow path that says exactly what is wrong.


def _null(what: str) -> CodecError:
    """Null keys never come from MM2; a null value is a delete the caller should have handled."""
    if what.endswith(" key"):
        return CodecError(f"{what}: null key (MM2 never writes a record without a key)")
    return CodecError(
        f"{what}: null value (a delete/tombstone); handle deletes before decoding the value"
    )


def _diagnose(buf: bytes, layout: _Layout, what: str) -> CodecError:
    """Walk ``buf`` field by field and describe the first problem, as Java's Schema.read would."""
    size = len(buf)
    pos = 0
    for name, kind in layout:
        if kind == _STR:
            if pos + 2 > size:
                return _truncated(what, name, "length", pos, 2, size)
            (length,) = _I16.unpack_from(buf, pos)
            if length < 0:
                return CodecError(
                    f"{what}: field '{name}' at byte {pos} has negative string length {length} "
                    "(STRING is non-nullable)"
                )
            start = pos + 2
            if start + length > size:
                return _truncated(what, name, f"{length}-byte string", start, length, size)
            try:
                bytes(buf[start : start + length]).decode("utf-8")
            except UnicodeDecodeError as exc:
                return CodecError(
                    f"{what}: field '{name}' at byte {start} is not valid UTF-8 "
                    f"({exc.reason} at byte {start + exc.start})"
                )
            pos = start + length
        else:
            width = _WIDTH[kind]
            if pos + width > size:
                return _truncated(what, name, kind, pos, width, size)
            if name == "version":
                (version,) = _I16.unpack_from(buf, pos)
                if version != SUPPORTED_VERSION:
                    return _bad_version(what, version)
            pos += width
    # Only reached if a fast path rejected a record this walk accepts: a drkit bug, but still a
    # CodecError so the reader reports the offending record instead of crashing.
    return CodecError(f"{what}: could not decode {size} bytes (internal decoder inconsistency)")


def _truncated(what: str, field: str, kind: str, pos: int, need: int, size: int) -> CodecError:
    have = max(size - pos, 0)
    return CodecError(
        f"{what}: truncated at byte {pos}: field '{field}' ({kind}) needs {need} bytes, "
        f"only {have} left in {size}-byte record"
    )


def _bad_version(what: str, version: int) -> CodecError:
    return CodecError(f"{what}: version {version} is not {SUPPORTED_VERSION} (unknown MM2 format)")


# --------------------------------------------------------------------------------------------
# Decoders.


def decode_checkpoint_key(key: bytes | None) -> tuple[str, str, int]:
    """Decode a checkpoint key into (group, topic, partition); ``topic`` is the *target* name."""
    if key is None:
        raise _null("checkpoint key")
    try:
        (glen,) = _I16.unpack_from(key, 0)
        if glen >= 0:
            tpos = 2 + glen
            (tlen,) = _I16.unpack_from(key, tpos)
            if tlen >= 0:
                ppos = tpos + 2 + tlen
                (partition,) = _I32.unpack_from(key, ppos)
                return key[2:tpos].decode(), key[tpos + 2 : ppos].decode(), partition
    except (struct.error, UnicodeDecodeError):
        pass
    raise _diagnose(key, _CP_KEY, "checkpoint key")


def decode_checkpoint_value(value: bytes | None) -> tuple[int, int, str]:
    """Decode a checkpoint value into (upstream offset, downstream offset, metadata)."""
    if value is None:
        raise _null("checkpoint value")
    try:
        version, upstream, downstream, mlen = _CP_VALUE_HEAD.unpack_from(value, 0)
        if version == SUPPORTED_VERSION and mlen >= 0 and 20 + mlen <= len(value):
            return upstream, downstream, value[20 : 20 + mlen].decode()
    except (struct.error, UnicodeDecodeError):
        pass
    raise _diagnose(value, _CP_VALUE, "checkpoint value")


_make_checkpoint = Checkpoint._make  # tuple.__new__: the fastest way to build one


def decode_checkpoint(key: bytes | None, value: bytes | None) -> Checkpoint:
    """Decode one record of ``<source>.checkpoints.internal``."""
    return _make_checkpoint(decode_checkpoint_key(key) + decode_checkpoint_value(value))


def decode_offset_sync_key(key: bytes | None) -> tuple[str, int]:
    """Decode an offset-sync key into (topic, partition); ``topic`` is the *source* name."""
    if key is None:
        raise _null("offset-sync key")
    try:
        (tlen,) = _I16.unpack_from(key, 0)
        if tlen >= 0:
            ppos = 2 + tlen
            (partition,) = _I32.unpack_from(key, ppos)
            return key[2:ppos].decode(), partition
    except (struct.error, UnicodeDecodeError):
        pass
    raise _diagnose(key, _OS_KEY, "offset-sync key")


def decode_offset_sync_value(value: bytes | None) -> tuple[int, int]:
    """Decode an offset-sync value into (upstream offset, downstream offset); it has no version."""
    if value is None:
        raise _null("offset-sync value")
    try:
        upstream, downstream = _OS_VALUE.unpack_from(value, 0)
    except struct.error:
        raise _diagnose(value, _OS_VAL, "offset-sync value") from None
    return upstream, downstream


def decode_offset_sync(key: bytes | None, value: bytes | None) -> OffsetSync:
    """Decode one record of ``mm2-offset-syncs.<alias>.internal``."""
    topic, partition = decode_offset_sync_key(key)
    upstream, downstream = decode_offset_sync_value(value)
    return OffsetSync(topic, partition, upstream, downstream)


def decode_heartbeat_key(key: bytes | None) -> tuple[str, str]:
    """Decode a heartbeat key into (source alias, target alias)."""
    if key is None:
        raise _null("heartbeat key")
    try:
        (slen,) = _I16.unpack_from(key, 0)
        if slen >= 0:
            tpos = 2 + slen
            (tlen,) = _I16.unpack_from(key, tpos)
            end = tpos + 2 + tlen
            if tlen >= 0 and end <= len(key):
                return key[2:tpos].decode(), key[tpos + 2 : end].decode()
    except (struct.error, UnicodeDecodeError):
        pass
    raise _diagnose(key, _HB_KEY, "heartbeat key")


def decode_heartbeat_value(value: bytes | None) -> int:
    """Decode a heartbeat value into its timestamp (ms since epoch, when MM2 emitted it)."""
    if value is None:
        raise _null("heartbeat value")
    try:
        version, timestamp = _HB_VALUE.unpack_from(value, 0)
        if version == SUPPORTED_VERSION:
            return int(timestamp)
    except struct.error:
        pass
    raise _diagnose(value, _HB_VAL, "heartbeat value")


def decode_heartbeat(key: bytes | None, value: bytes | None) -> Heartbeat:
    """Decode one record of a ``heartbeats`` or ``<source>.heartbeats`` topic."""
    source, target = decode_heartbeat_key(key)
    return Heartbeat(source, target, decode_heartbeat_value(value))


# --------------------------------------------------------------------------------------------
# Partial keys: as much of a bad record's key as decodes, to name what the record belongs to.


def _prefix(buf: bytes | None, layout: _Layout) -> tuple[str | int, ...]:
    """The leading fields of ``buf`` that decode by ``layout``, up to the first that does not."""
    if buf is None:
        return ()
    out: list[str | int] = []
    size = len(buf)
    pos = 0
    for _name, kind in layout:
        if kind == _STR:
            if pos + 2 > size:
                break
            (length,) = _I16.unpack_from(buf, pos)
            start = pos + 2
            if length < 0 or start + length > size:
                break
            try:
                out.append(bytes(buf[start : start + length]).decode("utf-8"))
            except UnicodeDecodeError:
                break
            pos = start + length
        else:
            width = _WIDTH[kind]
            if pos + width > size:
                break
            out.append(int.from_bytes(buf[pos : pos + width], "big", signed=True))
            pos += width
    return tuple(out)


def checkpoint_key_prefix(key: bytes | None) -> tuple[str | int, ...]:
    """The checkpoint key's fields that decode, in order: (), (group,), (group, topic) or all
    three. A value that does not decode leaves the key whole; a bad key length keeps the fields
    before it, so a malformed record can still be charged to its group."""
    return _prefix(key, _CP_KEY)


def offset_sync_key_prefix(key: bytes | None) -> tuple[str | int, ...]:
    """The offset-sync key's fields that decode, in order: (), (topic,) or (topic, partition)."""
    return _prefix(key, _OS_KEY)


def heartbeat_key_prefix(key: bytes | None) -> tuple[str | int, ...]:
    """The heartbeat key's fields that decode, in order: (), (source,) or (source, target)."""
    return _prefix(key, _HB_KEY)


# --------------------------------------------------------------------------------------------
# Encoders: byte-identical to what MM2 writes (benchmarks build synthetic topics with them).


def _encode_string(text: str, what: str, field: str) -> bytes:
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CodecError(
            f"{what}: field '{field}' cannot be encoded as UTF-8 ({exc.reason} at char {exc.start})"
        ) from None
    if len(raw) > MAX_STRING_BYTES:
        raise CodecError(
            f"{what}: field '{field}' is {len(raw)} UTF-8 bytes, more than {MAX_STRING_BYTES}"
        )
    return _I16.pack(len(raw)) + raw


def _pack(packer: struct.Struct, what: str, *values: int) -> bytes:
    try:
        return packer.pack(*values)
    except struct.error as exc:
        raise CodecError(f"{what}: {values} out of range for {packer.format!r} ({exc})") from None


def encode_checkpoint(cp: Checkpoint) -> tuple[bytes, bytes]:
    """Encode a checkpoint as MM2's (key, value) bytes."""
    key = (
        _encode_string(cp.group, "checkpoint key", "group")
        + _encode_string(cp.topic, "checkpoint key", "topic")
        + _pack(_I32, "checkpoint key", cp.partition)
    )
    fixed = _pack(
        _CP_VALUE_FIXED,
        "checkpoint value",
        SUPPORTED_VERSION,
        cp.upstream_offset,
        cp.downstream_offset,
    )
    value = fixed + _encode_string(cp.metadata, "checkpoint value", "metadata")
    return key, value


def encode_offset_sync(sync: OffsetSync) -> tuple[bytes, bytes]:
    """Encode an offset sync as MM2's (key, value) bytes."""
    key = _encode_string(sync.topic, "offset-sync key", "topic") + _pack(
        _I32, "offset-sync key", sync.partition
    )
    value = _pack(_OS_VALUE, "offset-sync value", sync.upstream_offset, sync.downstream_offset)
    return key, value


def encode_heartbeat(hb: Heartbeat) -> tuple[bytes, bytes]:
    """Encode a heartbeat as MM2's (key, value) bytes."""
    key = _encode_string(hb.source_alias, "heartbeat key", "sourceClusterAlias") + _encode_string(
        hb.target_alias, "heartbeat key", "targetClusterAlias"
    )
    value = _pack(_HB_VALUE, "heartbeat value", SUPPORTED_VERSION, hb.timestamp_ms)
    return key, value


# --------------------------------------------------------------------------------------------
# Converter misconfiguration.

_JSON_STARTS: Final = frozenset(b'{["')


def looks_like_json(data: bytes | None) -> bool:
    """True if ``data`` is a JSON object, array or string, as Connect's JsonConverter writes.

    With ``schemas.enable=true`` JsonConverter wraps MM2's bytes as
    ``{"schema":{"type":"bytes",...},"payload":"<base64>"}``; without it, as a bare JSON string.
    Binary MM2 records start with an INT16 length, so their first byte is almost never ``{``,
    ``[`` or ``"``, and they contain bytes JSON forbids; the cheap first-byte test keeps this
    fast, and ``json.loads`` confirms.
    """
    if not data:
        return False
    start = data.lstrip(b" \t\r\n")
    if not start or start[0] not in _JSON_STARTS:
        return False
    try:
        parsed = json.loads(start)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict | list | str)
