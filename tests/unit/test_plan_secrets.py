"""Issue 19: `kafkadrill plan` (and the plan.txt a run stores) printed secrets in clear. The plan
text goes through the one secret policy (kafkadrill.secrets), as every other output does."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from kafkadrill.runtimes.external.plan import render_plan
from kafkadrill.scenario import Scenario
from kafkadrill.scenario.compile import compile_plan
from kafkadrill.secrets import REDACTED

JAAS_PW = "jaas-pw-7731"
BASIC_PW = "basic-pw-4412"
URL_PW = "url-pw-9905"
PLANTED = (JAAS_PW, BASIC_PW, URL_PW)

JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    f'username="mm2" password="{JAAS_PW}";'
)


def external_data() -> dict[str, Any]:
    return {
        "name": "plan-secrets",
        "description": "t",
        "runtime": "external",
        "duration_seconds": 20,
        "workload": {"consumers": [{"group": "billing"}]},
        "external": {
            "clusters": {
                "primary": {
                    "region": "east",
                    "bootstrap": "127.0.0.1:1",
                    "nodes": [1, 2, 3],
                },
                "dr": {"region": "west", "bootstrap": "127.0.0.1:2", "nodes": [1, 2, 3]},
            },
            "flows": [
                {
                    "source": "primary",
                    "target": "dr",
                    "connect": {
                        "url": f"https://admin:{URL_PW}@connect-west:8083",
                        "connectors": ["mm2-src"],
                    },
                }
            ],
        },
    }


def local_data() -> dict[str, Any]:
    data = copy.deepcopy(external_data())
    del data["external"], data["runtime"]
    data["topology"] = {
        "mm2": {
            "primary.sasl.jaas.config": JAAS,
            "dr.basic.auth.user.info": f"registry:{BASIC_PW}",
        }
    }
    return data


def leaked(text: str) -> list[str]:
    return [s for s in PLANTED if s in text]


def test_plan_text_redacts_mm2_prefixed_secrets() -> None:
    text = render_plan(compile_plan(Scenario.from_dict(local_data())), "local")
    assert "primary.sasl.jaas.config" in text  # the setting is shown, its value is not
    assert not leaked(text), leaked(text)
    assert REDACTED in text


def test_plan_text_redacts_connect_url_credentials() -> None:
    text = render_plan(compile_plan(Scenario.from_dict(external_data())), "external")
    assert "https://admin:" in text and "connect-west:8083" in text
    assert not leaked(text), leaked(text)


def test_plan_txt_in_the_run_directory_holds_no_secret(tmp_path: Path) -> None:
    from kafkadrill.runner import run_drill

    data = local_data()
    data.update(duration_seconds=1, warmup_seconds=0)
    result = run_drill(Scenario.from_dict(data), runtime="fake", reports_dir=tmp_path)
    stored = (result.run_dir / "plan.txt").read_text()
    assert "primary.sasl.jaas.config" in stored
    assert not leaked(stored), leaked(stored)


def test_plan_text_keeps_secret_references() -> None:
    # A reference names where the secret comes from (the approver must see it), and holds none.
    data = external_data()
    data["external"]["clusters"]["primary"]["client_config"] = {"sasl.password": "${ENV:KD_PW}"}
    text = render_plan(compile_plan(Scenario.from_dict(data)), "external")
    assert "client sasl.password = ${ENV:KD_PW}" in text
    assert not leaked(text), leaked(text)
