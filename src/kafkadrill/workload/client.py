"""What producers and consumers share: a thread that can be redirected and paused."""

from __future__ import annotations

import threading
from collections.abc import Callable

from kafkadrill.history import Ev, HistoryWriter

BootstrapFn = Callable[[str, str], str]  # (cluster, client site) -> bootstrap servers


class ClientThread(threading.Thread):
    """A workload client on its own thread.

    `redirect()` and `paused` are driven from other threads (runbooks, faults) and applied by
    the client thread itself, because Kafka clients are not safe to reconfigure across threads.
    """

    role = "client"  # "producer" | "consumer" in the history

    def __init__(
        self,
        client_name: str,
        cluster: str,
        site: str,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        stop: threading.Event,
    ) -> None:
        super().__init__(name=f"{self.role}-{client_name}", daemon=True)
        self.client_name = client_name
        self.history = history
        self.bootstrap = bootstrap
        self.stop_event = stop
        self.cluster = cluster
        self.site = site  # changes on failover: the application now runs elsewhere
        self.paused = threading.Event()  # e.g. the client's own region is down
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._redirect_to: str | None = None
        self._redirect_site = site

    def redirect(self, cluster: str, site: str | None = None) -> None:
        with self._lock:
            self._redirect_to = cluster
            self._redirect_site = site or self.site

    def take_redirect(self) -> tuple[str, str] | None:
        """The pending (cluster, site) to move to, if it differs from the current cluster."""
        with self._lock:
            target, self._redirect_to = self._redirect_to, None
            site = self._redirect_site
        if target is None or target == self.cluster:
            return None
        return target, site

    def switch(self, cluster: str, site: str, group: str | None = None) -> None:
        """Record and apply a move to `cluster` (call from the client thread)."""
        self.history.append(
            Ev.REDIRECT,
            client=self.client_name,
            role=self.role,
            group=group,
            from_cluster=self.cluster,
            to_cluster=cluster,
        )
        self.cluster = cluster
        self.site = site

    def run(self) -> None:
        try:
            self.work()
        except BaseException as exc:  # recorded; the runner turns it into an error verdict
            self.error = exc
            if not self.history.closed:  # a run that already ended keeps its last word
                self.history.append(Ev.CLIENT_ERROR, client=self.client_name, error=repr(exc))

    def work(self) -> None:
        raise NotImplementedError
