"""A Kafka-protocol ping: proves a network path works (or is really cut), without a client.

Sends an ApiVersions v0 request and waits for the response: a cut link refuses or stalls, a
latency toxic shows in the round trip. Faults use it to verify that they took effect.
"""

from __future__ import annotations

import socket
import struct
import time

_CLIENT_ID = b"kafkadrill-probe"
# size | api_key=18 (ApiVersions) | api_version=0 | correlation_id | client_id (int16 + bytes)
_BODY = struct.pack(">hhih", 18, 0, 7, len(_CLIENT_ID)) + _CLIENT_ID
_REQUEST = struct.pack(">i", len(_BODY)) + _BODY


def kafka_ping(address: str, timeout: float = 2.0) -> float | None:
    """Round-trip seconds of one ApiVersions request to `host:port`, or None if it failed."""
    host, _, port = address.rpartition(":")
    t0 = time.monotonic()
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            sock.settimeout(max(0.05, timeout - (time.monotonic() - t0)))
            sock.sendall(_REQUEST)
            header = _recv_exact(sock, 8)
            if header is None:
                return None
            _size, correlation = struct.unpack(">ii", header)
            if correlation != 7:
                return None
    except OSError:
        return None
    return time.monotonic() - t0


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf
