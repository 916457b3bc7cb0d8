"""Secrets set in a scenario never appear in any output file of a run."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import orjson
import pytest

from kafkadrill.history import read_history
from kafkadrill.history.columnar_writer import write_events
from kafkadrill.report.plots import read_events
from kafkadrill.report.redact import (
    REDACTED,
    find_secrets,
    find_secrets_in_text,
    redact,
    redact_text,
    scrub_run_dir,
)
from kafkadrill.report.render import write_report
from kafkadrill.report.store import compress_history

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sample_run"
_spec = importlib.util.spec_from_file_location("sample_run", FIXTURE / "generate.py")
assert _spec and _spec.loader
sample = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sample)

PROPERTIES = """\
bootstrap.servers=east-1:9092
security.protocol=SASL_SSL
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \
username="mm2" password="jaas-pass-123";
ssl.key.password = key-pass-456
ssl.truststore.password: trust-pass-789
# password=comment-not-a-secret-but-redacted-anyway
schema.registry.basic.auth.user.info=user:registry-token-000
confluent.api.key=API-KEY-ABCDEF
"""


def test_redact_text_properties() -> None:
    out = redact_text(PROPERTIES)
    for secret in ("jaas-pass-123", "key-pass-456", "trust-pass-789", "API-KEY-ABCDEF"):
        assert secret not in out
    assert "bootstrap.servers=east-1:9092" in out
    assert "ssl.key.password = ***REDACTED***" in out


def test_find_secrets_in_properties_includes_jaas_password() -> None:
    found = find_secrets_in_text(PROPERTIES)
    assert {"jaas-pass-123", "key-pass-456", "trust-pass-789", "API-KEY-ABCDEF"} <= found
    assert "east-1:9092" not in found


def test_redact_nested_dicts_case_insensitive() -> None:
    cfg = {
        "clusters": {"east": {"SSL.Key.Password": "k3y-pass", "port": 9092}},
        "Token": "tok-12345",
        "api_key": "ak-12345",
        "credentials": {"user": "u", "pw": "x"},
        "list": [{"sasl.jaas.config": '... password="p-12345";'}],
        "flag": None,
    }
    red = redact(cfg)
    assert red["clusters"]["east"] == {"SSL.Key.Password": REDACTED, "port": 9092}
    assert red["Token"] == red["api_key"] == REDACTED
    assert red["credentials"] == {"user": REDACTED, "pw": REDACTED}
    assert red["list"][0]["sasl.jaas.config"] == REDACTED and red["flag"] is None
    assert cfg["Token"] == "tok-12345"  # the input is not modified
    assert {"k3y-pass", "tok-12345", "ak-12345", "p-12345"} <= find_secrets(cfg)


def test_short_and_boolean_values_are_not_hunted_everywhere() -> None:
    # Replacing "true" or "1" in every file would corrupt the evidence.
    assert find_secrets({"use_token": True, "token_ttl": 1, "password": "true"}) == set()


def test_yaml_text_and_inline_jaas() -> None:
    text = (
        "client:\n  ssl.key.password: 'abc-def-1'\n  note: x\n"
        'jaas: Login required password="in line pw";\n'
    )
    out = redact_text(text)
    assert "abc-def-1" not in out and "in line pw" not in out and "note: x" in out


def test_scrub_keeps_json_valid_and_reaches_gzip(tmp_path: Path) -> None:
    (tmp_path / "environment.json").write_bytes(
        orjson.dumps({"client": {"password": 'pw-"quoted"-1'}, "log": 'said pw-"quoted"-1'})
    )
    (tmp_path / "history.jsonl.gz").write_bytes(
        gzip.compress(orjson.dumps({"type": "runbook.step", "detail": 'pw-"quoted"-1'}) + b"\n")
    )
    (tmp_path / "x.log").write_text('login with pw-"quoted"-1\n')
    res = scrub_run_dir(tmp_path, ['pw-"quoted"-1'])
    assert len(res.rewritten) == 3 and not res.binary_hits
    env = orjson.loads((tmp_path / "environment.json").read_bytes())
    assert env == {"client": {"password": REDACTED}, "log": f"said {REDACTED}"}
    assert b"quoted" not in gzip.decompress((tmp_path / "history.jsonl.gz").read_bytes())
    assert "quoted" not in (tmp_path / "x.log").read_text()


def _all_bytes(run_dir: Path) -> dict[str, bytes]:
    out = {}
    for p in run_dir.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            if p.suffix == ".gz":
                data = gzip.decompress(data)
            elif p.suffix == ".arrow":  # compressed columns: look at what they hold
                data = b"".join(orjson.dumps(e) + b"\n" for e in read_history(p))
            out[p.relative_to(run_dir).as_posix()] = data
    return out


@pytest.mark.parametrize(
    "form", ["plain", "gzip", "columnar"], ids=["plain-history", "gzip-history", "columnar"]
)
def test_scenario_secrets_never_appear_in_any_output_file(tmp_path: Path, form: str) -> None:
    run_dir = sample.make_run_dir(tmp_path)
    # The fixture plants the secrets in scenario.yaml, environment.json, a log and the history.
    planted = _all_bytes(run_dir)
    assert any(sample.JAAS_PASSWORD.encode() in b for b in planted.values())
    events = read_events(run_dir / "history.jsonl")
    if form == "gzip":
        compress_history(run_dir, threshold_bytes=0)
    if form == "columnar":
        write_events(run_dir / "history.arrow", events)
        (run_dir / "history.jsonl").unlink()
        planted = _all_bytes(run_dir)  # the columnar history holds a planted secret
        assert any(s.encode() in planted["history.arrow"] for s in sample.SECRETS)
    extra = "only-in-a-log-0042"
    (run_dir / "logs" / "extra.log").write_text(f"token {extra}\n")
    write_report(run_dir, sample.load_report(), events, secrets=[extra])
    files = _all_bytes(run_dir)
    assert {"report.json", "report.md", "report.html", "MANIFEST.sha256"} <= files.keys()
    for secret in (*sample.SECRETS, extra):
        leaks = [name for name, data in files.items() if secret.encode() in data]
        assert not leaks, f"{secret!r} leaked into {leaks}"
    assert REDACTED.encode() in files["scenario.yaml"]
    # redaction must not have broken the structured files
    orjson.loads(files["report.json"])
    orjson.loads(files["environment.json"])
    name = {"plain": "history.jsonl", "gzip": "history.jsonl.gz", "columnar": "history.arrow"}
    history = files[name[form]]
    assert all(orjson.loads(line) for line in history.splitlines())
