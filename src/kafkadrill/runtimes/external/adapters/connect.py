"""The `connect` adapter: MirrorMaker 2 on Kafka Connect, controlled over its REST API.

stop = pause every connector of the flow (and wait for PAUSED), start = resume (and restart
failed tasks), state = RUNNING only if every connector and task runs. Each HTTP call is
recorded with its status and body.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.external.adapters.record import Exec, Recorder
from kafkadrill.runtimes.external.config import ConnectSpec, connector_path, resolve_config


class ConnectAdapter:
    def __init__(self, spec: ConnectSpec, flow: str, recorder: Recorder) -> None:
        self.spec = spec
        self.flow = flow
        self.recorder = recorder
        self.base = spec.url.rstrip("/")

    def _headers(self) -> dict[str, str]:
        h = resolve_config(self.spec.headers, field="external.flows.connect.headers")
        self.recorder.add_secrets(v for v in h.values() if len(v) >= 6)
        return {"Content-Type": "application/json", **h}

    def call(self, method: str, path: str, operation: str, record: bool = True) -> tuple[int, Any]:
        url = self.base + path
        req = urllib.request.Request(url, method=method, headers=self._headers())
        if method in ("PUT", "POST"):
            req.data = b""
        t0 = time.monotonic()
        status: int | None
        try:
            with urllib.request.urlopen(req, timeout=self.spec.timeout_seconds) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except OSError as exc:
            self.recorder.record(
                Exec(
                    "connect",
                    operation,
                    self.flow,
                    f"{method} {url}",
                    False,
                    None,
                    time.monotonic() - t0,
                    str(exc),
                )
            )
            raise TopologyError(f"Kafka Connect {method} {url}: {exc}") from exc
        text = raw.decode(errors="replace")
        ok = 200 <= status < 300
        if record or not ok:
            self.recorder.record(
                Exec(
                    "connect",
                    operation,
                    self.flow,
                    f"{method} {url}",
                    ok,
                    status,
                    time.monotonic() - t0,
                    text,
                )
            )
        if not ok:
            raise TopologyError(f"Kafka Connect {method} {url}: HTTP {status}: {text[:300]}")
        try:
            return status, json.loads(text) if text.strip() else None
        except ValueError:
            return status, text

    def state(self, record: bool = False) -> str:
        """running | paused | down (a connector or task failed, or missing)."""
        states: list[str] = []
        for name in self.spec.connectors:
            try:
                _s, body = self.call("GET", connector_path(name, "status"), "flow_state", record)
            except TopologyError:
                return "down"
            conn = (body or {}).get("connector", {}).get("state", "UNKNOWN")
            states.append(conn)
            states += [t.get("state", "UNKNOWN") for t in (body or {}).get("tasks", [])]
        if states and all(s == "RUNNING" for s in states):
            return "running"
        if states and all(s in ("PAUSED", "STOPPED") for s in states):
            return "paused"
        return "down"

    def _wait(self, want: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        state = self.state()
        while state != want and time.monotonic() < deadline:
            time.sleep(0.5)
            state = self.state()
        return state

    def pause(self, timeout: float = 20.0) -> str:
        for name in self.spec.connectors:
            self.call("PUT", connector_path(name, "pause"), "flow_stop")
        state = self._wait("paused", timeout)
        return f"paused {len(self.spec.connectors)} connector(s) on {self.base} (now {state})"

    def resume(self, timeout: float = 30.0) -> str:
        for name in self.spec.connectors:
            self.call("PUT", connector_path(name, "resume"), "flow_start")
            # Tasks that failed while the flow was cut stay FAILED until restarted.
            self.call(
                "POST",
                connector_path(name, "restart") + "?includeTasks=true&onlyFailed=true",
                "flow_start",
            )
        state = self._wait("running", timeout)
        return f"resumed {len(self.spec.connectors)} connector(s) on {self.base} (now {state})"
