"""The drill suite `pytest drills/` runs (in CI, on a 2-core runner; see drills/README.md).

`kafkadrill_scenarios` opts this directory in: every listed scenario file (paths and glob
patterns, relative to this file) becomes a drill item named after the scenario. Other YAML files
in the repository are never collected; `pytest scenarios/<name>.yaml` runs any one of them.

Ten drills, each on a fresh real topology at 1,000 msg/s, each proving one guarantee with
margins (never an exact figure): the six scenarios below (with a stretch cluster and an
active-active pair among them), the acks=all / acks=1 broker loss pair (test_broker_loss_acks.py,
whose acks=all arm makes the claim of scenarios/default.yaml), active-passive region failover
with offset translation over a 20 ms WAN (test_region_failover.py) and an AZ partition
(test_az_partition.py), the last two in Python because they assert what YAML cannot state.
"""

kafkadrill_scenarios = [
    "../scenarios/link-cut.yaml",  # replication stalls and catches up; nothing lost
    "../scenarios/leader-kill.yaml",  # the partition's current leader dies; 0 acked lost
    "../scenarios/mm2-crash.yaml",  # MM2 at-least-once: duplicates bounded, nothing lost
    "../scenarios/failback.yaml",  # the round trip back to primary, 0 skipped
    "../scenarios/stretch-site-loss.yaml",  # stretch cluster: one site lost, 0 acked lost
    # active-active, east lost: 0 lost per origin, no cycle, both aggregates complete
    "../scenarios/active-active-region-outage.yaml",
]
