"""The drill suite `pytest drills/` runs (in CI, on a 2-core runner; see drills/README.md).

`kafkadrill_scenarios` opts this directory in: every listed scenario file (paths and glob
patterns, relative to this file) becomes a drill item named after the scenario. Other YAML files
in the repository are never collected; `pytest scenarios/<name>.yaml` runs any one of them.

On every landing, each drill proves one guarantee with margins (never an exact figure): the
scenarios below, transactions, an exactly-once copier and KIP-848's consumer group protocol
through a leader kill, whose plain acks=all producer also makes the claim of
scenarios/default.yaml (a broker loss with acks=all loses no acknowledged write:
test_broker_loss_transactions.py), active-passive region
failover with offset translation over a 20 ms WAN (test_region_failover.py), an AZ partition
(test_az_partition.py), a failover with a straggler producer with and without a fence on the
old primary (test_fence_split_writes.py), retention outrunning a stopped MirrorMaker 2 before a
region failover (test_retention_outruns_replication.py), a MirrorMaker 2 task failed inside a
live Kafka Connect worker (test_mm2_connect.py), backup and restore (test_backup_restore.py)
and schema registry DR (test_schema_registry.py); the Python ones because they assert what YAML
cannot state. `--suite release` adds leader-kill.yaml and test_broker_loss_acks.py's acks=all
arm (their claim is the transactions drill's too) and its acks=1 arm (a measured figure, no
guarantee).
Consecutive drills of an equal topology share one (verified reset between them; reports say
so; `--fresh-topology` turns it off): the four below run on one 3+3 topology. The deployment
models (active-active, stretch) are drilled by tests/integration/test_deployment_models.py.
"""

from pathlib import Path

import pytest

kafkadrill_scenarios = [
    # In this order on one kept topology: MM2's settings are equal for the first three, so
    # it keeps running unless a drill left it unhealthy (the reset checks its heartbeats).
    "../scenarios/leader-kill.yaml",  # the partition's current leader dies; 0 acked lost
    "../scenarios/mm2-crash.yaml",  # MM2 at-least-once: duplicates bounded, nothing lost
    "../scenarios/link-cut.yaml",  # replication stalls and catches up; nothing lost
    "../scenarios/failback.yaml",  # the round trip back to primary, 0 skipped
]

#: The modules of this directory in the order they run (after the scenarios above): the drills
#: on the plain 3+3 topology of the scenarios run back to back and share it (the topology
#: pool), then the drills that need a topology of their own (an authorizer, AZs, a WAN,
#: retention checks). Alphabetical order started a 3+3 topology three times.
MODULE_ORDER = (
    "test_broker_loss_acks.py",
    "test_broker_loss_transactions.py",
    "test_mm2_connect.py",
    "test_fence_split_writes.py",  # unfenced (3+3) first, then fenced (an authorizer)
    "test_az_partition.py",
    "test_region_failover.py",
    "test_retention_outruns_replication.py",
    "test_backup_restore.py",
    "test_schema_registry.py",
)


#: Items that re-prove what another landing drill proves: they run with `--suite release`.
#: leader-kill's claim (orders/0's leader SIGKILLed: no acked write lost, writers back within
#: 30 s) is made by test_broker_loss_transactions.py too, whose scenario kills the same leader
#: under a plain acks=all producer besides the transactional one, with the same objectives.
RELEASE_ONLY = ("leader-kill.yaml::leader-kill",)


@pytest.hookimpl(tryfirst=True)  # before the repository conftest splits the suites
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.nodeid.endswith(RELEASE_ONLY):
            item.add_marker(pytest.mark.release)
    mine = [i for i, item in enumerate(items) if item.path.parent == here]

    def rank(item: pytest.Item) -> int:
        name = item.path.name
        if name == "conftest.py":
            return -1  # the scenario items
        return MODULE_ORDER.index(name) if name in MODULE_ORDER else len(MODULE_ORDER)

    ordered = sorted((items[i] for i in mine), key=rank)  # stable: a module keeps its order
    for i, item in zip(mine, ordered, strict=True):
        items[i] = item
