"""One record of what an adapter ran, kept in memory and appended to the history."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from kafkadrill.history import Ev
from kafkadrill.secrets import replace_known

MAX_OUTPUT = 4000  # characters of output kept per call (the head and the tail)


def truncate(text: str, limit: int = MAX_OUTPUT) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - limit} characters cut] ...\n{text[-half:]}"


@dataclass(frozen=True)
class Exec:
    adapter: str  # command | toxiproxy | connect
    operation: str
    target: str | None
    command: str
    ok: bool
    exit: int | None
    seconds: float
    output: str | None


class Recorder:
    """Collects `Exec` records; with a history attached, appends each as `adapter.exec`.

    `secrets` are resolved secret values: replaced in every command text and output before
    anything is kept, so an echoing command cannot leak one into the evidence."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.history: Any = None
        self.records: list[Exec] = []
        self.secrets = [s for s in secrets if s]
        self._lock = threading.Lock()

    def attach(self, history: Any) -> None:
        self.history = history

    def add_secrets(self, values: Iterable[str]) -> None:
        self.secrets.extend(v for v in values if v and v not in self.secrets)

    def clean(self, text: str | None) -> str | None:
        if text is None:
            return None
        return truncate(replace_known(text, self.secrets) if self.secrets else text)

    def record(self, rec: Exec) -> Exec:
        rec = Exec(
            rec.adapter,
            rec.operation,
            rec.target,
            self.clean(rec.command) or "",
            rec.ok,
            rec.exit,
            round(rec.seconds, 3),
            self.clean(rec.output),
        )
        with self._lock:
            self.records.append(rec)
            if self.history is not None:
                self.history.append(Ev.ADAPTER_EXEC, **asdict(rec))
        return rec
