"""Scenario files: load, validate and resolve a drill description (YAML -> `Scenario`).

Everything a drill needs is checked here, before anything starts: a bad scenario raises one
ScenarioError that names the file, every bad field path (`timeline[2].fault`), the YAML line and
what would be valid. The format is documented field by field in docs/reference/scenario-format.md.

Validation runs in two passes: pydantic checks shape and types (model.py; every model forbids
unknown keys, so a typo is an error with a "did you mean" suggestion), then the registered rules
(rules/) check what needs the whole scenario (targets exist in the topology, RF fits the cluster,
faults do not overlap, runbook times fit the duration...). Modules: limits, paths, errors,
safe_yaml (bounded YAML + line index), model (schema), derive (topology, schedule, resolved
YAML), overrides (`--set`), rules, load (the pipeline), compile (scenario -> DrillPlan).
"""

from __future__ import annotations

from kafkadrill.scenario.compile import compile_plan
from kafkadrill.scenario.derive import trigger_fault
from kafkadrill.scenario.errors import LocatedProblem, ScenarioValidationError, located_problems
from kafkadrill.scenario.limits import LIMITS
from kafkadrill.scenario.load import build_scenario, load_scenario
from kafkadrill.scenario.model import ANOMALIES, Scenario, scenario_json_schema
from kafkadrill.scenario.overrides import apply_overrides
from kafkadrill.scenario.rules import topic_names
from kafkadrill.scenario.safe_yaml import YAML_LOADER_NAME
from kafkadrill.secrets import REDACTED, redact

__all__ = [
    "ANOMALIES",
    "LIMITS",
    "REDACTED",
    "YAML_LOADER_NAME",
    "LocatedProblem",
    "Scenario",
    "ScenarioValidationError",
    "apply_overrides",
    "build_scenario",
    "compile_plan",
    "load_scenario",
    "located_problems",
    "redact",
    "scenario_json_schema",
    "topic_names",
    "trigger_fault",
]
