"""Value encoding: exact round trips, compression, codec header, pickle opt-in, stable keys."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import subprocess
import sys
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qhub.cache.serializer import Serializer, stable_digest
from qhub.exceptions import SerializationError, UnsafePayloadError

json_values = st.recursive(  # integers orjson holds natively: int64 .. uint64
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4)
    # a dict holding our tag key is tagged on purpose (escaped), so it is not "plain"
    | st.dictionaries(st.text().filter(lambda k: k != "__qh__"), inner, max_size=4),
    max_leaves=20,
)
rich_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.binary()
    | st.decimals(allow_nan=False) | st.uuids() | st.dates()
    | st.datetimes(timezones=st.none() | st.just(dt.timezone.utc)),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(st.text() | st.integers(), inner, max_size=3)
    | st.frozensets(st.integers() | st.text(), max_size=3),
    max_leaves=15,
)


class TestRoundTrip:
    """What goes in comes out, same types."""

    @given(json_values)
    def test_json_values(self, value: Any) -> None:
        """Plain JSON data uses the plain codec and round-trips."""
        data = Serializer(compress_threshold=None).dumps(value)
        assert data[:4] == b"Q\x01j-"
        assert Serializer().loads(data) == value

    @given(rich_values)
    def test_rich_values(self, value: Any) -> None:
        """Tagged types round-trip to equal values (hypothesis-generated)."""
        s = Serializer()
        assert s.loads(s.dumps(value)) == value

    def test_types_preserved(self) -> None:
        """Types are exact, not merely equal (tuple is not list, date is not datetime)."""
        value = {"t": (1, 2), "d": dt.date(2020, 1, 2), "s": {1}, "dec": Decimal("1.10")}
        got = Serializer().loads(Serializer().dumps(value))
        assert [type(v) for v in got.values()] == [tuple, dt.date, set, Decimal]
        assert str(got["dec"]) == "1.10"

    def test_unsupported(self) -> None:
        """An unknown type names itself in the error."""
        with pytest.raises(SerializationError, match="complex"):
            Serializer().dumps(1j)


class TestCompression:
    """Payloads above the threshold are zlib-compressed; the header says so."""

    @pytest.mark.parametrize(("size", "flag"), [(1024, b"-"), (1025, b"z")])
    def test_threshold(self, size: int, flag: bytes) -> None:
        """Exactly at the threshold: raw; one byte more: compressed."""
        value = "a" * (size - 2)  # JSON adds two quotes
        data = Serializer(compress_threshold=1024).dumps(value)
        assert data[3:4] == flag
        assert Serializer().loads(data) == value

    def test_incompressible_kept_raw(self) -> None:
        """Compression is skipped when it does not make the payload smaller."""
        value = os.urandom(12).hex()  # 26 JSON bytes; zlib's framing alone makes it longer
        data = Serializer(compress_threshold=10).dumps(value)
        assert data[3:4] == b"-"
        assert Serializer().loads(data) == value

    def test_damaged_bytes(self) -> None:
        """Truncated compressed bytes raise SerializationError, not zlib.error."""
        data = Serializer(compress_threshold=10).dumps("b" * 500)
        with pytest.raises(SerializationError, match="damaged"):
            Serializer().loads(data[:-5])
        with pytest.raises(SerializationError, match="bad header"):
            Serializer().loads(b"{}")


class TestPickle:
    """Pickle only with an explicit opt-in and a valid HMAC."""

    def test_refused_by_default(self) -> None:
        """Raw pickles and our pickle codec are both refused without the opt-in."""
        with pytest.raises(UnsafePayloadError):
            Serializer().loads(pickle.dumps({"a": 1}))
        signed = Serializer(allow_pickle=True, pickle_secret="k").dumps(1j)
        with pytest.raises(UnsafePayloadError):
            Serializer().loads(signed)

    def test_needs_secret(self) -> None:
        """allow_pickle without a secret is a clear error."""
        with pytest.raises(SerializationError, match="pickle_secret"):
            Serializer(allow_pickle=True)

    def test_tampered_payload(self) -> None:
        """One flipped byte after signing is detected before unpickling."""
        s = Serializer(allow_pickle=True, pickle_secret="k", compress_threshold=None)
        data = bytearray(s.dumps(1j))
        data[-2] ^= 1
        with pytest.raises(UnsafePayloadError, match="signature"):
            s.loads(bytes(data))
        assert s.loads(s.dumps(2j)) == 2j

    def test_json_types_never_pickled(self) -> None:
        """With pickle allowed, JSON-able values still use the JSON codecs."""
        s = Serializer(allow_pickle=True, pickle_secret="k")
        assert s.dumps({"a": (1,)})[2:3] == b"t"


class TestStableDigest:
    """Cache keys built from arguments are the same in every process."""

    def test_same_across_processes(self) -> None:
        """Different PYTHONHASHSEEDs (set order) give the same digest."""
        code = (
            "from qhub.cache.serializer import stable_digest;"
            "print(stable_digest([{'b', 'a', 'c', 'dd'}, {'k': frozenset({'x', 'y'})}, (1, 'z')]))"
        )
        digests = {
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True,
                env={**os.environ, "PYTHONHASHSEED": seed},
            ).stdout.strip()
            for seed in ("1", "2", "3")
        }
        assert len(digests) == 1
        assert digests == {
            stable_digest([{"a", "b", "c", "dd"}, {"k": frozenset({"y", "x"})}, (1, "z")])
        }

    def test_distinguishes_types(self) -> None:
        """A tuple and a list, or 1 and "1", give different digests."""
        assert stable_digest((1, 2)) != stable_digest([1, 2])
        assert stable_digest(1) != stable_digest("1")
        assert stable_digest(uuid.UUID(int=1)) == stable_digest(uuid.UUID(int=1))
