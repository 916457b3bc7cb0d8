"""The typed Report model: report.json is serialised from it, and its JSON Schema is the one
checked in as docs/reference/report-schema.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from kafkadrill.report.json_doc import STABLE_KEYS
from kafkadrill.report.model import Report, report_document, report_json_schema

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "reference" / "report-schema.json"


def test_checked_in_schema_equals_the_generated_one() -> None:
    # Regenerate after changing report/model.py:
    #   python -c "import json; from kafkadrill.report.model import report_json_schema;
    #   print(json.dumps(report_json_schema(), indent=2))" > docs/reference/report-schema.json
    assert json.loads(SCHEMA.read_text()) == report_json_schema()


def test_stable_keys_are_the_contracts() -> None:
    assert STABLE_KEYS == (
        "scenario",
        "run_id",
        "started_at",
        "finished_at",
        "seed",
        "verdict",
        "objectives",
        "rpo",
        "rto",
        "faults",
        "versions",
    )


def test_document_keeps_given_keys_values_and_types_stable_keys_first() -> None:
    doc = report_document(
        {
            "zz_extra": {"kept": True},
            "findings": [{"severity": "info", "text": "t", "suggestion": "s"}],
            "rpo": {"lost": 0, "window_seconds": 1.0},
            "scenario": "s",
        }
    )
    assert list(doc) == ["scenario", "rpo", "zz_extra", "findings"]
    assert doc["rpo"] == {"lost": 0, "window_seconds": 1.0}  # absent keys stay absent
    assert type(doc["rpo"]["lost"]) is int and type(doc["rpo"]["window_seconds"]) is float


def test_a_figure_of_the_wrong_type_is_refused_not_converted() -> None:
    with pytest.raises(ValidationError):
        report_document({"rpo": {"lost": "3"}})
    with pytest.raises(ValidationError):
        report_document({"rpo": {"lost": True}})


def test_checker_output_is_a_valid_report_in_the_models_order() -> None:
    from kafkadrill.checkers.judge import judge
    from kafkadrill.history import load_frames

    judged = judge(load_frames([]), {}, error="history is empty")
    fields = list(Report.model_fields)
    assert set(judged) <= set(fields)
    rest = [k for k in judged if k not in STABLE_KEYS]  # written in the order built
    assert rest == sorted(rest, key=fields.index)
    doc = report_document(judged)
    assert doc["verdict"] == "UNKNOWN" and doc["findings"] == judged["findings"]


def test_findings_rules_are_one_registered_tuple() -> None:
    from kafkadrill.checkers.findings import FINDING_RULES, derive_findings

    assert len({r.__name__ for r in FINDING_RULES}) == len(FINDING_RULES)
    report = {"verdict": "UNKNOWN", "error": "boom", "rpo": {"unknown": 2}}
    assert derive_findings(report) == [f for rule in FINDING_RULES for f in rule(report)]
