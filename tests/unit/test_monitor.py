"""The replication-lag monitor thread never ends in a traceback (issue 19: one printed a raw
traceback after the history was closed)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from kafkadrill.drill import _monitor


class _Clock:
    """wait() returns False (keep going) `rounds` times, then True (stopped)."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds

    def wait(self, _event: Any, _interval: float) -> bool:
        self.rounds -= 1
        return self.rounds < 0


class _History:
    def __init__(self, closed: bool) -> None:
        self.closed = closed
        self.events: list[tuple[Any, dict[str, Any]]] = []

    def append(self, typ: Any, **fields: Any) -> None:
        if self.closed:
            raise AssertionError("appended to a closed history")
        self.events.append((typ, fields))


class _BrokenRuntime:
    def flows(self) -> list[Any]:
        raise ConnectionError("admin client gone")


def _drill(history: _History, rt: Any, rounds: int = 2) -> SimpleNamespace:
    return SimpleNamespace(
        clock=_Clock(rounds), stop_all=None, history=history, rt=rt, emit=lambda: None, plan=None
    )


def test_a_closed_history_stops_the_monitor_without_writing() -> None:
    history = _History(closed=True)
    _monitor(_drill(history, _BrokenRuntime()))  # type: ignore[arg-type]
    assert history.events == []


def test_a_sample_that_fails_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    history = _History(closed=False)
    with caplog.at_level(logging.WARNING, logger="kafkadrill.monitor"):
        _monitor(_drill(history, _BrokenRuntime()))  # type: ignore[arg-type]
    assert "admin client gone" in caplog.text
    assert history.events == []
