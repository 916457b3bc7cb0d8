"""JUnit XML of drill results, for CI systems that chart test outcomes (Jenkins, GitLab...).

Each drill is one ``<testcase classname="kafkadrill.<scenario>">``: a FAIL verdict gives a
``<failure>`` (the drill ran and missed an objective), an UNKNOWN verdict an ``<error>`` (the
drill could not decide: infrastructure, crash, a checker that could not run) -- the same split
as pytest's failure vs error. Figures go into ``<properties>`` so CI can trend them.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafkadrill.report.store import write_text

__all__ = ["drill_properties", "write_junit"]

# XML 1.0 forbids most control characters; a stray byte in an error text must not break CI.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: Any) -> str:
    return _XML_BAD.sub("?", str(text))


def _seconds(report: Mapping[str, Any]) -> float:
    try:
        a = datetime.fromisoformat(str(report.get("started_at")).replace("Z", "+00:00"))
        b = datetime.fromisoformat(str(report.get("finished_at")).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max((b - a).total_seconds(), 0.0)


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _prop(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def drill_properties(report: Mapping[str, Any]) -> dict[str, str]:
    """Flat ``name -> value`` figures of one report (``rpo.lost``, ``objective.x.observed``...)."""
    props: dict[str, str] = {}
    for k in ("verdict", "run_id", "seed", "started_at", "finished_at"):
        props[k] = _prop(report.get(k))
    for block in ("rpo", "rto"):
        for k, v in (report.get(block) or {}).items():
            if _scalar(v):
                props[f"{block}.{k}"] = _prop(v)
        if block == "rto":
            for k, v in ((report.get("rto") or {}).get("phases") or {}).items():
                if _scalar(v):
                    props[f"rto.phases.{k}"] = _prop(v)
    for o in report.get("objectives") or []:
        name = o.get("name")
        for k in ("target", "observed", "verdict"):
            if _scalar(o.get(k)):
                props[f"objective.{name}.{k}"] = _prop(o.get(k))
    for k, v in (report.get("versions") or {}).items():
        props[f"version.{k}"] = _prop(v)
    return props


def _failure_text(report: Mapping[str, Any]) -> str:
    missed = [
        f"{o.get('name')}: observed {o.get('observed')}, target {o.get('target')}"
        for o in report.get("objectives") or []
        if o.get("verdict") == "FAIL"
    ]
    return "; ".join(missed) or "drill verdict FAIL"


def _error_text(report: Mapping[str, Any]) -> str:
    if report.get("error"):
        return f"drill crashed: {report['error']}"
    unknown = [
        name
        for name, c in (report.get("checkers") or {}).items()
        if isinstance(c, Mapping) and c.get("status") == "UNKNOWN"
    ]
    undecided = [
        o.get("name") for o in report.get("objectives") or [] if o.get("verdict") == "UNKNOWN"
    ]
    parts = []
    if unknown:
        parts.append("checkers UNKNOWN: " + ", ".join(unknown))
    if undecided:
        parts.append("objectives UNKNOWN: " + ", ".join(str(n) for n in undecided))
    return "; ".join(parts) or "drill verdict UNKNOWN"


def write_junit(
    results: Sequence[Mapping[str, Any]], path: Path | str, *, suite: str = "kafkadrill"
) -> Path:
    """Write one ``<testsuite>`` with a ``<testcase>`` per report dict; returns ``path``.

    A scenario run more than once (a settings matrix) gets ``name="<scenario>[<run_id>]"``
    so test names stay unique; otherwise ``name`` is the scenario.
    """
    counts = Counter(str(r.get("scenario")) for r in results)
    verdicts = Counter(str(r.get("verdict", "UNKNOWN")).upper() for r in results)
    failures = verdicts["FAIL"]
    errors = sum(n for v, n in verdicts.items() if v not in ("PASS", "FAIL"))
    total_time = sum(_seconds(r) for r in results)
    root = ET.Element(
        "testsuites",
        name=suite,
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        time=f"{total_time:.3f}",
    )
    ts = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
        time=f"{total_time:.3f}",
        timestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    for r in results:
        scenario = str(r.get("scenario"))
        name = scenario if counts[scenario] == 1 else f"{scenario}[{r.get('run_id')}]"
        tc = ET.SubElement(
            ts,
            "testcase",
            classname=_clean(f"kafkadrill.{scenario}"),
            name=_clean(name),
            time=f"{_seconds(r):.3f}",
        )
        props = ET.SubElement(tc, "properties")
        for k, v in drill_properties(r).items():
            ET.SubElement(props, "property", name=_clean(k), value=_clean(v))
        verdict = str(r.get("verdict", "UNKNOWN")).upper()
        if verdict == "FAIL":
            el = ET.SubElement(tc, "failure", message=_clean(_failure_text(r)), type="DrillFailed")
            el.text = _clean(_details(r))
        elif verdict != "PASS":
            el = ET.SubElement(tc, "error", message=_clean(_error_text(r)), type="DrillUnknown")
            el.text = _clean(_details(r))
        out = ET.SubElement(tc, "system-out")
        out.text = _clean(_details(r))
    ET.indent(root)
    xml = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return write_text(path, '<?xml version="1.0" encoding="UTF-8"?>\n' + xml + "\n")


def _details(r: Mapping[str, Any]) -> str:
    rpo, rto = r.get("rpo") or {}, r.get("rto") or {}
    lines = [
        f"scenario {r.get('scenario')} run {r.get('run_id')} seed {r.get('seed')}: "
        f"{r.get('verdict')}",
        f"lost {rpo.get('lost')} of {rpo.get('acked')} acked, RPO window "
        f"{rpo.get('window_seconds')} s, duplicates {rpo.get('duplicates')}, "
        f"unknown {rpo.get('unknown')}",
        f"writes unavailable {rto.get('write_unavailable_seconds')} s, reads unavailable "
        f"{rto.get('read_unavailable_seconds')} s",
    ]
    for f in r.get("findings") or []:
        lines.append(f"[{f.get('severity')}] {f.get('text')} -> {f.get('suggestion')}")
    return "\n".join(lines)
