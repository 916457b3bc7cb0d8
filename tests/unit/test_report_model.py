"""The typed Report model: report.json is serialised from it, and its JSON Schema is the one
checked in as docs/reference/report-schema.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from kafkadrill.report.json_doc import STABLE_KEYS
from kafkadrill.report.model import report_document, report_json_schema

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
