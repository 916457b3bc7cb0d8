"""One start/stop ordering for every runtime that starts something.

`start()` may fail half way (a node that never answers, an image missing): whatever it did
start must still be stopped, so a failed start is followed by `stop()` before the error
propagates. `stop()` must therefore be idempotent and safe on a half-started runtime; each
runtime's own `stop()` guarantees that (its `_started` flag).
"""

from __future__ import annotations

from typing import Protocol, Self


class Startable(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def start_or_stop(rt: Startable) -> None:
    """`rt.start()`; if it raises (or is interrupted), `rt.stop()` and re-raise."""
    try:
        rt.start()
    except BaseException:
        rt.stop()
        raise


class RuntimeLifecycle:
    """Context-manager half of a runtime: `with Runtime(...) as rt:` starts it (stopping it
    again if the start fails) and stops it on the way out, whatever happened inside."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        start_or_stop(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
