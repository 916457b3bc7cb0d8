"""What a deployment-model drill must show whatever the runtime (asserted, never timed)."""

from __future__ import annotations

from typing import Any


def assert_origins_whole(
    report: dict[str, Any], origins: set[str], unions: set[str], *, origin_topics_exact: bool
) -> None:
    """Several write clusters: nothing acknowledged lost per origin, no record back at its
    origin, every aggregate and every union consumer complete; with `origin_topics_exact`, no
    duplicate on an origin topic either (at-least-once MM2 may repeat a record on a copy; an
    idempotent producer whose requests never outlive its delivery timeout does not)."""
    checkers = report["checkers"]
    loss = checkers["loss"]["figures"]
    assert set(loss["per_origin"]) == origins, loss["per_origin"]
    assert all(o["acked"] > 0 and o["lost"] == 0 for o in loss["per_origin"].values()), loss
    cycles = checkers["cycles"]["figures"]
    assert cycles["cycle_topics"] == [] and cycles["ids_back_at_origin"] == 0, cycles
    aggregation = checkers["aggregation"]["figures"]
    assert aggregation["applicable"] and aggregation["missing"] == 0, aggregation
    groups = aggregation.get("union_groups") or {}
    assert set(groups) == unions, groups
    assert all(u["missing"] == 0 and u["received"] == u["acked"] > 0 for u in groups.values())
    if not origin_topics_exact:
        return
    per_partition = checkers["duplicates"]["figures"]["per_partition"]
    own = {k: n for k, n in per_partition.items() if "." not in k.split("/")[1]}
    assert own == {}, own
