"""The compose runtime on a real Docker engine: real containers, real Kafka, MM2, Toxiproxy.

Skipped (with the reason) when no Docker engine answers; CI sets one up (.ci/docker-setup.sh).
Images are built here with no registry (`kafkadrill images`; cached, seconds when present).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kafkadrill.runtimes.compose import render as cr
from kafkadrill.runtimes.compose.runtime import ComposeRuntime, docker_available
from kafkadrill.topology import DEFAULT_PRIMARY_AZS, two_dc

_why = docker_available()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(_why is not None, reason=f"compose runtime needs Docker: {_why}"),
]
ROOT = Path(__file__).resolve().parents[2]
QUIET = {"log_level": 0}


@pytest.fixture(scope="module")
def images() -> tuple[str, str]:
    from kafkadrill.runtimes.compose.images import build_images

    built = build_images()
    return built.kafka, built.toxiproxy


@pytest.fixture(scope="module")
def rt(
    images: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeRuntime]:
    topo = two_dc(3, primary_azs=DEFAULT_PRIMARY_AZS)
    workdir = tmp_path_factory.mktemp("compose-3x3")
    with ComposeRuntime(topo, workdir, kafka_image=images[0], toxiproxy_image=images[1]) as runtime:
        yield runtime
    # Logs of every container land in the run directory.
    assert (workdir / "logs" / "primary-n1" / "stdout.log").stat().st_size > 0


def _labelled(run_id: str) -> dict[str, list[str]]:
    label = f"label={cr.LABEL_RUN}={run_id}"
    out = {}
    for kind, cmd in (
        ("container", ["docker", "ps", "-aq", "--filter", label]),
        ("network", ["docker", "network", "ls", "-q", "--filter", label]),
        ("volume", ["docker", "volume", "ls", "-q", "--filter", label]),
    ):
        out[kind] = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    return out


def _produce(bootstrap: str, topic: str, value: bytes, timeout: float = 30.0) -> None:
    from confluent_kafka import Producer

    errors: list[object] = []
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", **QUIET})
    p.produce(topic, value, on_delivery=lambda e, _m: e and errors.append(e))
    assert p.flush(timeout) == 0 and not errors, f"produce to {topic} failed: {errors}"


def _read(bootstrap: str, topic: str, value: bytes, timeout: float) -> float | None:
    """Seconds until `value` is read from `topic`, or None."""
    from confluent_kafka import Consumer

    t0 = time.monotonic()
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"kd-test-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "topic.metadata.refresh.interval.ms": 1000,
            **QUIET,
        }
    )
    try:
        c.subscribe([topic])
        while time.monotonic() - t0 < timeout:
            m = c.poll(0.5)
            if m is not None and m.error() is None and m.value() == value:
                return time.monotonic() - t0
        return None
    finally:
        c.close()


def _registered(rt: ComposeRuntime, bootstrap: str) -> int:
    """Live brokers the cluster reports, or -1 while it cannot answer (no controller yet)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, **QUIET})
    try:
        return len(admin.describe_cluster(request_timeout=5).result().nodes)
    except KafkaException:
        return -1


def _wait(pred: object, timeout: float, what: str) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():  # type: ignore[operator]
            return time.monotonic() - t0
        time.sleep(0.5)
    raise AssertionError(f"{what} not within {timeout:.0f}s")


def test_record_on_primary_is_read_back_on_dr(rt: ComposeRuntime) -> None:
    value = f"hello-{uuid.uuid4()}".encode()
    _produce(rt.bootstrap("primary"), "orders", value)
    took = _read(rt.bootstrap("dr"), "primary.orders", value, 60)
    assert took is not None, "MM2 did not copy the record to primary.orders on dr"
    # Host clients in another region cross the link (HOSTX proxies) and get the same data.
    assert _read(rt.bootstrap("dr", from_site="east"), "primary.orders", value, 30) is not None


def test_node_kill_is_a_sigkill_and_start_brings_it_back(rt: ComposeRuntime) -> None:
    addr = rt.bootstrap("dr").split(",")[2]
    assert rt.ping(addr, 2.0) is not None
    rt.node_kill("dr", 3)
    assert rt.node_state("dr", 3) == "down"
    code = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.ExitCode}}", f"{rt.project}-dr-n3-1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert code == "137", f"exit code {code}: not killed by SIGKILL"
    assert rt.ping(addr, 1.0) is None
    _wait(lambda: _registered(rt, rt.bootstrap("dr")) == 2, 30, "dr fencing the killed node")
    rt.node_start("dr", 3)
    assert rt.node_state("dr", 3) == "running"
    _wait(lambda: rt.ping(addr, 1.0) is not None, 60, "the restarted node answering")
    _wait(lambda: _registered(rt, rt.bootstrap("dr")) == 3, 60, "the node registering again")


def test_pause_freezes_the_node(rt: ComposeRuntime) -> None:
    addr = rt.bootstrap("dr").split(",")[0]
    rt.node_pause("dr", 1)
    try:
        assert rt.node_state("dr", 1) == "paused"
        assert rt.ping(addr, 1.0) is None
    finally:
        rt.node_resume("dr", 1)
    assert rt.node_state("dr", 1) == "running"
    _wait(lambda: rt.ping(addr, 1.0) is not None, 30, "the resumed node answering")


def test_link_cut_stops_replication_and_heals(rt: ComposeRuntime) -> None:
    effect = rt.link_cut("east", "west")
    value = f"during-cut-{uuid.uuid4()}".encode()
    try:
        ok, detail = rt.link_in_force(effect)
        assert ok, detail
        assert effect.probes and all(rt.ping(p, 1.0) is None for p in effect.probes)
        # The primary still takes writes; they cannot reach dr while the link is cut.
        _produce(rt.bootstrap("primary"), "orders", value)
        assert _read(rt.bootstrap("dr"), "primary.orders", value, 8) is None
    finally:
        rt.link_restore(effect)
    _wait(lambda: all(rt.ping(p, 1.0) is not None for p in effect.probes), 20, "paths back")
    assert _read(rt.bootstrap("dr"), "primary.orders", value, 90) is not None


def test_link_latency_shows_in_the_round_trip(rt: ComposeRuntime) -> None:
    effect = rt.link_toxic("east", "west", "both", "latency", {"latency": 300, "jitter": 0})
    try:
        assert rt.link_in_force(effect)[0]
        rtt = rt.ping(effect.probes[0], 5.0)
        assert rtt is not None and rtt >= 0.25, rtt
    finally:
        rt.link_restore(effect)


def test_az_partition_is_a_network_cut(rt: ComposeRuntime) -> None:
    c = rt.topology.cluster("primary")
    isolated = next(n.node_id for n in c.nodes if n.site == "east-c")
    majority = ",".join(
        a
        for n, a in zip(c.nodes, rt.bootstrap("primary").split(","), strict=True)
        if n.site != "east-c"
    )
    effect = rt.az_partition("primary", "east-c", "both", True)
    try:
        ok, detail = rt.link_in_force(effect)
        assert ok, detail
        assert all(rt.ping(p, 1.0) is None for p in effect.probes)
        # The majority side fences the isolated node: it really lost the network, not paused.
        _wait(lambda: _registered(rt, majority) == 2, 40, "the majority fencing east-c")
        assert rt.node_state("primary", isolated) == "running"
    finally:
        rt.link_restore(effect)
    _wait(lambda: _registered(rt, majority) == 3, 60, "east-c registering again")


_RUNNER = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from kafkadrill.runtimes.compose.runtime import ComposeRuntime\n"
    "from kafkadrill.topology import two_dc\n"
    "rt = ComposeRuntime(two_dc(1), Path(sys.argv[1]), kafka_image=sys.argv[2],"
    " toxiproxy_image=sys.argv[3])\n"
    "rt.start()\n"
    "rt.link_cut('east', 'west')\n"  # killed during a fault, as a CI timeout would
    "print('READY', rt.run_id, rt._reaper.proc.pid, flush=True)\n"
    "time.sleep(600)\n"
)


def _start_runner(images: tuple[str, str], tmp: Path) -> tuple[subprocess.Popen[str], str, int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(tmp), *images], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY"), f"runner did not start: {line!r}"
    _, run_id, reaper_pid = line.split()
    before = _labelled(run_id)
    assert len(before["container"]) == 4 and before["network"] and before["volume"]
    return proc, run_id, int(reaper_pid)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from kafkadrill.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_sigkilled_runner_is_reaped_within_30_s(images: tuple[str, str], tmp_path: Path) -> None:
    """Nothing of a run outlives its runner: no command from anyone (issue 26)."""
    proc, run_id, _reaper = _start_runner(images, tmp_path)
    try:
        os.kill(proc.pid, signal.SIGKILL)
        t0 = time.monotonic()
        proc.wait(10)
        empty = {"container": [], "network": [], "volume": []}
        took = _wait(lambda: _labelled(run_id) == empty, 30, "the reaper removing the run")
        print(f"SIGKILL to 0 containers, networks and volumes: {time.monotonic() - t0:.1f} s")
        assert took <= 30
        log = tmp_path / "logs" / "reaper.log"
        # It ends after two empty sweeps a second apart.
        _wait(lambda: f"reaped run {run_id}" in log.read_text(), 15, "the reaper finishing")
        assert "died without cleaning up" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_leftovers_of_a_dead_reaper_are_listed_and_removed_by_down(
    images: tuple[str, str], tmp_path: Path
) -> None:
    """The reaper's own death (e.g. a CI job killing its whole cgroup) is covered too: status
    names the dead runner's project and `kafkadrill down` removes it."""
    proc, run_id, reaper_pid = _start_runner(images, tmp_path)
    try:
        os.kill(reaper_pid, signal.SIGKILL)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert _labelled(run_id)["container"]  # nothing removed them
        st = _cli("status", "--json")
        assert st.returncode == 0, st.stderr
        projects = json.loads(st.stdout)["compose_projects"]
        mine = [p for p in projects if p.get("run_id") == run_id]
        assert mine and mine[0]["runner_alive"] == "no", projects
        down = _cli("down")
        assert down.returncode == 0, down.stderr
        after = _labelled(run_id)
        assert after == {"container": [], "network": [], "volume": []}, after
    finally:
        if proc.poll() is None:
            proc.kill()


def test_top_level_compose_file_replicates_primary_to_dr(images: tuple[str, str]) -> None:
    env = {**os.environ, "KAFKA_IMAGE": images[0], "TOXIPROXY_IMAGE": images[1]}
    compose = ["docker", "compose", "-f", str(ROOT / "docker-compose.yml")]
    up = subprocess.run(
        [*compose, "up", "-d"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    try:
        assert up.returncode == 0, up.stderr
        primary = "127.0.0.1:19001,127.0.0.1:19002,127.0.0.1:19003"
        dr = "127.0.0.1:19051,127.0.0.1:19052,127.0.0.1:19053"
        topic = f"try-{uuid.uuid4().hex[:8]}"  # a new topic: auto-created, as a user expects
        value = b"hello from the playground"
        deadline = time.monotonic() + 120
        while True:  # the brokers take a while to start; retry the first write
            try:
                _produce(primary, topic, value, timeout=20)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
        took = _read(dr, f"primary.{topic}", value, 120)
        assert took is not None, f"primary.{topic} never showed the record on dr"
    finally:
        subprocess.run(
            [*compose, "down", "-v", "-t", "5"], env=env, capture_output=True, timeout=300
        )
