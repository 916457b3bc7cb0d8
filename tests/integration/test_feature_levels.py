"""topology.features, for real: the storage tool formats a bootstrap checkpoint with the
scenario's feature levels (kept per feature set), and refuses a level the Kafka version does not
know with an error that says which setting. No broker starts: one storage-tool JVM per case.
(A drill on a featured topology, and the broker log's "setting feature transaction.version to
1", were checked by hand on the local and compose runtimes: docs/howto/drill-transactions.md.)"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.local.nodes import LocalNodes
from kafkadrill.runtimes.shared.provision import ensure_kafka


class _Formatter(LocalNodes):
    """Just enough of the local runtime to call its storage-tool step."""

    def __init__(self) -> None:
        self.kafka = ensure_kafka()
        self.cds_opts = []
        self.heap_mb = 256
        self.plan = SimpleNamespace(base=0)  # the -Dkafkadrill.topology tag of its JVMs


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The checkpoints land in a cache of their own: this test proves the format, not a hit.
    import kafkadrill.runtimes.local.nodes as nodes

    monkeypatch.setattr(nodes, "cache_dir", lambda: tmp_path)


def _records(path: Path) -> bytes:
    return path.read_bytes()


def test_feature_levels_are_formatted_into_their_own_checkpoint() -> None:
    f = _Formatter()
    default = f._bootstrap_checkpoint()
    v1 = f._bootstrap_checkpoint((("transaction.version", 1),))
    assert v1 != default and v1.parent.name.endswith("-transaction.version=1")
    # The feature's name is in the KRaft records of the checkpoint; the level differs from the
    # default one (transaction.version 2 on Kafka 4.x).
    assert b"transaction.version" in _records(v1) and _records(v1) != _records(default)
    again = f._bootstrap_checkpoint((("transaction.version", 1),))
    assert again == v1  # kept per feature set


def test_a_level_the_version_does_not_know_is_an_error_naming_the_setting() -> None:
    f = _Formatter()
    with pytest.raises(TopologyError) as exc:
        f._bootstrap_checkpoint((("transaction.version", 99),))
    text: Any = str(exc.value)
    assert "topology.features" in text and "transaction.version" in text
