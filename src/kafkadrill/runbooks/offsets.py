"""MirrorMaker 2 checkpoint decoding and consumer-offset translation (pure, no Kafka).

MM2's MirrorCheckpointConnector writes `<source>.checkpoints.internal` on the target cluster
(partition 0). Each record maps a consumer group's committed offset on the source cluster
(upstream) to the equivalent offset on the target (downstream). All integers big-endian.

    key   = group:     int16 length + UTF-8
            topic:     int16 length + UTF-8   (the *renamed* target topic, e.g. "primary.orders")
            partition: int32
    value = version:   int16 (0)
            upstream offset:   int64
            downstream offset: int64
            metadata:  int16 length + UTF-8

The wire format mirrors Kafka's `Checkpoint` class; a length of -1 means a null string (Kafka's
nullable-string convention), which we read as "" for metadata and reject for group/topic.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CHECKPOINT_VERSION = 0

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")

CheckpointKey = tuple[str, str, int]  # (group, topic, partition)


@dataclass(frozen=True)
class Checkpoint:
    group: str
    topic: str  # the target-cluster topic name ("primary.orders" under DefaultReplicationPolicy)
    partition: int
    upstream_offset: int
    downstream_offset: int
    metadata: str = ""
    # When MM2 wrote the checkpoint (record timestamp, ms); not part of the encoding.
    emitted_ms: int | None = None

    @property
    def key(self) -> CheckpointKey:
        return (self.group, self.topic, self.partition)


class CheckpointSet(dict[CheckpointKey, Checkpoint]):
    """`latest_checkpoints` result: a plain dict plus counts of what was skipped (evidence)."""

    def __init__(self) -> None:
        super().__init__()
        self.tombstones = 0
        self.malformed = 0
        self.errors: list[str] = []


class _Reader:
    """Cursor over bytes that turns every short read into a ValueError naming what was read."""

    def __init__(self, data: bytes, what: str) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValueError(f"{what}: expected bytes, got {type(data).__name__}")
        self.data = bytes(data)
        self.pos = 0
        self.what = what

    def _take(self, n: int, name: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise ValueError(
                f"{self.what}: truncated while reading {name} at byte {self.pos} "
                f"(need {n} bytes, have {len(self.data) - self.pos}; total {len(self.data)})"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def i16(self, name: str) -> int:
        return int(_I16.unpack(self._take(2, name))[0])

    def i32(self, name: str) -> int:
        return int(_I32.unpack(self._take(4, name))[0])

    def i64(self, name: str) -> int:
        return int(_I64.unpack(self._take(8, name))[0])

    def string(self, name: str, *, nullable: bool = False) -> str:
        length = self.i16(f"{name} length")
        if length == -1 and nullable:
            return ""
        if length < 0:
            raise ValueError(f"{self.what}: invalid {name} length {length} at byte {self.pos - 2}")
        raw = self._take(length, name)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{self.what}: {name} is not valid UTF-8 ({e})") from None

    def done(self) -> None:
        if self.pos != len(self.data):
            raise ValueError(
                f"{self.what}: {len(self.data) - self.pos} unexpected trailing bytes "
                f"after byte {self.pos}"
            )


def _enc_string(s: str, name: str) -> bytes:
    raw = s.encode("utf-8")
    if len(raw) > 0x7FFF:
        raise ValueError(f"{name} too long for an int16 length ({len(raw)} bytes)")
    return _I16.pack(len(raw)) + raw


def decode_checkpoint_key(data: bytes) -> CheckpointKey:
    """Decode a checkpoint record key into (group, topic, partition)."""
    r = _Reader(data, "checkpoint key")
    group = r.string("group")
    topic = r.string("topic")
    partition = r.i32("partition")
    r.done()
    if partition < 0:
        raise ValueError(f"checkpoint key: negative partition {partition}")
    return group, topic, partition


def decode_checkpoint_value(data: bytes) -> tuple[int, int, str]:
    """Decode a checkpoint record value into (upstream_offset, downstream_offset, metadata)."""
    r = _Reader(data, "checkpoint value")
    version = r.i16("version")
    if version != CHECKPOINT_VERSION:
        raise ValueError(
            f"checkpoint value: unsupported version {version} (known: {CHECKPOINT_VERSION})"
        )
    upstream = r.i64("upstream offset")
    downstream = r.i64("downstream offset")
    metadata = r.string("metadata", nullable=True)
    # MM2 (KIP-545) may append fields in later versions; version 0 has none, so be strict.
    r.done()
    return upstream, downstream, metadata


def decode_checkpoint(key: bytes, value: bytes) -> Checkpoint:
    group, topic, partition = decode_checkpoint_key(key)
    upstream, downstream, metadata = decode_checkpoint_value(value)
    return Checkpoint(group, topic, partition, upstream, downstream, metadata)


def encode_checkpoint_key(group: str, topic: str, partition: int) -> bytes:
    return _enc_string(group, "group") + _enc_string(topic, "topic") + _I32.pack(partition)


def encode_checkpoint_value(
    upstream_offset: int, downstream_offset: int, metadata: str = ""
) -> bytes:
    return (
        _I16.pack(CHECKPOINT_VERSION)
        + _I64.pack(upstream_offset)
        + _I64.pack(downstream_offset)
        + _enc_string(metadata, "metadata")
    )


def encode_checkpoint(cp: Checkpoint) -> tuple[bytes, bytes]:
    """(key, value) bytes exactly as MM2 would write them."""
    return (
        encode_checkpoint_key(cp.group, cp.topic, cp.partition),
        encode_checkpoint_value(cp.upstream_offset, cp.downstream_offset, cp.metadata),
    )


def latest_checkpoints(
    records: Iterable[tuple[bytes | None, bytes | None] | tuple[bytes | None, bytes | None, int]],
) -> CheckpointSet:
    """Replay the checkpoints topic in order: the last record per (group, topic, partition) wins.
    A record may carry its timestamp (ms) third: the checkpoint's `emitted_ms`.

    Tombstones (null value) and undecodable records are skipped, not fatal: a compacted topic
    may hold both, and one bad record must not hide every other group's checkpoint. Counts and
    the first few error texts are kept on the result as evidence.
    """
    out = CheckpointSet()
    for rec in records:
        key, value = rec[0], rec[1]
        if value is None:
            out.tombstones += 1
            continue
        try:
            if key is None:
                raise ValueError("checkpoint key: null key")
            cp = decode_checkpoint(key, value)
            if len(rec) > 2:
                cp = dataclasses.replace(cp, emitted_ms=int(rec[2]))  # type: ignore[misc]
        except ValueError as e:
            out.malformed += 1
            if len(out.errors) < 10:
                out.errors.append(str(e))
            continue
        out[cp.key] = cp
    return out


def translate(
    checkpoints: dict[CheckpointKey, Checkpoint], group: str
) -> dict[tuple[str, int], int]:
    """The downstream (target-cluster) offsets `group` should resume from, per (topic, partition).

    Topics are the target names ("primary.orders"). Since Kafka 3.5 MM2 translates
    conservatively, so these may sit up to ~`offset.lag.max` records behind: expect duplicates
    after failover, never skips.
    """
    return {
        (cp.topic, cp.partition): cp.downstream_offset
        for (g, _topic, _partition), cp in sorted(checkpoints.items())
        if g == group
    }


def readiness(
    checkpoints: Mapping[CheckpointKey, Checkpoint],
    groups: Iterable[str],
    partitions: Iterable[tuple[str, int]],
    now_ms: int,
) -> dict[str, dict[str, Any]]:
    """Per group: is there a checkpoint for each of `partitions` (target topic names), and
    how old is the oldest one at `now_ms` (seconds; None when none carries a timestamp)."""
    wanted = sorted(set(partitions))
    out: dict[str, dict[str, Any]] = {}
    for g in groups:
        have = {(cp.topic, cp.partition): cp for key, cp in checkpoints.items() if key[0] == g}
        ages = [
            max(0.0, (now_ms - cp.emitted_ms) / 1000.0)
            for cp in have.values()
            if cp.emitted_ms is not None
        ]
        out[g] = {
            "checkpoints": len(have),
            "missing": [f"{t}-{p}" for t, p in wanted if (t, p) not in have],
            "max_age_s": round(max(ages), 3) if ages else None,
        }
    return out


def not_ready(state: Mapping[str, Mapping[str, Any]], max_age_s: float) -> list[str]:
    """Why the groups in `state` (see :func:`readiness`) fail a `max_age_s` gate ([] = ready)."""
    why: list[str] = []
    for g, s in sorted(state.items()):
        if s["missing"]:
            why.append(f"{g}: no checkpoint for {', '.join(s['missing'])}")
        elif s["max_age_s"] is None:
            why.append(f"{g}: checkpoint age unknown (no record timestamp; gate {max_age_s:g} s)")
        elif s["max_age_s"] > max_age_s:
            why.append(f"{g}: oldest checkpoint {s['max_age_s']:g} s old (gate {max_age_s:g} s)")
    return why
