"""Payload encoding: round trip, padding, foreign records, headers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafkadrill.workload.payload import Decoded, decode, encode, headers, message_id

names = st.text(
    alphabet=st.characters(blacklist_characters="|:", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
)


@given(names, names, st.integers(0, 2**40), st.integers(0, 2**63 - 1), st.integers(0, 4096))
def test_round_trip(run: str, producer: str, seq: int, ns: int, size: int) -> None:
    value = encode(run, producer, seq, ns, size)
    assert len(value) >= size
    assert decode(value) == Decoded(run, producer, seq, ns, f"{producer}:{seq}")


def test_exact_format_and_padding() -> None:
    v = encode("r1", "p0", 7, 123, 40)
    assert v.startswith(b"kd1|r1|p0|7|123|") and len(v) == 40
    assert encode("r1", "p0", 7, 123, 0) == b"kd1|r1|p0|7|123|"  # never shorter than the prefix


@pytest.mark.parametrize(
    "value",
    [None, b"", b"hello", b"kd1|", b"kd1|r|p|x|1|", b"kd1|r|p|1|", b"kd1||p|1|2|", b"kd2|r|p|1|2|",
     b"kd1|r|p:q|1|2|", b"kd1|r|\xff|1|2|"],
)  # fmt: skip
def test_foreign_or_malformed_is_none(value: bytes | None) -> None:
    assert decode(value) is None


@pytest.mark.parametrize("bad", ["", "a|b", "a:b", "x" * 201])
def test_names_that_would_break_the_format_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        encode(bad, "p0", 1, 1, 10)
    with pytest.raises(ValueError):
        encode("r", bad, 1, 1, 10)


def test_headers() -> None:
    assert headers("east", "primary", message_id("p0", 3)) == [
        ("kd-origin-site", b"east"),
        ("kd-origin-cluster", b"primary"),
        ("kd-id", b"p0:3"),
    ]
