"""The three error families.

Findings are verdicts, never exceptions. Misuse raises ScenarioError (file, field, fix).
Infrastructure raises TopologyError (a pytest *error*, never a drill failure).
"""

from __future__ import annotations


class KafkadrillError(Exception):
    """Base of every error kafkadrill raises on purpose."""


class ScenarioError(KafkadrillError):
    """Bad input: names the file, the field path and what would be valid."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.file = file
        self.field = field
        self.fix = fix
        self.message = message
        parts = []
        if file:
            parts.append(str(file))
        if field:
            parts.append(f"field '{field}'")
        head = ": ".join(parts)
        text = f"{head}: {message}" if head else message
        if fix:
            text += f" (fix: {fix})"
        super().__init__(text)


class TopologyError(KafkadrillError):
    """Infrastructure failed (a process did not start, a cluster is unhealthy)."""


class ProvisionError(TopologyError):
    """A prerequisite (java, mvn, go, jars, toxiproxy) is missing or could not be fetched."""
