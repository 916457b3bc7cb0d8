"""Schemas: schema registry DR (issue 24; seed 002: the DR site needs "a perfect replica of your
data, schemas and consumer offsets"; its registry is switched from read-only to read-write on
failover; schemas registered during the outage must be caught up on failback).

From the application's registrations (``schema.register``: cluster, version, id), the
failover's ``schema_check`` (what the target's registry resolved at the decision) and
``registry_read_write`` steps, the acks (each record carries the id its producer was given
last: ``kd-schema-id``, the newest registration before its send) and the ``schemas`` event (what
every registry resolved each id to at the end):

- **schema RPO at the decision**: ids registered on the source that the target's registry did
  not resolve (``ids_missing``) or resolved to another schema (``ids_different``), and the
  acked records written with them (``records_unresolvable``): a consumer on the DR site cannot
  deserialize those records;
- **the switch**: seconds of the read-write step, and from its end to the application's first
  successful registration on the target (``first_write_after_switch_s``);
- **during the outage**: versions registered on the target, and registrations refused
  anywhere (``refused``: a read-only registry, a registry whose Kafka is down);
- **at the end**: ids registered on the target that the source's registry does not resolve
  (``target_ids_unknown_on_source``: MM2 never copies the journal back to the cluster it came
  from) and **collisions**: ids two registries resolve to different schemas (an id that means
  two schemas: a record written with it is read with the wrong one).

FAIL on a collision (an anomaly a scenario may expect); everything else is measured.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kafkadrill.checkers._common import Verdict, by_id, first_fault_t
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.folds import runbook_steps

NAME = "schemas"


def _step(frames: HistoryFrames, name: str) -> dict[str, Any] | None:
    for st in runbook_steps(frames):
        if st.runbook == "failover" and st.step == name and st.events:
            end = st.events[-1]
            return {"status": end.get("status"), "t": end.get("t"), **(end.get("detail") or {})}
    return None


def _records_with(frames: HistoryFrames, regs: list[dict[str, Any]], ids: set[int]) -> int:
    """Acked records whose producer carried one of `ids`: the newest registration (any
    cluster) before the record's send."""
    if not ids or not regs:
        return 0
    ok = frames.ok
    sent_t = by_id(frames, frames.invoke, "t", np.nan)[ok["id_code"].to_numpy()]
    reg_t = np.array([float(r["t"]) for r in regs])
    reg_id = np.array([int(r["id"]) for r in regs])
    order = np.argsort(reg_t, kind="stable")
    reg_t, reg_id = reg_t[order], reg_id[order]
    at = np.searchsorted(reg_t, sent_t, side="right") - 1  # newest registration before it
    known = (at >= 0) & ~np.isnan(sent_t)
    carried = np.where(known, reg_id[np.clip(at, 0, None)], -1)
    return int(np.isin(carried, list(ids)).sum())


@checker(NAME, order=140)
def check_schemas(frames: HistoryFrames) -> Verdict:
    events = frames.of_type(Ev.SCHEMA_REGISTER)
    if not events:
        return Verdict(NAME, "PASS", {"applicable": False}, [], ["no schema registered"])
    ok = [e for e in events if e.get("id") is not None]
    per_cluster: dict[str, int] = {}
    for e in ok:
        per_cluster[str(e["cluster"])] = per_cluster.get(str(e["cluster"]), 0) + 1
    figures: dict[str, Any] = {
        "applicable": True,
        "registered": per_cluster,
        "refused": len(events) - len(ok),
        "versions": max((int(e["version"]) for e in ok), default=0),
    }
    notes: list[str] = []
    check, switch = _step(frames, "schema_check"), _step(frames, "registry_read_write")
    if check is not None:
        missing = [int(i) for i in check.get("missing") or []]
        different = [int(i) for i in check.get("different") or []]
        gone = set(missing) | set(different)
        disaster = first_fault_t(frames)
        ages = (
            [disaster - float(e["t"]) for e in ok if int(e["id"]) in gone]
            if disaster is not None
            else []
        )
        figures["at_decision"] = {
            "ids_checked": len(check.get("checked") or []),
            "ids_missing": missing,
            "ids_different": different,
            "records_unresolvable": _records_with(frames, ok, gone),
            # How long before the first fault the oldest of them was registered: what MM2's
            # lag on the journal (and the replica's replay) cost, in time.
            "oldest_missing_age_at_fault_s": (round(max(ages), 3) if ages else None),
        }
    if switch is not None:
        target = next((str(e["to"]) for e in _decide(frames)), None)  # the failover's target
        after = [e for e in ok if str(e["cluster"]) == target and e["t"] >= (switch["t"] or 0)]
        figures["switch"] = {
            "status": switch.get("status"),
            "seconds": switch.get("seconds"),
            "first_write_after_switch_s": (
                round(float(after[0]["t"]) - float(switch["t"]), 3) if after else None
            ),
            "registered_on_target": len(after),
        }
    end = frames.of_type(Ev.SCHEMAS)
    status = "PASS"
    evidence: list[dict[str, Any]] = []
    if end:
        regs: dict[str, dict[str, str | None]] = end[-1].get("registries") or {}
        collisions = []
        for sid in sorted({i for r in regs.values() for i in r}, key=int):
            shas = {v for r in regs.values() if (v := r.get(sid)) is not None}
            if len(shas) > 1:
                collisions.append(int(sid))
        figures["collisions"] = collisions
        source = next((str(e["cluster"]) for e in ok), None)
        theirs = {str(e["id"]) for e in ok if str(e["cluster"]) != source}
        figures["target_ids_unknown_on_source"] = sum(
            1 for i in theirs if source in regs and regs[source].get(i) is None
        )
        if collisions:
            status = "FAIL"
            notes.append(
                f"{len(collisions)} schema ids resolve to different schemas on different "
                "registries: a record written with one is read with the wrong schema there"
            )
            evidence = [{"kind": "collision", "id": i, "registries": {
                c: r.get(str(i)) for c, r in regs.items()}} for i in collisions[:10]]  # fmt: skip
    else:
        notes.append("no `schemas` event: what the registries held at the end is unknown")
    return Verdict(NAME, status, figures, evidence, notes)


def _decide(frames: HistoryFrames) -> list[dict[str, Any]]:
    st = _step(frames, "decide")
    return [st] if st is not None and st.get("to") else []
