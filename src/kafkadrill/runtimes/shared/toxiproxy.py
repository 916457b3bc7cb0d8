"""A minimal Toxiproxy REST client (stdlib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from kafkadrill.errors import TopologyError


@dataclass(frozen=True)
class ProxySpec:
    name: str
    listen: str  # host:port
    upstream: str  # host:port
    # Which site the connecting side and the serving side are in: "upstream" toxics act on
    # client->server bytes, "downstream" on server->client bytes.
    client_site: str
    server_site: str

    def stream_for(self, from_site: str, to_site: str) -> str | None:
        """The toxic stream carrying bytes from `from_site` to `to_site` through this proxy."""
        if (from_site, to_site) == (self.client_site, self.server_site):
            return "upstream"
        if (from_site, to_site) == (self.server_site, self.client_site):
            return "downstream"
        return None


def partition_streams(direction: str, inside_client: bool) -> list[str]:
    """The streams of a proxy across an AZ partition to cut, given whether its client end is
    inside the AZ: `both` cuts both; `isolate-out` what leaves the AZ; `isolate-in` what
    enters it."""
    if direction == "both":
        return ["upstream", "downstream"]
    if direction == "isolate-out":  # nothing leaves the AZ
        return ["upstream"] if inside_client else ["downstream"]
    return ["downstream"] if inside_client else ["upstream"]  # isolate-in


class ToxiproxyClient:
    def __init__(self, api: str, timeout: float = 5.0) -> None:
        self.base = f"http://{api}"
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise TopologyError(f"toxiproxy {method} {path}: HTTP {exc.code}: {detail}") from exc
        except OSError as exc:
            raise TopologyError(f"toxiproxy {method} {path}: {exc}") from exc
        return json.loads(raw) if raw.strip() else None

    def version(self) -> str:
        req = urllib.request.Request(self.base + "/version")
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            return resp.read().decode().strip()

    def ping(self) -> bool:
        try:
            self.version()
            return True
        except OSError:
            return False

    def create(self, spec: ProxySpec) -> None:
        self._call(
            "POST",
            "/proxies",
            {"name": spec.name, "listen": spec.listen, "upstream": spec.upstream, "enabled": True},
        )

    def proxies(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/proxies")
        return result

    def set_enabled(self, name: str, enabled: bool) -> None:
        self._call("POST", f"/proxies/{name}", {"enabled": enabled})

    def enabled(self, name: str) -> bool:
        return bool(self._call("GET", f"/proxies/{name}").get("enabled"))

    def add_toxic(
        self,
        proxy: str,
        name: str,
        type_: str,
        stream: str,
        attributes: dict[str, Any],
        toxicity: float = 1.0,
    ) -> None:
        self._call(
            "POST",
            f"/proxies/{proxy}/toxics",
            {
                "name": name,
                "type": type_,
                "stream": stream,
                "toxicity": toxicity,
                "attributes": attributes,
            },
        )

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/proxies/{proxy}/toxics")
        return result

    def reset(self) -> None:
        """Enable every proxy and remove every toxic (heal everything)."""
        self._call("POST", "/reset")
