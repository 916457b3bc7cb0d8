"""The failover's fence: deny writes on the old primary so that a client that missed the
redirect cannot write there (what split writes are made of).

The method is an ACL (`ConfluentClients.deny_writes`: a DENY WRITE for every principal on
the workload topic; the clusters kafkadrill starts get an authorizer for it). The operator
reaches the old primary out of band (from its own region by default, e.g. a bastion there):
during a partial outage it answers there while the DR side cannot reach it. The fence counts
only once a real write is refused; while the old primary does not answer at all the step keeps
trying until its timeout (a fence is then impossible, and the step fails saying so).
"""

from __future__ import annotations

from typing import Any

from kafkadrill.plan import FencePlan
from kafkadrill.runbooks.steps import RunbookAborted, RunbookContext
from kafkadrill.runtimes.base import FencesWrites

FENCE_KEY = "fence"  # in RunbookContext.results: what to undo at failback or at the end
PROBE_TIMEOUT_SECONDS = 5.0


def fence_writes(ctx: RunbookContext, cluster: str, fence: FencePlan) -> dict[str, Any]:
    """Apply and verify the fence; -> the step's evidence. Raises RunbookAborted on timeout."""
    rt = ctx.runtime
    site = fence.from_site or rt.topology.cluster(cluster).region
    bootstrap = rt.bootstrap(cluster, from_site=site)
    t0 = ctx.clock.monotonic()
    attempts = 0
    last = "no attempt"
    while not ctx.stop.is_set():
        attempts += 1
        try:
            ctx.results[FENCE_KEY] = {"cluster": cluster, "bootstrap": bootstrap}
            how = (
                rt.fence_writes(cluster, ctx.topic, bootstrap)
                if isinstance(rt, FencesWrites)
                else _deny(rt, bootstrap, ctx.topic)
            )
            refused = rt.clients.write_refused(bootstrap, ctx.topic, PROBE_TIMEOUT_SECONDS)
        except Exception as exc:  # the old primary does not answer (yet): keep trying
            refused, last = None, f"{type(exc).__name__}: {exc}"
        else:
            if refused is None:
                raise RunbookAborted(
                    f"the fence does not hold: a probe write to {ctx.topic} on {cluster} was "
                    "accepted after the deny ACL (does the cluster have an ACL authorizer?)"
                )
            if refused != "no answer":
                return {
                    "method": fence.method,
                    "cluster": cluster,
                    "position": fence.position,
                    "from_site": site,
                    "applied": how,
                    "verified": f"a probe write was refused: {refused}",
                    "attempts": attempts,
                    "waited_s": round(ctx.clock.monotonic() - t0, 3),
                }
            last = "the probe write got no answer"
        if ctx.clock.monotonic() - t0 > fence.timeout_seconds:
            raise RunbookAborted(
                f"could not fence {cluster} within {fence.timeout_seconds:g} s "
                f"({attempts} attempts; last: {last})"
            )
        ctx.clock.wait(ctx.stop, 1.0)
    raise RunbookAborted("drill ended before the fence held")


def unfence(ctx: RunbookContext) -> dict[str, Any] | None:
    """Remove the fence if one was (even partly) applied; -> the evidence, None if none."""
    fenced = ctx.results.pop(FENCE_KEY, None)
    if fenced is None:
        return None
    rt = ctx.runtime
    if isinstance(rt, FencesWrites):
        return {
            "cluster": fenced["cluster"],
            "lifted": rt.unfence_writes(fenced["cluster"], ctx.topic, fenced["bootstrap"]),
        }
    removed = rt.clients.allow_writes(fenced["bootstrap"], ctx.topic)
    return {"cluster": fenced["cluster"], "acls_removed": removed}


def _deny(rt: Any, bootstrap: str, topic: str) -> str:
    rt.clients.deny_writes(bootstrap, topic)
    return f"CreateAcls at {bootstrap}: ALLOW ALL and DENY WRITE on topic {topic} for User:*"
