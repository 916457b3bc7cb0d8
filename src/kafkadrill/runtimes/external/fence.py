"""The external runtime's side of the failover's fence (runtimes.base.FencesWrites): the
user's `fence` / `unfence` commands, or deny ACLs created with the cluster's own client
settings. Journaled before it is applied, so that `kafkadrill heal` lifts a fence a killed
runner left in force. Also the failback's topic rewrite through the user's command
(runtimes.base.RewritesTopicsByCommand), e.g. Cluster Linking's truncate-and-restore."""

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

    def _run_fence_command(self, op: str, cluster: str, topic: str, bootstrap: str) -> str | None:
        """Run the user's `fence` / `unfence` command; None when none is configured."""
        spec = getattr(self.spec.commands_for(cluster), op)
        if spec is None:
            return None
        values = {**self._values(cluster), "topic": topic, "bootstrap": bootstrap}
        res = run_command(spec, values, recorder=self.recorder, operation=op, target=cluster)
        return f"ran {res.shown} (exit {res.exit})"

    def fence_writes(self, cluster: str, topic: str, bootstrap: str) -> str:
        """Journaled first, so that `kafkadrill heal` lifts a fence a killed runner left."""
        self.journal.did("fence", cluster=cluster, topic=topic, bootstrap=bootstrap)
        done = self._run_fence_command("fence", cluster, topic, bootstrap)
        if done is None:
            self.clients.deny_writes(bootstrap, topic)
            done = f"CreateAcls on {cluster}: ALLOW ALL, DENY WRITE on {topic} for User:*"
        return done

    def unfence_writes(self, cluster: str, topic: str, bootstrap: str) -> str:
        done = self._run_fence_command("unfence", cluster, topic, bootstrap)
        if done is None:
            removed = self.clients.allow_writes(bootstrap, topic)
            done = f"DeleteAcls on {cluster}: {removed} removed"
        self.journal.undone("fence", cluster=cluster, topic=topic)
        return done

    def rewrite_topic_by_command(
        self, strategy: str, original: str, current: str, topic: str
    ) -> str | None:
        """Run `topic_<strategy>` for the original's topic; None: none configured. Not
        journaled: a discarded tail cannot be undone, heal has nothing to lift."""
        spec = getattr(self.spec.commands_for(original), f"topic_{strategy}")
        if spec is None:
            return None
        values = {
            **self._values(original),
            "topic": topic,
            "source": current,
            "target": original,
            "bootstrap": self.bootstrap(original),
        }
        res = run_command(
            spec, values, recorder=self.recorder, operation=f"topic_{strategy}", target=original
        )
        return f"ran {res.shown} (exit {res.exit})"

    def bootstrap(self, cluster: str, from_site: str | None = None) -> str:
        raise NotImplementedError
