"""The one error of reading a history (either format)."""

from __future__ import annotations

from pathlib import Path

from kafkadrill.errors import KafkadrillError

__all__ = ["HistoryError"]


class HistoryError(KafkadrillError, ValueError):
    """A history that cannot be read: names the file, the line (1-based) and the problem."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path, self.line, self.problem = str(path), line, problem
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
