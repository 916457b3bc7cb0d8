"""The workload and admin clients of the external runtime: each cluster's own settings."""

from __future__ import annotations

from typing import Any

from kafkadrill.workload.access import QUIET, ConfluentClients


class PerClusterClients(ConfluentClients):
    """ConfluentClients whose admin calls use the settings of the cluster addressed."""

    def __init__(self, config: dict[str, str], lookup: Any) -> None:
        super().__init__(config)
        self._lookup = lookup

    def _conf(self, bootstrap: str, **extra: Any) -> dict[str, Any]:
        own = self._lookup(bootstrap)
        conf = own if own is not None else self.config
        return {"bootstrap.servers": bootstrap, **QUIET, **conf, **extra}

    def final_read(
        self, history: Any, bootstrap: str, cluster: str, topics: Any, timeout: float
    ) -> tuple[int, bool]:
        from kafkadrill.workload.consumer import final_read

        own = self._lookup(bootstrap)
        conf = own if own is not None else self.config
        return final_read(history, bootstrap, cluster, topics, timeout, extra=conf)
