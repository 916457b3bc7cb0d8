"""MM2 checkpoint decoding and offset translation, from hand-built bytes."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafkadrill.runbooks.offsets import (
    Checkpoint,
    decode_checkpoint,
    decode_checkpoint_key,
    decode_checkpoint_value,
    encode_checkpoint,
    encode_checkpoint_key,
    encode_checkpoint_value,
    latest_checkpoints,
    translate,
)

# group "billing", topic "primary.orders", partition 2 - written out byte by byte.
KEY = b"\x00\x07billing\x00\x0eprimary.orders\x00\x00\x00\x02"
# version 0, upstream 1000, downstream 987, metadata "" (length 0).
VALUE = b"\x00\x00\x00\x00\x00\x00\x00\x00\x03\xe8\x00\x00\x00\x00\x00\x00\x03\xdb\x00\x00"


def test_decode_hand_built_bytes() -> None:
    assert decode_checkpoint_key(KEY) == ("billing", "primary.orders", 2)
    assert decode_checkpoint_value(VALUE) == (1000, 987, "")
    assert decode_checkpoint(KEY, VALUE) == Checkpoint("billing", "primary.orders", 2, 1000, 987)


def test_encode_matches_hand_built_bytes() -> None:
    assert encode_checkpoint_key("billing", "primary.orders", 2) == KEY
    assert encode_checkpoint_value(1000, 987) == VALUE


def test_metadata_and_unicode() -> None:
    key = encode_checkpoint_key("grüppe", "primary.bestellungen", 0)
    assert decode_checkpoint_key(key) == ("grüppe", "primary.bestellungen", 0)
    value = VALUE[:-2] + b"\x00\x03abc"
    assert decode_checkpoint_value(value) == (1000, 987, "abc")
    # A null metadata string (length -1) reads as empty.
    assert decode_checkpoint_value(VALUE[:-2] + b"\xff\xff") == (1000, 987, "")


@pytest.mark.parametrize(
    ("data", "expect"),
    [
        (KEY[:5], "truncated while reading group"),
        (KEY[:-1], "truncated while reading partition"),
        (KEY + b"\x00", "1 unexpected trailing bytes"),
        (b"\xff\xfe" + KEY[2:], "invalid group length -2"),
        (b"\x00\x02\xff\xfe" + KEY[11:], "not valid UTF-8"),
        (b"\x00\x01g\x00\x01t\xff\xff\xff\xff", "negative partition"),
        (b"", "truncated"),
    ],
)
def test_malformed_key(data: bytes, expect: str) -> None:
    with pytest.raises(ValueError, match=expect):
        decode_checkpoint_key(data)


@pytest.mark.parametrize(
    ("data", "expect"),
    [
        (b"\x00\x01" + VALUE[2:], "unsupported version 1"),
        (VALUE[:10], "truncated while reading downstream offset"),
        (VALUE + b"x", "trailing"),
        (VALUE[:-2] + b"\x00\x05ab", "truncated while reading metadata"),
    ],
)
def test_malformed_value(data: bytes, expect: str) -> None:
    with pytest.raises(ValueError, match=f"checkpoint value: .*{expect}"):
        decode_checkpoint_value(data)


def test_not_bytes() -> None:
    with pytest.raises(ValueError, match="expected bytes"):
        decode_checkpoint_key("billing")  # type: ignore[arg-type]


def _rec(group: str, topic: str, part: int, up: int, down: int) -> tuple[bytes, bytes]:
    return encode_checkpoint(Checkpoint(group, topic, part, up, down))


def test_latest_checkpoints_last_wins_and_skips_garbage() -> None:
    records: list[tuple[bytes | None, bytes | None]] = [
        _rec("billing", "primary.orders", 0, 10, 9),
        _rec("billing", "primary.orders", 1, 20, 18),
        _rec("audit", "primary.orders", 0, 5, 5),
        (encode_checkpoint_key("billing", "primary.orders", 0), None),  # tombstone
        (b"\x00", b"garbage"),
        (None, VALUE),
        _rec("billing", "primary.orders", 0, 30, 27),
    ]
    latest = latest_checkpoints(records)
    assert latest.tombstones == 1 and latest.malformed == 2
    assert "truncated" in latest.errors[0]
    assert latest[("billing", "primary.orders", 0)].downstream_offset == 27
    assert translate(latest, "billing") == {("primary.orders", 0): 27, ("primary.orders", 1): 18}
    assert translate(latest, "audit") == {("primary.orders", 0): 5}
    assert translate(latest, "nobody") == {}


names = st.text(max_size=40)
i64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(group=names, topic=names, partition=st.integers(0, 2**31 - 1), up=i64, down=i64, meta=names)
def test_round_trip(group: str, topic: str, partition: int, up: int, down: int, meta: str) -> None:
    cp = Checkpoint(group, topic, partition, up, down, meta)
    key, value = encode_checkpoint(cp)
    assert decode_checkpoint(key, value) == cp
    # Length prefixes are int16 big-endian byte counts of the UTF-8 text.
    assert struct.unpack(">h", key[:2])[0] == len(group.encode())


@given(st.binary(max_size=64))
def test_random_bytes_never_crash_unexpectedly(data: bytes) -> None:
    for fn in (decode_checkpoint_key, decode_checkpoint_value):
        with contextlib.suppress(ValueError):  # a ValueError is the one allowed failure
            fn(data)
