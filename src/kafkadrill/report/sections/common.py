"""What every section and renderer shares: statuses, plot titles, the header rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import Cell, Code
from kafkadrill.report.format import fmt, fmt_s
from kafkadrill.report.store import PLOTS_DIR
from kafkadrill.report.style import VERDICT_COLORS

# An objective with no target is measured and reported, not judged.
OBJECTIVE_STATUSES = (*VERDICT_COLORS, "MEASURED")
PLOT_TITLES = {
    "rates": "Produce and consume rate per cluster",
    "replication_lag": "Replication lag per flow",
    "lost": "Lost messages at their send time",
    "consumer_lag": "Consumer lag per group",
}


def status_of(v: Any) -> str:
    s = str(v or "UNKNOWN").upper()
    return s if s in OBJECTIVE_STATUSES else "UNKNOWN"


def summary_line(r: Mapping[str, Any]) -> str:
    rpo, rto = r.get("rpo") or {}, r.get("rto") or {}
    parts = []
    if rpo.get("lost") is not None:
        parts.append(
            f"{fmt(rpo.get('lost'))} of {fmt(rpo.get('acked'))} acknowledged "
            f"messages lost (RPO window {fmt_s(rpo.get('window_seconds'))})"
        )
    worst = rto.get("write_unavailable_worst_writer")
    if worst is not None:  # the checker says writers differ: the worst writer is the headline
        parts.append(
            f"writer {worst} down {fmt_s(rto.get('write_unavailable_worst_writer_seconds'))} "
            f"(writers as a whole {fmt_s(rto.get('write_unavailable_seconds'))})"
        )
    elif rto.get("write_unavailable_seconds") is not None:
        parts.append(f"writers down {fmt_s(rto.get('write_unavailable_seconds'))}")
    if rto.get("read_unavailable_seconds") is not None:
        parts.append(f"readers down {fmt_s(rto.get('read_unavailable_seconds'))}")
    failed = [o.get("name") for o in r.get("objectives") or [] if o.get("verdict") == "FAIL"]
    if failed:
        parts.append("failed objectives: " + ", ".join(str(n) for n in failed))
    causes = [c for c in r.get("verdict_causes") or [] if isinstance(c, Mapping)]
    if causes:
        parts.append(
            "failed: " + ", ".join(f"{c.get('checker')} ({c.get('cause')})" for c in causes)
        )
    return "; ".join(parts) + "." if parts else "No figures were recorded."


def duration(r: Mapping[str, Any]) -> str:
    try:
        a = datetime.fromisoformat(str(r.get("started_at")).replace("Z", "+00:00"))
        b = datetime.fromisoformat(str(r.get("finished_at")).replace("Z", "+00:00"))
    except ValueError:
        return "n/a"
    return fmt_s(round((b - a).total_seconds(), 3))


# The external runtime's Kafka release is only what the scenario declares (versions.kafka null
# and kafka_version_source "unknown" when it declares none): say so instead of "None".
UNKNOWN_KAFKA = (
    "unknown (not declared in external.kafka_version; Kafka has no client API that returns "
    "its release)"
)
UNKNOWN_MM2 = "unknown (the team's own MirrorMaker 2; kafkadrill did not start it)"


def version_rows(versions: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(component, version as shown) for report.json's `versions`; on the external runtime the
    Kafka figure says where it comes from, and no version reads as a bare None."""
    if versions.get("runtime") != "external":
        return [(str(k), str(v)) for k, v in versions.items()]
    out: list[tuple[str, str]] = []
    for k, v in versions.items():
        if k == "kafka_version_source":
            continue  # said with the Kafka version itself
        if k == "kafka" and v is None:
            out.append((k, UNKNOWN_KAFKA))
        elif k == "kafka" and versions.get("kafka_version_source") == "declared":
            out.append((k, f"{v} (declared in external.kafka_version)"))
        elif k == "mirrormaker2" and v is None:
            out.append((k, UNKNOWN_MM2))
        else:
            out.append((str(k), str(v)))
    return out


def meta_rows(r: Mapping[str, Any]) -> list[list[Cell]]:
    versions = r.get("versions") or {}
    vtext = ", ".join(f"{k} {v}" for k, v in version_rows(versions)) or "n/a"
    return [
        ["Scenario", Code(str(r.get("scenario")))],
        ["Run id", Code(str(r.get("run_id")))],
        ["Seed", Code(str(r.get("seed")) if r.get("seed") is not None else "n/a")],
        ["Started (UTC)", str(r.get("started_at") or "n/a")],
        ["Finished (UTC)", str(r.get("finished_at") or "n/a")],
        ["Duration", duration(r)],
        ["Versions", vtext],
    ]


def rel_plot(key: str, plots: Mapping[str, Path]) -> str:
    return f"{PLOTS_DIR}/{Path(plots[key]).name}"
