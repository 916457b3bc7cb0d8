"""The drill suite `pytest drills/` runs (in CI, on a 2-core runner, in about 8 minutes).

`kafkadrill_scenarios` opts this directory in: every listed scenario file (paths and glob
patterns, relative to this file) becomes a drill item named after the scenario. Other YAML files
in the repository are never collected; `pytest scenarios/<name>.yaml` runs any one of them.

Chosen to cover the three failure families in little time (each drill is 1.5-2 min with its
own topology): broker loss under acks=all, a cross-DC link cut (replication stalls and catches
up), and a MirrorMaker 2 crash (at-least-once: duplicates, never loss). The Python drills in
this directory add what YAML cannot say (test_broker_loss_acks.py: acks=all vs acks=1).
"""

kafkadrill_scenarios = [
    "../scenarios/default.yaml",
    "../scenarios/link-cut.yaml",
    "../scenarios/mm2-crash.yaml",
]
