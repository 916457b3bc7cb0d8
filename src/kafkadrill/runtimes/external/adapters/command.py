"""The `command` adapter: run one command template for one operation on one target.

Without `shell: true` the argv is executed directly (no /bin/sh): each placeholder is filled
inside its own argument, so a value can neither split into more arguments nor chain a
command. A command that exits with a code outside `ok_exit_codes`, or runs past its timeout
(its whole process group is killed), fails the operation with a TopologyError; either way the
call is recorded with its output.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.external.adapters.record import Exec, Recorder
from kafkadrill.runtimes.external.config import (
    CommandSpec,
    render_template,
    resolve_config,
    show_command,
)


@dataclass(frozen=True)
class CommandResult:
    ok: bool
    exit: int | None
    output: str
    shown: str


def run_command(
    spec: CommandSpec,
    values: Mapping[str, Any],
    *,
    recorder: Recorder,
    operation: str,
    target: str | None,
    check: bool = True,
) -> CommandResult:
    """Run `spec` with its placeholders filled from `values`; record it; with `check`, raise
    TopologyError if it failed."""
    rendered = render_template(spec, values)
    shown = show_command(rendered, spec.shell)
    env = dict(os.environ)
    extra = resolve_config(spec.env, field=f"external.commands.{operation}.env")
    recorder.add_secrets(v for v in extra.values() if len(v) >= 6)
    env.update(extra)
    argv: list[str] = ["/bin/sh", "-c", rendered] if spec.shell else list(rendered)  # type: ignore[arg-type]
    t0 = time.monotonic()
    code: int | None
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: a timeout kills all of it
        )
    except OSError as exc:
        rec = recorder.record(
            Exec(
                "command",
                operation,
                target,
                shown,
                False,
                None,
                time.monotonic() - t0,
                f"cannot start: {exc}",
            )
        )
        if check:
            raise TopologyError(f"{operation} {target or ''}: cannot run {shown}: {exc}") from exc
        return CommandResult(False, None, rec.output or "", shown)
    try:
        out, _ = proc.communicate(timeout=spec.timeout_seconds)
        code = proc.returncode
        text = out.decode(errors="replace")
        ok = code in spec.ok_exit_codes
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = None
        text = out.decode(errors="replace") + f"\n[killed after {spec.timeout_seconds:g} s]"
        ok = False
    rec = recorder.record(
        Exec("command", operation, target, shown, ok, code, time.monotonic() - t0, text)
    )
    if check and not ok:
        why = "timed out" if code is None else f"exited {code}"
        raise TopologyError(
            f"{operation} {target or ''}: {shown} {why}: {(rec.output or '').strip()[-500:]}"
        )
    return CommandResult(ok, code, text, shown)


def parse_state(output: str) -> str:
    """A state command's answer: the first word of its output (running | paused | down)."""
    words = output.strip().split()
    word = words[0].lower() if words else ""
    return word if word in ("running", "paused", "down") else "unknown"
