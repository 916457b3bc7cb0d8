"""The schemas checker on a written history (the drill: scenarios/schema-registry-failover.yaml)
and the application's schema versions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kafkadrill.checkers.schemas import check_schemas
from kafkadrill.history import load_frames
from kafkadrill.workload.schemas import schema_sha, schema_text


def _ev(seq: int, t: float, typ: str, **f: Any) -> dict[str, Any]:
    return {"seq": seq, "t": t, "wall": 1000.0 + t, "type": typ, **f}


def _history(dr_three: str) -> list[dict[str, Any]]:
    ev = [_ev(0, 0.0, "run.start", run_id="r", scenario="s", seed=1, runtime="local")]
    regs = [(1.0, "primary", 1, 1), (3.0, "primary", 2, 2), (5.0, "primary", 3, 3)]
    regs.append((9.0, "dr", 4, 3))  # dr's registry gives id 3 again: it never saw primary's
    seq = 1
    for i in range(12):  # one record every 0.5 s from t 0.5: p:0..p:11
        t = 0.5 + 0.5 * i
        for typ, extra in (("send.invoke", {}), ("send.ok", {"partition": 0, "offset": i,
                                                           "ts": 1}),):  # fmt: skip
            ev.append(_ev(seq, t, typ, producer="p", id=f"p:{i}", cluster="primary",
                          topic="orders", **extra))  # fmt: skip
            seq += 1
    for t, cluster, version, sid in regs:
        sha = schema_sha(schema_text(version))
        ev.append(_ev(seq, t, "schema.register", cluster=cluster, subject="orders-value",
                      version=version, id=sid, schema_sha=sha, error=None))  # fmt: skip
        seq += 1
    ev.append(_ev(seq, 6.5, "schema.register", cluster="primary", subject="orders-value",
                  version=4, id=None, schema_sha="x", error="HTTP 500"))  # fmt: skip
    seq += 1
    steps = [
        ("decide", 7.0, {"from": "primary", "to": "dr"}),
        ("schema_check", 7.1, {"checked": [1, 2, 3], "missing": [3], "different": []}),
        ("registry_read_write", 8.0, {"seconds": 0.2}),
    ]
    for name, t, detail in steps:
        for status, d in (("start", None), ("ok", detail)):
            ev.append(_ev(seq, t, "runbook.step", runbook="failover", step=name, status=status,
                          detail=d))  # fmt: skip
            seq += 1
    s = {str(v): schema_sha(schema_text(v)) for v in (1, 2, 3)}
    ev.append(_ev(seq, 20.0, "schemas", registries={
        "primary": {"1": s["1"], "2": s["2"], "3": s["3"]},
        "dr": {"1": s["1"], "2": s["2"], "3": dr_three}}))  # fmt: skip
    return ev


def test_schema_rpo_switch_and_a_collision() -> None:
    dr_three = schema_sha(schema_text(4))  # dr's id 3 is version 4: a collision
    v = check_schemas(load_frames(_history(dr_three)))
    f = v.figures
    assert f["registered"] == {"primary": 3, "dr": 1} and f["refused"] == 1
    dec = f["at_decision"]
    assert dec["ids_missing"] == [3]
    # Records sent from t 5.0 on carry id 3 (p:9, p:10, p:11: t 5.0, 5.5, 6.0).
    assert dec["records_unresolvable"] == 3
    assert f["switch"]["seconds"] == 0.2
    assert f["switch"]["first_write_after_switch_s"] == 1.0
    assert f["switch"]["registered_on_target"] == 1
    assert f["collisions"] == [3] and v.status == "FAIL"
    assert f["target_ids_unknown_on_source"] == 0  # id 3 resolves there: to another schema


def test_same_schema_under_the_same_id_is_no_collision() -> None:
    v = check_schemas(load_frames(_history(schema_sha(schema_text(3)))))
    assert v.figures["collisions"] == [] and v.status == "PASS"


def test_versions_add_a_defaulted_field_each() -> None:
    three = json.loads(schema_text(3))
    assert [f["name"] for f in three["fields"]] == ["id", "v2", "v3"]
    assert schema_sha(schema_text(2)) != schema_sha(schema_text(3))


def test_registries_listen_on_loopback_and_replicas_are_read_only(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kafkadrill.runtimes.shared.schema_registry import find_java21, registry_props
    from kafkadrill.scenario import Scenario

    props = registry_props(
        bootstrap="127.0.0.1:1",
        journal="j",
        port=5,
        management_port=4,
        read_only=True,
        group_prefix="g-",
    )
    assert props["quarkus.http.host"] == "127.0.0.1"
    assert props["quarkus.management.host"] == "127.0.0.1"  # its default is 0.0.0.0:9000
    assert props["apicurio.storage.read-only.enabled"] == "true"
    topo = Scenario.from_dict({"name": "s", "topology": {"schema_registry": {}}}).to_topology()
    reg = topo.schema_registry
    assert reg is not None
    assert reg.journal_on(topo, "primary") == ("orders-schemas", False)
    assert reg.journal_on(topo, "dr") == ("primary.orders-schemas", True)
    journal = next(t for t in topo.cluster("primary").topics if t.name == "orders-schemas")
    assert journal.partitions == 1 and journal.config == {"retention.ms": "-1"}
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("")
    (home / "release").write_text('JAVA_VERSION="21.0.5"\n')
    monkeypatch.setenv("KAFKADRILL_JAVA21_HOME", str(home))
    assert find_java21() == home / "bin" / "java"
