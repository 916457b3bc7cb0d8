"""Workload workers, the pure parts: how producers are spread over workers, what a scenario may
ask of them (a clear error naming the field otherwise), the worker spec's JSON round trip and
the status protocol read by the runner. Real workers on real Kafka:
tests/integration/test_workers.py."""

from __future__ import annotations

import io
import json
import textwrap
import time
from pathlib import Path

import pytest

from kafkadrill.errors import ScenarioError
from kafkadrill.runner import run_drill
from kafkadrill.scenario import load_scenario
from kafkadrill.scenario.compile import compile_plan
from kafkadrill.workload.producer import ProducerSpec
from kafkadrill.workload.worker import WorkerSpec

BASE = """\
name: workers
duration_seconds: 30
history_format: columnar
workload:
  producers: {count: 5, workers: 2, rate_per_second: 100}
  more_producers:
    - {count: 2, workers: 2, rate_per_second: 100}
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "drill.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_producers_are_spread_evenly_over_each_groups_own_workers(tmp_path: Path) -> None:
    plan = compile_plan(load_scenario(_write(tmp_path, BASE)))
    assert [(p.name, p.worker) for p in plan.producers] == [
        ("p0", 0), ("p1", 1), ("p2", 0), ("p3", 1), ("p4", 0), ("p5", 2), ("p6", 3),
    ]  # fmt: skip
    plain = compile_plan(load_scenario(_write(tmp_path, "name: plain\n")))
    assert [p.worker for p in plain.producers] == [None]


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        (BASE.replace("history_format: columnar\n", ""), "history_format: columnar"),
        (BASE.replace("count: 5, workers: 2", "count: 1, workers: 2"), "set workers: 1"),
    ],
)
def test_a_scenario_workers_cannot_serve_is_refused(tmp_path: Path, text: str, fix: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, text))
    msg = str(info.value)
    assert "workload.producers.workers" in msg and fix in msg and str(tmp_path) in msg


def test_the_fake_runtime_refuses_workers_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"workload\.producers\.workers needs \['workers'\]"):
        run_drill(load_scenario(_write(tmp_path, BASE)), runtime="fake", reports_dir=tmp_path)
    assert not list(tmp_path.glob("workers/*"))


def test_worker_spec_round_trips_through_json() -> None:
    spec = WorkerSpec(
        index=3,
        run_id="r1",
        segment="/x/history.w3.arrow",
        origin=(12.5, 1_700_000_000.25),
        producers=[
            ProducerSpec(
                "p0",
                "primary",
                "orders",
                "east",
                rate_per_second=None,
                worker=3,
                extra={"security.protocol": "SASL_PLAINTEXT"},
            ),
            ProducerSpec("p1", "primary", "orders", "east", txn_size=10, worker=3),
        ],
        bootstrap={"primary|east": "127.0.0.1:19092"},
    )
    assert WorkerSpec.from_json(spec.to_json()) == spec


def test_worker_commands_and_status(tmp_path: Path) -> None:
    """The worker's side of the protocol on a spec whose producers never start."""
    from kafkadrill.workload import worker as w

    spec = WorkerSpec(
        0, "r", str(tmp_path / "history.w0.arrow"), (0.0, 0.0),
        [ProducerSpec("p0", "primary", "orders", "east")], {"primary|east": "127.0.0.1:1"},
    )  # fmt: skip
    out = io.StringIO()
    worker = w._Worker(spec, out)
    worker.read_commands(
        io.StringIO(
            '{"op": "pause", "producer": "p0"}\n'
            '{"op": "redirect", "producer": "p0", "cluster": "dr", "site": "west",'
            ' "bootstrap": "127.0.0.1:2"}\n'
        )
    )
    before = time.monotonic()
    worker.command({"op": "clock", "n": 3})
    after = time.monotonic()
    clock = json.loads(out.getvalue())
    out.truncate(0), out.seek(0)
    # Origin 0: the worker's t is the monotonic clock, read between the two readings here.
    assert clock["clock"] == 3 and before <= clock["t"] <= after
    p0 = worker.producers["p0"]
    assert p0.paused.is_set() and p0.take_redirect() == ("dr", "west")
    assert worker.bootstrap["dr|west"] == "127.0.0.1:2"
    assert worker.stop.is_set()  # end of input: the runner is gone
    worker.status(done=True)
    status = json.loads(out.getvalue())
    assert status["done"] is True
    assert status["producers"]["p0"] == {
        "acked": 0, "failed": 0, "unknown": 0, "cluster": "primary", "site": "east",
        "error": None,
    }  # fmt: skip
    worker.history.close()


def test_a_worker_elsewhere_ships_its_segment_with_each_status(tmp_path: Path) -> None:
    """ship_segment: each status carries the bytes the segment gained since the last one, so
    the runner's copy is always a prefix of the worker's file, and whole after ``done``."""
    import base64

    from kafkadrill.history import Ev
    from kafkadrill.workload import worker as w

    spec = WorkerSpec(
        1, "r", str(tmp_path / "history.w1.arrow"), None,
        [ProducerSpec("p0", "primary", "orders", "east")], {"primary|east": "127.0.0.1:1"},
        ship_segment=True,
    )  # fmt: skip
    out = io.StringIO()
    worker = w._Worker(spec, out)
    copy = b""
    for i in range(3):
        worker.history.append(Ev.PHASE, name=f"step-{i}")
        worker.history.flush()
        worker.status()
        copy += base64.b64decode(json.loads(out.getvalue().splitlines()[-1])["segment"])
        assert Path(spec.segment).read_bytes().startswith(copy)
    worker.history.close()
    worker.status(done=True)
    copy += base64.b64decode(json.loads(out.getvalue().splitlines()[-1])["segment"])
    assert copy == Path(spec.segment).read_bytes()


def test_the_spec_may_come_on_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kafkadrill.workload import worker as w

    spec = WorkerSpec(0, "r", str(tmp_path / "history.w0.arrow"), None, [], {})
    seen: list[WorkerSpec] = []

    def run(self: w._Worker, commands: object) -> None:
        seen.append(self.spec)
        self.history.close()

    monkeypatch.setattr(w._Worker, "run", run)
    monkeypatch.setattr(w.signal, "signal", lambda *_: None)  # pytest keeps its own SIGTERM
    monkeypatch.setattr("sys.stdin", io.StringIO(spec.to_json() + "\n"))
    assert w.main(["-"]) == 0 and seen == [spec]


@pytest.mark.parametrize(
    ("producers", "fix"),
    [
        ("{count: 2, worker_command: [ssh, h, python3]}", "set workers: 1 or more"),
        ("{count: 2, workers: 2, worker_command: [ssh, '', python3]}", "non-empty string"),
        ("{count: 2, workers: 2, worker_command: []}", "worker_command"),
    ],
)
def test_a_worker_command_that_cannot_serve_is_refused(
    tmp_path: Path, producers: str, fix: str
) -> None:
    text = f"name: wc\nhistory_format: columnar\nworkload:\n  producers: {producers}\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, text))
    msg = str(info.value)
    assert "workload.producers.worker_command" in msg and fix in msg and str(tmp_path) in msg
