"""The external runtime's side of the failover's fence (runtimes.base.FencesWrites): the
user's `fence` / `unfence` commands, or deny ACLs created with the cluster's own client
settings. Journaled before it is applied, so that `kafkadrill heal` lifts a fence a killed
runner left in force."""

from __future__ import annotations

from typing import Any

from kafkadrill.runtimes.external.adapters.command import run_command


class ExternalFence:
    """Mixin of ExternalRuntime (its journal, spec, clients, recorder and `_values`)."""

    journal: Any
    spec: Any
    clients: Any
    recorder: Any

    def _values(self, cluster: str | None = None, node: int | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def _fence_values(self, cluster: str, topic: str, bootstrap: str) -> dict[str, Any]:
        return {**self._values(cluster), "topic": topic, "bootstrap": bootstrap}

    def fence_writes(self, cluster: str, topic: str, bootstrap: str) -> str:
        """Journaled first, so that `kafkadrill heal` lifts a fence a killed runner left."""
        self.journal.did("fence", cluster=cluster, topic=topic, bootstrap=bootstrap)
        spec = self.spec.commands_for(cluster).fence
        if spec is None:
            self.clients.deny_writes(bootstrap, topic)
            return f"CreateAcls on {cluster}: ALLOW ALL, DENY WRITE on {topic} for User:*"
        res = run_command(
            spec,
            self._fence_values(cluster, topic, bootstrap),
            recorder=self.recorder,
            operation="fence",
            target=cluster,
        )
        return f"ran {res.shown} (exit {res.exit})"

    def unfence_writes(self, cluster: str, topic: str, bootstrap: str) -> str:
        spec = self.spec.commands_for(cluster).unfence
        if spec is None:
            done = f"DeleteAcls on {cluster}: {self.clients.allow_writes(bootstrap, topic)} removed"
        else:
            res = run_command(
                spec,
                self._fence_values(cluster, topic, bootstrap),
                recorder=self.recorder,
                operation="unfence",
                target=cluster,
            )
            done = f"ran {res.shown} (exit {res.exit})"
        self.journal.undone("fence", cluster=cluster, topic=topic)
        return done
