"""The `toxiproxy` adapter: link faults on a Toxiproxy the user runs (its API and proxies).

The scenario says which proxies carry which link, and which side of each proxy is the client
site (so "east->west" maps to the upstream or downstream stream). A cut in both directions
disables the proxies; one direction adds a `timeout` toxic (holds every byte, never closes);
degradations add the toxic asked for. kafkadrill only ever removes what it added itself: its
toxics carry a `kd-` name, and heal re-enables only the proxies it disabled (never a reset of
the user's Toxiproxy).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.base import LinkEffect
from kafkadrill.runtimes.external.adapters.record import Exec, Recorder
from kafkadrill.runtimes.external.config import ProxyRef, ToxiproxySpec
from kafkadrill.runtimes.external.journal import Journal
from kafkadrill.runtimes.shared.toxiproxy import ToxiproxyClient


class RecordingToxiproxy(ToxiproxyClient):
    """A Toxiproxy client that records every state-changing call."""

    def __init__(self, api: str, recorder: Recorder, timeout: float = 5.0) -> None:
        super().__init__(api, timeout)
        self.recorder = recorder
        self.context: tuple[str, str | None] = ("toxiproxy", None)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if method == "GET":
            return super()._call(method, path, body)
        t0 = time.monotonic()
        shown = f"{method} {self.base}{path}" + (f" {body}" if body is not None else "")
        op, target = self.context
        try:
            out = super()._call(method, path, body)
        except TopologyError as exc:
            self.recorder.record(
                Exec("toxiproxy", op, target, shown, False, None, time.monotonic() - t0, str(exc))
            )
            raise
        self.recorder.record(
            Exec("toxiproxy", op, target, shown, True, 200, time.monotonic() - t0, None)
        )
        return out


class ToxiproxyLinks:
    def __init__(
        self,
        spec: ToxiproxySpec,
        recorder: Recorder,
        journal: Journal | None = None,
        by: str = "runner",
    ) -> None:
        self.spec = spec
        self.tp = RecordingToxiproxy(spec.api, recorder)
        self.effects: list[LinkEffect] = []  # applied and not yet restored
        # Each toxic added and proxy disabled is journaled before the call (undo journal).
        self.journal = journal
        self.by = by

    def reachable(self) -> tuple[bool, str]:
        try:
            version = self.tp.version()
        except OSError as exc:
            return False, f"Toxiproxy API {self.spec.api}: {exc}"
        proxies = self.tp.proxies()
        missing = sorted({p.name for link in self.spec.links for p in link.proxies} - set(proxies))
        if missing:
            return False, f"Toxiproxy {self.spec.api} has no proxies {missing}"
        return True, f"Toxiproxy {version} at {self.spec.api}, proxies present"

    def _proxies(self, a: str, b: str) -> list[ProxyRef]:
        for link in self.spec.links:
            if link.sites == frozenset({a, b}):
                return list(link.proxies)
        raise TopologyError(f"no Toxiproxy proxies are configured for link {a}<->{b}")

    def _probe(self, p: ProxyRef) -> str:
        if p.probe:
            return p.probe
        listen = str(self.tp._call("GET", f"/proxies/{p.name}").get("listen", ""))
        host, _, port = listen.rpartition(":")
        if host in ("", "0.0.0.0", "[::]", "::"):
            host = self.spec.api.rpartition(":")[0] or "127.0.0.1"
        return f"{host}:{port}"

    @staticmethod
    def _stream(p: ProxyRef, direction: str) -> list[str]:
        if direction == "both":
            return ["upstream", "downstream"]
        src, _, dst = direction.partition("->")
        src, dst = src.strip(), dst.strip()
        if (src, dst) == (p.client_site, p.server_site):
            return ["upstream"]
        if (src, dst) == (p.server_site, p.client_site):
            return ["downstream"]
        return []

    def apply(
        self, a: str, b: str, direction: str, kind: str, attributes: dict[str, Any]
    ) -> LinkEffect:
        """kind "cut" (disable, or a timeout toxic one way) or a toxic type."""
        proxies = self._proxies(a, b)
        self.tp.context = ("link_cut" if kind == "cut" else f"link_{kind}", f"{a}<->{b}")
        disable = kind == "cut" and direction == "both"
        name = f"kd-{uuid.uuid4().hex[:8]}"
        toxics: list[tuple[str, str]] = []
        disabled: list[str] = []
        touched: list[ProxyRef] = []
        # Registered before the calls: a half-applied effect is restored like any other.
        effect_handle: dict[str, Any] = {"toxics": toxics, "disabled": disabled}
        for p in proxies:
            if disable:
                if self.tp.enabled(p.name):
                    if self.journal is not None:
                        self.journal.did("proxy_disabled", proxy=p.name)
                    self.tp.set_enabled(p.name, False)
                    disabled.append(p.name)
                touched.append(p)
                continue
            streams = self._stream(p, direction)
            for stream in streams:
                tname = f"{name}-{stream}"
                if self.journal is not None:
                    self.journal.did("toxic", proxy=p.name, toxic=tname)
                self.tp.add_toxic(
                    p.name, tname, "timeout" if kind == "cut" else kind, stream, attributes
                )
                toxics.append((p.name, tname))
            if streams:
                touched.append(p)
        done = (
            f"disabled {len(disabled)} proxies"
            if disable
            else f"{kind} {attributes} on {len(toxics)} proxy stream(s)"
        )
        effect = LinkEffect(
            kind=kind,
            paths=tuple(p.name for p in touched),
            probes=tuple(sorted({self._probe(p) for p in touched})),
            detail=f"{done} via Toxiproxy {self.spec.api} (link {a}<->{b}, {direction})",
            handle=effect_handle,
        )
        self.effects.append(effect)
        return effect

    def in_force(self, effect: LinkEffect) -> tuple[bool, str]:
        toxics, disabled = effect.handle["toxics"], effect.handle["disabled"]
        missing = [f"{p}/{n}" for p, n in toxics if n not in {t["name"] for t in self.tp.toxics(p)}]
        enabled = [p for p in disabled if self.tp.enabled(p)]
        total = len(toxics) + len(disabled)
        if not total:
            return False, "no configured proxy carries this link/direction"
        ok = not missing and not enabled
        return ok, (
            f"{total - len(missing) - len(enabled)}/{total} proxy paths affected"
            + (f"; missing toxics {missing}" if missing else "")
            + (f"; still enabled {enabled}" if enabled else "")
        )

    def restore(self, effect: LinkEffect) -> str:
        toxics, disabled = effect.handle["toxics"], effect.handle["disabled"]
        self.tp.context = ("link_restore", None)
        for proxy, name in toxics:
            if name in {t["name"] for t in self.tp.toxics(proxy)}:
                self.tp.remove_toxic(proxy, name)
            if self.journal is not None:  # removed, or found gone
                self.journal.undone("toxic", self.by, proxy=proxy, toxic=name)
        for proxy in disabled:
            self.tp.set_enabled(proxy, True)
            if self.journal is not None:
                self.journal.undone("proxy_disabled", self.by, proxy=proxy)
        self.effects = [e for e in self.effects if e is not effect]
        return f"removed {len(toxics)} toxic(s), re-enabled {len(disabled)} proxies"

    def restore_all(self) -> list[str]:
        done = []
        for effect in list(self.effects):
            done.append(self.restore(effect))
        return done
