"""What the class-data sharing archive saves: one KRaft node started N times without and with it.

    python benchmarks/jvm_cds.py [--runs 5]

Each start: a fresh one-node KRaft broker (formatted storage, the local runtime's JVM flags and
classpath) until it lists itself in a metadata response. Reported per arm: the JVM's CPU
seconds (user + system) up to that point and the wall seconds, min / median / max. The arms
alternate so a change of machine load hits both. CPU seconds are the figure that matters on a
2-core machine starting seven JVMs at once; wall on an idle machine is close to CPU.
Run nothing else meanwhile. The archive is built first if missing (runtimes/shared/cds.py).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
from confluent_kafka.admin import AdminClient

from kafkadrill.runtimes.shared import cds
from kafkadrill.runtimes.shared.config import new_cluster_id
from kafkadrill.runtimes.shared.provision import ensure_kafka

FLAGS = ["-Xmx256m", "-Xms32m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]


def start_once(classpath: str, extra: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one node start up to its first metadata answer."""
    work = Path(tempfile.mkdtemp(prefix="kafkadrill-cds-bench-"))
    try:
        conf, port = cds.one_node_config(work)
        cid = new_cluster_id()
        base = ["java", *FLAGS, *extra, "-cp", classpath]
        fmt = [*base, "kafka.tools.StorageTool", "format", "-t", cid, "-c", str(conf)]
        subprocess.run(fmt, check=True, capture_output=True)
        t0 = time.monotonic()
        node = subprocess.Popen(
            [*base, "kafka.Kafka", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        proc = psutil.Process(node.pid)
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}", "log_level": 0})
        try:
            while True:
                cpu = sum(proc.cpu_times()[:2])
                with contextlib.suppress(Exception):
                    if admin.list_topics(timeout=0.5).brokers:
                        return cpu, time.monotonic() - t0
                if node.poll() is not None or time.monotonic() - t0 > 120:
                    raise RuntimeError("the node did not start")
                time.sleep(0.05)
        finally:
            node.kill()
            node.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _spread(xs: list[float]) -> str:
    return f"{min(xs):.2f} / {statistics.median(xs):.2f} / {max(xs):.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    kafka = ensure_kafka()
    archive, note = cds.ensure_archive(kafka)
    if archive is None:
        raise SystemExit(note)
    arms: dict[str, list[str]] = {"without": [], "with": cds.jvm_options(kafka)}
    got: dict[str, list[tuple[float, float]]] = {a: [] for a in arms}
    for _ in range(args.runs):
        for arm, extra in arms.items():
            got[arm].append(start_once(kafka.classpath, extra))
    print(f"Kafka {kafka.version}, {args.runs} starts per arm; min / median / max")
    print("| class-data sharing | CPU s to first metadata answer | wall s |")
    print("|---|---|---|")
    for arm, runs in got.items():
        print(f"| {arm} | {_spread([c for c, _ in runs])} | {_spread([w for _, w in runs])} |")


if __name__ == "__main__":
    main()
