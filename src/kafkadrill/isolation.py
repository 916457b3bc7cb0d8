"""Run-scoped names: a drill on clusters that outlive it (a team's own clusters, or a topology
kept for the next drill) writes and reads only topics and groups named after its run, so no
drill sees another's records and no checkpoint of another's group can be applied to it.

The renaming works on the scenario as plain JSON data (its dump): the runner, above this module,
dumps the scenario, scopes it here and validates and compiles the result, so the plan every
phase works from already has the run-scoped names."""

from __future__ import annotations

import copy
import re
from typing import Any


def scoped_name(prefix: str, run_id: str, name: str) -> str:
    """A run-scoped topic/group name: `kd-<run id>-orders`."""
    rid = re.sub(r"[^A-Za-z0-9-]", "-", run_id).lower()
    return f"{prefix}-{rid}-{name}"


def scope_names(
    scenario_data: dict[str, Any], prefix: str, run_id: str
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """A copy of the scenario's data (its JSON dump) with every topic (declared or written by
    a client) and consumer group renamed to run-scoped names. Returns (data, topic renames,
    group renames)."""
    data = copy.deepcopy(scenario_data)
    topics = {t["name"]: scoped_name(prefix, run_id, t["name"]) for t in data["topology"]["topics"]}
    groups = {
        c["group"]: scoped_name(prefix, run_id, c["group"]) for c in data["workload"]["consumers"]
    }
    for t in data["topology"]["topics"]:
        t["name"] = topics[t["name"]]

    def scope(name: str) -> str:  # a client's topic is run-scoped even if not declared
        return topics.setdefault(name, scoped_name(prefix, run_id, name))

    for p in [data["workload"]["producers"], *data["workload"].get("more_producers", [])]:
        p["topic"] = scope(p["topic"])  # every producer group: none may write outside
    for c in data["workload"]["consumers"]:
        c["topic"] = scope(c["topic"])
        c["group"] = groups[c["group"]]
        if c.get("topics"):
            c["topics"] = [_scope_in(t, topics, escaped=False) for t in c["topics"]]
        if c.get("pattern"):
            c["pattern"] = _scope_in(c["pattern"], topics, escaped=True)
    for cp in data["workload"].get("copiers") or []:  # a copier is a group and two topics
        groups[cp["group"]] = scoped_name(prefix, run_id, cp["group"])
        cp["group"] = groups[cp["group"]]
        if cp.get("from_topic"):
            cp["from_topic"] = scope(cp["from_topic"])
        cp["to_topic"] = scope(cp["to_topic"])
    for entry in data["timeline"]:  # leader.kill names a topic, coordinator.kill a group
        if not isinstance(entry, dict):
            continue
        for holder in (entry, entry.get("params"), entry.get("target")):
            if isinstance(holder, dict) and holder.get("topic") in topics:
                holder["topic"] = topics[holder["topic"]]
            if isinstance(holder, dict) and holder.get("group") in groups:
                holder["group"] = groups[holder["group"]]
    for acl in data["topology"].get("acls") or []:  # an ACL names the drill's topic or group
        if acl.get("topic") is not None:
            acl["topic"] = scope(acl["topic"])
        if acl.get("group") in groups:
            acl["group"] = groups[acl["group"]]
    return data, topics, groups


def _scope_in(text: str, topics: dict[str, str], *, escaped: bool) -> str:
    """`text` (a topic name such as `west.orders`, or a regex) with every whole occurrence of
    a workload topic replaced by its run-scoped name: `west.kd-<run>-orders`."""

    def esc(name: str) -> str:  # topic names are [A-Za-z0-9._-]: only the dot is special
        return name.replace(".", "\\.") if escaped else name

    for name, new in sorted(topics.items(), key=lambda kv: -len(kv[0])):
        whole = rf"(?<![A-Za-z0-9_-]){re.escape(esc(name))}(?![A-Za-z0-9_-])"
        text = re.sub(whole, lambda _m, new=new: esc(new), text)
    return text
