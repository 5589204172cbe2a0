"""Values <-> the bytes a backend stores: a 4-byte header, then the (maybe compressed) payload.

Header: ``b"Q"``, format version ``1``, codec byte, compression byte. Codecs:

* ``j`` plain JSON (orjson), for values made only of JSON types: decoding is one
  ``orjson.loads`` call, no tree walk.
* ``t`` tagged JSON: ``datetime``, ``date``, ``time``, ``Decimal``, ``UUID``, ``bytes``,
  ``tuple``, ``set``, ``frozenset``, non-finite floats, big ints and non-string dict keys are
  written as ``{"__qh__": [tag, payload]}`` so they come back as the same type and value.
* ``p`` pickle, only when the manager was built with ``allow_pickle=True`` and a secret;
  a 32-byte HMAC-SHA256 over header and payload precedes the payload and is checked before
  anything is unpickled. Without that opt-in a pickle payload is refused
  (:class:`qhub.exceptions.UnsafePayloadError`), whoever wrote it.

Compression byte: ``-`` none, ``z`` zlib. Payloads longer than ``compress_threshold``
bytes are compressed when that makes them smaller; inflating stops at ``max_value_bytes``
(a zlib bomb planted in a shared store is refused, not inflated).

Stored bytes may be hostile (another process, a planted value): every failure to decode
them, whatever Python raises on the way (an unknown time zone, a bad ``Decimal``, unhashable
set members, nesting too deep), becomes :class:`~qhub.exceptions.CorruptValueError` when
the bytes claim to be a qhub value, or :class:`~qhub.exceptions.SerializationError` when
they use a codec this version does not know (a newer writer), so callers treat it as a miss.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import math
import pickle
import uuid
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from qhub.exceptions import CorruptValueError, SerializationError, UnsafePayloadError

MAGIC = b"Q\x01"
CODEC_JSON = ord("j")
CODEC_TAGGED = ord("t")
CODEC_PICKLE = ord("p")
COMPRESS_NONE = ord("-")
COMPRESS_ZLIB = ord("z")
HEADER_LEN = 4
SIGNATURE_LEN = 32
TAG = "__qh__"

_HEADER_JSON = MAGIC + bytes((CODEC_JSON, COMPRESS_NONE))
PLAIN_HEADER = _HEADER_JSON
"""Header of an uncompressed plain-JSON value: its payload is one ``orjson.loads`` away."""
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
DEFAULT_MAX_VALUE_BYTES = 256 * 1024 * 1024
"""Default cap on one value's decompressed size (``cache.max_value_bytes``)."""


_LEAVES = frozenset({str, int, bool, type(None)})
"""Exact types orjson writes and reads back unchanged (ints only in its 64-bit range)."""


def _is_plain(value: Any) -> bool:
    """True unless ``value`` holds something orjson would write but not read back exactly.

    That is: a type other than dict, list, str, int, bool, None and float (subclasses
    included: ``tuple``, ``UUID``, enums...), a non-finite float, or a dict with our tag
    key. Two cases are left to orjson, which refuses them with ``TypeError`` (the caller then
    takes the tagged path): dict keys that are not exactly ``str``, and ints beyond 64 bits.
    Hot on every ``set``: leaves cost one set lookup each, no call.
    """
    kind = type(value)
    if kind is dict:
        if TAG in value:
            return False
        items: Any = value.values()
    elif kind is list:
        items = value
    elif kind is float:
        return bool(value - value == 0)  # False exactly for inf, -inf and nan
    else:
        return kind in _LEAVES
    # a loop, not all(): no generator frame on the hot path
    for item in items:  # noqa: SIM110
        if type(item) not in _LEAVES and not _is_plain(item):
            return False
    return True


def _tag(value: Any) -> Any:
    """``value`` with every non-JSON type replaced by a ``{"__qh__": [tag, payload]}`` dict."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        return value if _INT_MIN <= value <= _INT_MAX else {TAG: ["int", str(value)]}
    if kind is float:
        return value if math.isfinite(value) else {TAG: ["float", repr(value)]}
    if kind is list:
        return [_tag(v) for v in value]
    if kind is dict:
        if all(type(k) is str for k in value) and TAG not in value:
            return {k: _tag(v) for k, v in value.items()}
        return {TAG: ["map", [[_tag(k), _tag(v)] for k, v in value.items()]]}
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        raise SerializationError(
            f"cannot cache a value of type {kind.__module__}.{kind.__qualname__}: "
            "use JSON types, datetime, date, time, Decimal, UUID, bytes, tuple or set"
        )
    return encoder(value)


def _encode_datetime(value: dt.datetime) -> dict[str, Any]:
    zone = getattr(value.tzinfo, "key", None)
    return {TAG: ["dt", value.isoformat(), zone] if zone else ["dt", value.isoformat()]}


_ENCODERS: dict[type, Callable[[Any], Any]] = {
    dt.datetime: _encode_datetime,
    dt.date: lambda v: {TAG: ["date", v.isoformat()]},
    dt.time: lambda v: {TAG: ["time", v.isoformat()]},
    Decimal: lambda v: {TAG: ["dec", str(v)]},
    uuid.UUID: lambda v: {TAG: ["uuid", str(v)]},
    bytes: lambda v: {TAG: ["bytes", base64.b64encode(v).decode("ascii")]},
    tuple: lambda v: {TAG: ["tuple", [_tag(x) for x in v]]},
    set: lambda v: {TAG: ["set", [_tag(x) for x in v]]},
    frozenset: lambda v: {TAG: ["frozenset", [_tag(x) for x in v]]},
}


def _decode_datetime(payload: list[Any]) -> dt.datetime:
    value = dt.datetime.fromisoformat(payload[0])
    if len(payload) > 1:
        from zoneinfo import ZoneInfo

        value = value.replace(tzinfo=ZoneInfo(payload[1]))
    return value


def _untag(value: Any) -> Any:
    """Inverse of :func:`_tag`."""
    kind = type(value)
    if kind is list:
        return [_untag(v) for v in value]
    if kind is not dict:
        return value
    if TAG not in value:
        return {k: _untag(v) for k, v in value.items()}
    tag, *payload = value[TAG]
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise CorruptValueError(f"stored value uses an unknown type tag {tag!r}")
    return decoder(payload)


_DECODERS: dict[str, Callable[[list[Any]], Any]] = {
    "int": lambda p: int(p[0]),
    "float": lambda p: float(p[0]),
    "map": lambda p: {_untag(k): _untag(v) for k, v in p[0]},
    "dt": _decode_datetime,
    "date": lambda p: dt.date.fromisoformat(p[0]),
    "time": lambda p: dt.time.fromisoformat(p[0]),
    "dec": lambda p: Decimal(p[0]),
    "uuid": lambda p: uuid.UUID(p[0]),
    "bytes": lambda p: base64.b64decode(p[0]),
    "tuple": lambda p: tuple(_untag(x) for x in p[0]),
    "set": lambda p: {_untag(x) for x in p[0]},
    "frozenset": lambda p: frozenset(_untag(x) for x in p[0]),
}


class Serializer:
    """Encodes values to self-describing bytes and back; one instance per manager."""

    def __init__(
        self,
        *,
        compress_threshold: int | None = 1024,
        allow_pickle: bool = False,
        pickle_secret: str | bytes | None = None,
        compress_level: int = 1,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    ) -> None:
        if allow_pickle and not pickle_secret:
            raise SerializationError(
                "allow_pickle=True needs pickle_secret (cache.pickle_secret): "
                "pickle values are signed with it and checked before loading"
            )
        self.compress_threshold = compress_threshold
        self.compress_level = compress_level
        self.max_value_bytes = max_value_bytes
        self.allow_pickle = allow_pickle
        self._secret = (
            pickle_secret.encode() if isinstance(pickle_secret, str) else pickle_secret
        )

    def dumps(self, value: Any) -> bytes:
        """``value`` as stored bytes; :class:`SerializationError` if it cannot be encoded."""
        try:
            plain = _is_plain(value)
            if plain:
                payload, codec = orjson.dumps(value), CODEC_JSON
                threshold = self.compress_threshold
                if threshold is None or len(payload) <= threshold:
                    return _HEADER_JSON + payload  # the common case: no header to build
        except RecursionError:
            raise SerializationError("cannot encode value: nested too deeply") from None
        except TypeError:  # a non-str dict key, an int beyond 64 bits, or too deep
            plain = False
        if not plain:
            try:
                payload, codec = orjson.dumps(_tag(value)), CODEC_TAGGED
            except SerializationError:
                if not self.allow_pickle:
                    raise
                payload, codec = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), CODEC_PICKLE
            except (TypeError, ValueError) as exc:  # orjson.JSONEncodeError is a TypeError
                raise SerializationError(f"cannot encode value: {exc}") from exc
            except RecursionError:
                raise SerializationError("cannot encode value: nested too deeply") from None
        compression = COMPRESS_NONE
        threshold = self.compress_threshold
        if threshold is not None and len(payload) > threshold:
            packed = zlib.compress(payload, self.compress_level)
            if len(packed) < len(payload):
                payload, compression = packed, COMPRESS_ZLIB
        if codec == CODEC_JSON and compression == COMPRESS_NONE:
            return _HEADER_JSON + payload
        header = MAGIC + bytes((codec, compression))
        if codec == CODEC_PICKLE:
            assert self._secret is not None
            return header + self._sign(header + payload) + payload
        return header + payload

    def loads(self, data: bytes) -> Any:
        """The value stored in ``data``; raises :class:`SerializationError` on bad bytes.

        Never raises anything else, whatever the bytes hold (see the module docstring).
        """
        if data.startswith(_HEADER_JSON):  # the common case first
            try:
                return orjson.loads(data[HEADER_LEN:])
            except orjson.JSONDecodeError as exc:
                raise CorruptValueError(f"stored value is damaged: {exc}") from None
        if data[:2] != MAGIC or len(data) < HEADER_LEN:
            if data[:1] == b"\x80":
                raise UnsafePayloadError("refused a raw pickle payload found in the cache")
            raise CorruptValueError("stored bytes are not a qhub cache value (bad header)")
        codec, compression = data[2], data[3]
        if codec == CODEC_PICKLE:
            return self._unpickle(data, compression)
        if codec not in (CODEC_JSON, CODEC_TAGGED):
            raise SerializationError(f"stored value uses an unknown codec {chr(codec)!r}")
        payload = self._inflate(data[HEADER_LEN:], compression)
        try:
            value = orjson.loads(payload)
            return value if codec == CODEC_JSON else _untag(value)
        except SerializationError:
            raise
        except RecursionError:
            raise CorruptValueError("stored value is nested too deeply to decode") from None
        except Exception as exc:  # hostile bytes: whatever decoding raised, it is a bad value
            detail = str(exc).splitlines()[0][:200] if str(exc) else ""
            raise CorruptValueError(
                f"stored value does not decode ({type(exc).__name__}{': ' if detail else ''}"
                f"{detail})"
            ) from None

    def _unpickle(self, data: bytes, compression: int) -> Any:
        if not self.allow_pickle or self._secret is None:
            raise UnsafePayloadError(
                "refused a pickle value: pickle is off (cache.allow_pickle=false)"
            )
        header = data[:HEADER_LEN]
        signature = data[HEADER_LEN : HEADER_LEN + SIGNATURE_LEN]
        payload = data[HEADER_LEN + SIGNATURE_LEN :]
        if not hmac.compare_digest(signature, self._sign(header + payload)):
            raise UnsafePayloadError("refused a pickle value whose HMAC signature does not match")
        inflated = self._inflate(payload, compression)
        try:
            return pickle.loads(inflated)  # signature checked above
        except Exception as exc:  # signed by us, yet it cannot be rebuilt (class gone...)
            raise SerializationError(
                f"signed pickle value does not load ({type(exc).__name__})"
            ) from None

    def _sign(self, data: bytes) -> bytes:
        assert self._secret is not None
        return hmac.new(self._secret, data, hashlib.sha256).digest()

    def _inflate(self, payload: bytes, compression: int) -> bytes:
        if compression == COMPRESS_NONE:
            return payload
        if compression == COMPRESS_ZLIB:
            cap = self.max_value_bytes
            inflater = zlib.decompressobj()
            try:
                out = inflater.decompress(payload, cap + 1)
            except zlib.error as exc:
                raise CorruptValueError(f"stored value is damaged: {exc}") from None
            if len(out) > cap or inflater.unconsumed_tail:
                raise CorruptValueError(
                    f"stored value inflates past cache.max_value_bytes ({cap:,} bytes); "
                    "refused"
                )
            if not inflater.eof:
                raise CorruptValueError("stored value is damaged: compressed data is truncated")
            return out
        raise SerializationError(f"stored value uses an unknown compression {chr(compression)!r}")


def _canonical(tagged: Any) -> Any:
    """Tagged data with set members and non-string-key maps in a fixed order."""
    if type(tagged) is list:
        return [_canonical(v) for v in tagged]
    if type(tagged) is not dict:
        return tagged
    if TAG in tagged:
        tag, *payload = tagged[TAG]
        if tag in ("set", "frozenset", "map"):
            items = [_canonical(v) for v in payload[0]]
            items.sort(key=lambda v: orjson.dumps(v, option=orjson.OPT_SORT_KEYS))
            return {TAG: [tag, items]}
        return {TAG: [tag, *(_canonical(v) for v in payload)]}
    return {k: _canonical(v) for k, v in tagged.items()}


def stable_digest(value: Any) -> str:
    """A digest of ``value`` that is the same in every process and run (no ``hash()``).

    Sets are ordered by their encoded members, so string hash randomisation cannot change it.
    """
    try:
        data = orjson.dumps(_canonical(_tag(value)), option=orjson.OPT_SORT_KEYS)
    except (TypeError, ValueError) as exc:
        raise SerializationError(f"cannot build a cache key from arguments: {exc}") from exc
    return hashlib.sha256(data).hexdigest()[:32]
