"""A real drill with distinctive secrets planted in every config place that reaches a real
component: nothing of them may remain in the run directory or on the console (issue 14).

The values go where Kafka accepts them harmlessly on PLAINTEXT listeners: librdkafka takes
`sasl.password`, `ssl.key.pem`, `ssl.key.password`, OAuth settings and ignores them without SASL or
SSL; brokers ignore unknown settings; MM2 ignores a JAAS config for a PLAINTEXT cluster and unknown
cluster- or flow-prefixed properties. So the topology writes them into server.properties and
mm2.properties and the clients see them, exactly as a real secured setup would.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

PEM_BODY = "MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wDrillPlantedPem0077"
PLANTED = {
    "producer-sasl": "Dr1ll-producer-sasl-71",
    "producer-url": "Dr1ll-producer-url-72",
    "consumer-secret": "Dr1ll-consumer-secret-73",
    "consumer-keypw": "Dr1ll-consumer-keypw-74",
    "broker": "Dr1ll-broker-password-75",
    "cluster-dr": "Dr1ll-cluster-dr-apikey-76",
    "mm2-jaas": "Dr1ll-mm2-jaas-77",
    "mm2-flow": "Dr1ll-mm2-flow-78",
    "mm2-basic": "Dr1ll-mm2-basic-79",
    "pem": PEM_BODY,
}
P = PLANTED


def scenario() -> dict[str, object]:
    return {
        "name": "secrets-drill",
        "description": "planted secrets must not survive a real drill",
        "duration_seconds": 12,
        "warmup_seconds": 3,
        "topology": {
            "nodes": {"primary": 1, "dr": 1},
            "topics": [
                {
                    "name": "orders",
                    "partitions": 1,
                    "replication_factor": 1,
                    "config": {"min.insync.replicas": "1"},
                }
            ],
            "broker_config": {"kafkadrill.audit.password": P["broker"]},
            "cluster_config": {"dr": {"kafkadrill.audit.api.key": P["cluster-dr"]}},
            "mm2": {
                "primary.sasl.jaas.config": (
                    "org.apache.kafka.common.security.plain.PlainLoginModule required "
                    f'username="mm2" password="{P["mm2-jaas"]}";'
                ),
                "primary->dr.kafkadrill.audit.password": P["mm2-flow"],
                "dr.basic.auth.user.info": f"mm2:{P['mm2-basic']}",
            },
        },
        "workload": {
            "producers": {
                "rate_per_second": 50,
                "config": {
                    "sasl.password": P["producer-sasl"],
                    "sasl.oauthbearer.token.endpoint.url": (
                        f"https://svc:{P['producer-url']}@127.0.0.1:9/token"
                    ),
                    "ssl.key.pem": (
                        f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----\n"
                    ),
                },
            },
            "consumers": [
                {
                    "group": "billing",
                    "config": {
                        "sasl.oauthbearer.client.secret": P["consumer-secret"],
                        "ssl.key.password": P["consumer-keypw"],
                    },
                }
            ],
        },
        "final_read": {"timeout_seconds": 30},
        "objectives": {"max_lost": 0},
    }


def _leaks(data: bytes) -> list[str]:
    return [name for name, value in PLANTED.items() if value.encode() in data]


def test_planted_secrets_leave_no_trace_after_a_real_drill(tmp_path: Path) -> None:
    path = tmp_path / "secrets-drill.yaml"
    path.write_text(yaml.safe_dump(scenario(), sort_keys=False))
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "kafkadrill.cli", "run", str(path), "--reports-dir", str(reports)],
        capture_output=True,
        timeout=600,
        check=False,
    )
    console = proc.stdout + proc.stderr
    run_dirs = [p for p in (reports / "secrets-drill").iterdir() if p.is_dir()]
    assert len(run_dirs) == 1, console.decode(errors="replace")
    run = run_dirs[0]
    # A drill that ran (PASS or FAIL): an infrastructure error would not exercise the configs.
    assert proc.returncode in (0, 1), console.decode(errors="replace")[-3000:]

    files = {}
    for p in run.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            files[p.relative_to(run).as_posix()] = (
                gzip.decompress(data) if p.suffix == ".gz" else data
            )
    # The files the issue found leaking exist, and the planted values really reached them
    # (redacted in place), so this test looks where a secret would be.
    mm2 = [n for n in files if n.startswith("config/") and n.endswith("/mm2.properties")]
    servers = [n for n in files if n.startswith("config/") and n.endswith("/server.properties")]
    assert mm2 and servers, sorted(files)
    for name in ("scenario.yaml", "report.json", "report.md", "report.html", "logs/clients.log"):
        assert name in files, sorted(files)
    # The clients really ran with the planted settings: messages were acknowledged.
    assert json.loads(files["report.json"])["rpo"]["acked"] > 0
    assert b"primary.sasl.jaas.config=***REDACTED***" in files[mm2[0]]
    assert b"kafkadrill.audit.password=***REDACTED***" in files[servers[0]]

    leaked = {name: found for name, data in files.items() if (found := _leaks(data))}
    assert not leaked, leaked
    assert not _leaks(console), _leaks(console)
