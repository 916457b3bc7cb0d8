"""The deployment-models table: the seeds' comparison (active-passive, active-active, stretch,
and seed 001's backup-only strategy) with measured figures.

`kafkadrill models` runs the three models under the same workload rate, the same baseline WAN
latency and the loss of a region (a site for the stretch cluster), N times each, and puts the
measured medians and spread next to the seeds' claims. Every figure comes from a drill report
(the checkers); this module only builds the scenarios and lays the figures out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kafkadrill.report.compare import (
    Comparison,
    Group,
    Metric,
    RunRecord,
    build_comparison,
    load_run,
    stats_cell,
)
from kafkadrill.scenario import Scenario

MODELS = ("active-passive", "active-active", "stretch", "backup")

#: The seeds' comparison table (seeds/004, "Comparison"), as claimed.
SEED_CLAIMS: dict[str, dict[str, str]] = {
    "active-passive": {"rpo": "Minutes", "rto": "Minutes", "latency": "None"},
    "active-active": {"rpo": "Near-zero", "rto": "Near-zero", "latency": "None"},
    "stretch": {"rpo": "Zero", "rto": "Seconds", "latency": "Cross-DC latency"},
    # seeds/001, "Backup Strategy": Kafka Connect sink connectors to durable storage.
    "backup": {
        "rpo": "Hours to days (backup frequency)",
        "rto": "Hours to days",
        "latency": "None",
    },
}

TOPIC = {
    "name": "orders",
    "partitions": 3,
    "replication_factor": 3,
    "config": {"min.insync.replicas": "2"},
}


def model_scenario(
    model: str, *, latency_ms: float, rate: float, seed: int, duration: float = 40
) -> Scenario:
    """One model's drill: the same load, WAN latency and a loss at 10 s (20 s for a site or a
    region that comes back; active-passive and backup fail over for good)."""
    build = _BUILDERS.get(model)
    if build is None:
        raise ValueError(f"unknown model {model!r}; one of {', '.join(MODELS)}")
    wan = {"latency_ms": latency_ms, "jitter_ms": round(latency_ms / 10, 1)}
    base: dict[str, Any] = {
        "name": f"model-{model}",
        "description": f"deployment model {model}: loss of a region (stretch: a site)",
        "duration_seconds": duration,
        "warmup_seconds": 5,
        "seed": seed,
        "final_read": {"timeout_seconds": 90},
    }
    return Scenario.from_dict(build(base, wan, rate), source=f"<models: {model}>")


_FAILOVER = {"trigger": {"on_fault": "region.outage"}, "detect_failing_seconds": 5}


def _region_loss_with_failover(rate: float) -> dict[str, Any]:
    """Applications in west (they survive), writing to primary until the failover; east lost
    for good at 10 s; loss, duplicates and re-reads measured, not forbidden."""
    return {
        "workload": {
            "producers": {"rate_per_second": rate, "site": "west"},
            "consumers": [{"group": "billing", "site": "west"}],
        },
        "timeline": [{"at": 10, "fault": "region.outage", "target": {"region": "east"}}],
        "objectives": {
            "max_lost": None,
            "max_skipped": 0,
            "max_duplicates": None,
            "expected_anomalies": ["loss", "duplicates", "offsets"],
        },
    }


def _active_passive(base: dict[str, Any], wan: dict[str, float], rate: float) -> dict[str, Any]:
    return {
        **base,
        "topology": {
            "wan": wan,
            "topics": [TOPIC],
            "mm2": {"emit.checkpoints.interval.seconds": 1, "offset.lag.max": 100},
        },
        **_region_loss_with_failover(rate),
        "runbooks": {"failover": _FAILOVER},
    }


def _active_active(base: dict[str, Any], wan: dict[str, float], rate: float) -> dict[str, Any]:
    half = rate / 2
    return {
        **base,
        "topology": {"model": "active-active", "wan": wan, "topics": [TOPIC]},
        "workload": {
            "producers": [
                {"rate_per_second": half, "cluster": "primary", "site": "east"},
                {"rate_per_second": half, "cluster": "dr", "site": "west"},
            ],
            "consumers": [
                {"group": "billing-east", "cluster": "primary", "site": "east"},
                {"group": "billing-west", "cluster": "dr", "site": "west"},
            ],
        },
        "timeline": [
            {
                "at": 10,
                "fault": "region.outage",
                "target": {"region": "east"},
                "duration": 20,
            }
        ],
        "objectives": {"max_lost": 0, "max_skipped": 0, "max_duplicates": None},
    }


def _stretch(base: dict[str, Any], wan: dict[str, float], rate: float) -> dict[str, Any]:
    return {
        **base,
        "topology": {
            "model": "stretch",
            "wan": wan,
            "topics": [TOPIC],
            "broker_config": {"replica.lag.time.max.ms": "10000"},
        },
        "workload": {
            "producers": {"rate_per_second": rate, "site": "east-b"},
            "consumers": [{"group": "billing", "site": "east-c"}],
        },
        "timeline": [
            {
                "at": 10,
                "fault": "site.outage",
                "target": {"cluster": "primary", "sites": ["east-a"]},
                "duration": 20,
            }
        ],
        "objectives": {"max_lost": 0, "max_skipped": 0},
    }


def _backup(base: dict[str, Any], wan: dict[str, float], rate: float) -> dict[str, Any]:
    # Backup-only: no replication; primary backed up by a Kafka Connect sink every 10 s
    # (a production backup runs hourly or daily: the same mechanism, a longer interval),
    # restored into dr by the failover.
    return {
        **base,
        "topology": {
            "model": "backup",
            "wan": wan,
            "topics": [TOPIC],
            "backup": {"flush_seconds": 10},
        },
        **_region_loss_with_failover(rate),
        "runbooks": {"failover": {**_FAILOVER, "restore_backup": True, "translate_offsets": False}},
    }


_BUILDERS: dict[str, Callable[[dict[str, Any], dict[str, float], float], dict[str, Any]]] = {
    "active-passive": _active_passive,
    "active-active": _active_active,
    "stretch": _stretch,
    "backup": _backup,
}


def comparison(records: Sequence[tuple[str, Path]]) -> Comparison:
    """Group run directories by model (the model names the group, not the scenario diff)."""
    recs: list[RunRecord] = []
    for model, run_dir in records:
        rec = load_run(run_dir)
        rec.setting = {"model": model}
        recs.append(rec)
    return build_comparison(recs, title="Deployment models")


_ROWS: tuple[tuple[str, str, tuple[Metric, ...]], ...] = (
    ("RPO: acked messages lost", "rpo", (Metric("lost", "", ("rpo", "lost")),)),
    (
        "RPO: data window lost (s)",
        "rpo",
        (Metric("w", "", ("rpo", "window_seconds"), "s"),),
    ),
    (
        # Backup-only: what the backup frequency cost at the moment of disaster (the loss rows
        # above are what the restore could not give back; a surviving worker flushes later).
        "RPO of the backup at the disaster: acks / window (s)",
        "rpo",
        (
            Metric("bk", "", ("checkers", "backup", "figures", "not_backed_up_at_disaster")),
            Metric("bkw", "", ("checkers", "backup", "figures", "rpo_window_seconds"), "s"),
        ),
    ),
    (
        "RTO: writes unavailable (s)",
        "rto",
        (Metric("wu", "", ("rto", "write_unavailable_seconds"), "s"),),
    ),
    (
        # Active-active: the cluster as a whole keeps taking writes while the lost region's
        # own writers have nowhere to write; this row shows them.
        "RTO: writes unavailable, worst writer (s)",
        "rto",
        (Metric("wuw", "", ("rto", "write_unavailable_worst_writer_seconds"), "s"),),
    ),
    (
        "RTO: reads unavailable (s)",
        "rto",
        (Metric("ru", "", ("rto", "read_unavailable_seconds"), "s"),),
    ),
    (
        "Produce latency p50 / p99 before the loss (ms)",
        "latency",
        (
            Metric("p50", "", ("checkers", "latency", "figures", "per_phase", "steady", "p50_ms")),
            Metric("p99", "", ("checkers", "latency", "figures", "per_phase", "steady", "p99_ms")),
        ),
    ),
)


def claims_table(comp: Comparison) -> str:
    """The seeds' table with `claim → measured median (min–max)` per model, Markdown."""
    groups: Mapping[str, Group] = {g.settings.get("model", g.label): g for g in comp.groups}
    models = [m for m in MODELS if m in groups]
    lines = [
        "| Aspect | " + " | ".join(models) + " |",
        "|---|" + "---|" * len(models),
    ]
    for title, claim_key, metrics in _ROWS:
        cells = []
        for m in models:
            measured = " / ".join(stats_cell(groups[m].stats(x)) for x in metrics)
            cells.append(f"seed: {SEED_CLAIMS[m][claim_key]}; measured: {measured}")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    runs = " | ".join(
        f"{len(groups[m].runs)} run(s): "
        + " ".join(f"{v}×{n}" for v, n in sorted(groups[m].verdicts.items()))
        for m in models
    )
    lines.append(f"| Runs | {runs} |")
    return "\n".join(lines) + "\n"


def run_models(
    runs: int,
    reports_dir: Path,
    *,
    latency_ms: float,
    rate: float,
    models: Sequence[str] = MODELS,
    runtime: str | None = None,
    on_start: Callable[[str, int], None] | None = None,
    on_done: Callable[[str, int, Any], None] | None = None,
    seed: int = 1,
) -> list[tuple[str, Path]]:
    """Run every model `runs` times (interleaved, so slow drift of the machine hits all);
    returns (model, run directory) per finished run."""
    from kafkadrill.runner import run_drill

    done: list[tuple[str, Path]] = []
    for i in range(runs):
        for model in models:
            sc = model_scenario(model, latency_ms=latency_ms, rate=rate, seed=seed + i)
            if on_start is not None:
                on_start(model, i)
            result = run_drill(sc, runtime=runtime, reports_dir=reports_dir)
            if on_done is not None:
                on_done(model, i, result)
            if result.run_dir is not None:
                done.append((model, result.run_dir))
    return done
