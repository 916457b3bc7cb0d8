"""A small JSON-over-HTTP client for the loopback REST APIs kafkadrill drives (Kafka Connect,
the schema registry): one call, one readiness wait, errors as TopologyError."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from kafkadrill.errors import TopologyError

#: Seconds one call may take (the services answer in milliseconds when they are up).
CALL_TIMEOUT_S = 10.0


class JsonRest:
    """The API at `base` (e.g. http://127.0.0.1:20383); `label` names it in errors."""

    label = "REST"

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def call(self, method: str, path: str, body: object | None = None) -> tuple[int, Any]:
        """(HTTP status, parsed JSON or text); TopologyError when nothing answers."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=CALL_TIMEOUT_S) as resp:
                raw, status = resp.read(), resp.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        except (OSError, urllib.error.URLError) as exc:
            raise TopologyError(f"{self.label} {method} {self.base}{path}: {exc}") from exc
        try:
            return status, (json.loads(raw) if raw else None)
        except ValueError:
            return status, raw.decode(errors="replace")

    def ok(self, method: str, path: str, body: object | None = None) -> Any:
        status, parsed = self.call(method, path, body)
        if status >= 300:
            raise TopologyError(
                f"{self.label} {method} {self.base}{path}: HTTP {status}: {str(parsed)[:300]}"
            )
        return parsed

    def wait_for(self, path: str, timeout: float, check_alive: Callable[[], None]) -> float:
        """Wait until GET `path` answers 200 (`check_alive` raises if the process died);
        returns the seconds waited."""
        t0 = time.monotonic()
        last = ""
        while time.monotonic() - t0 < timeout:
            check_alive()
            try:
                status, body = self.call("GET", path)
                if status == 200:
                    return time.monotonic() - t0
                last = f"HTTP {status}: {str(body)[:200]}"
            except TopologyError as exc:
                last = str(exc)
            time.sleep(0.5)
        raise TopologyError(f"{self.label} at {self.base} not ready after {timeout:.0f} s: {last}")
