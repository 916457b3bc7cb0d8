"""Authorization: what the application's principals (topology.principals) were refused, where
and when, and whether they could write on the DR cluster after the failover (issue 24: "a
failover scenario that shows whether the workload's principals can write on DR").

From the ``acl.grant`` events (ACLs kafkadrill created: at start, and by the failover's
``grant_acls`` step), the sends that failed for authorization (``send.fail`` whose error names
an ``*_AUTHORIZATION_FAILED`` code: refused before or by the broker, so never written) and the
readers' authorization errors (``consume.error``, ``commit.fail``):

- ``refused_sends``: per producer and cluster, how many sends were refused, first and last
  (run seconds) and by which error;
- ``refused_reads``: the same per consumer group and cluster;
- ``fatal_restarts``: per ``producer@cluster``, how often the cluster refused the producer
  fatally (``producer.fatal``: an idempotent producer denied its producer id where its
  principal may write nothing) and it restarted its client;
- ``after_failover`` (when the history has a failover): on its target, the sends refused after
  the decision, the acks after it and the first one's delay from the decision (null: no write
  was acknowledged there, the principals could not write on DR), and the groups refused there.

Measured, never judged (PASS): refused writes count against the objectives through the RTO
(writes unavailable) and the loss checkers; this checker says why.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from kafkadrill.checkers._common import Verdict
from kafkadrill.checkers.registry import checker
from kafkadrill.checkers.split_writes import failover_of
from kafkadrill.history import Ev, HistoryFrames

NAME = "authorization"
DENIED = "AUTHORIZATION_FAILED"


def _refusals(rows: pd.DataFrame, who: str) -> dict[str, dict[str, Any]]:
    """Per `who` (producer or group) and cluster: count, first and last t, error codes."""
    out: dict[str, dict[str, Any]] = {}
    if rows.empty:
        return out
    for (name, cluster), g in rows.groupby([who, "cluster"], observed=True):
        out.setdefault(str(name), {})[str(cluster)] = {
            "count": len(g),
            "first_t": round(float(g["t"].min()), 3),
            "last_t": round(float(g["t"].max()), 3),
            "errors": dict(Counter(str(e) for e in g["error"])),
        }
    return out


def _after_failover(
    frames: HistoryFrames, denied: pd.DataFrame, reads: list[dict[str, Any]]
) -> dict[str, Any] | None:
    fo, _why = failover_of(frames)
    if fo is None:
        return None
    ok = frames.ok
    acks = ok[(ok["cluster"] == fo.dr).to_numpy() & (ok["t"] > fo.decision_t).to_numpy()]
    refused = denied[(denied["cluster"] == fo.dr).to_numpy() & (denied["t"] > fo.decision_t)]
    first = float(acks["t"].min()) if len(acks) else None
    return {
        "target": fo.dr,
        "decision_t": round(fo.decision_t, 3),
        "refused_sends": len(refused),
        "acks": len(acks),
        "first_ack_after_decision_s": None if first is None else round(first - fo.decision_t, 3),
        "groups_refused": sorted(
            {
                str(e.get("group"))
                for e in reads
                if e.get("cluster") == fo.dr and float(e.get("t", 0.0)) > fo.decision_t
            }
        ),
    }


@checker(NAME, order=150)
def check_authorization(frames: HistoryFrames) -> Verdict:
    grants = frames.of_type(Ev.ACL_GRANT)
    fail = frames.fail
    denied = fail[fail["error"].astype(str).str.contains(DENIED).to_numpy()]
    reads = [
        e for e in frames.of_type(Ev.CONSUME_ERROR, Ev.COMMIT_FAIL) if DENIED in str(e.get("error"))
    ]
    fatal = frames.of_type(Ev.PRODUCER_FATAL)
    if not grants and denied.empty and not reads and not fatal:
        return Verdict(NAME, "PASS", {"applicable": False}, [], ["no ACL granted, none refused"])
    after = _after_failover(frames, denied, reads)
    figures: dict[str, Any] = {
        "applicable": True,
        "grants": [
            {k: e.get(k) for k in ("t", "cluster", "principal", "resource", "name", "origin")}
            | {"operations": list(e.get("operations") or [])}
            for e in grants
        ],
        "refused_sends": _refusals(denied, "producer"),
        "refused_reads": _refusals(
            pd.DataFrame(reads, columns=["group", "cluster", "t", "error"]), "group"
        ),
        "fatal_restarts": dict(Counter(f"{e.get('producer')}@{e.get('cluster')}" for e in fatal)),
        "after_failover": after,
    }
    notes = [
        f"{len(denied)} send(s) refused for authorization, {len(reads)} read error(s), "
        f"{len(fatal)} producer restart(s) after a fatal refusal"
    ]
    if after is not None:
        wrote = after["first_ack_after_decision_s"]
        notes.append(
            f"on {after['target']} after the failover: {after['refused_sends']} send(s) "
            "refused, "
            + (
                "no write acknowledged: the principals could not write there"
                if wrote is None
                else f"first write acknowledged {wrote} s after the decision"
            )
        )
    evidence = [
        {"producer": str(r.producer), "cluster": str(r.cluster), "t": float(r.t), "error": r.error}
        for r in denied.head(5).itertuples()
    ]
    return Verdict(NAME, "PASS", figures, evidence, notes)
