"""The drill suite `pytest drills/` runs (in CI, on a 2-core runner, in about 8 minutes).

`kafkadrill_scenarios` opts this directory in: every listed scenario file (paths and glob
patterns, relative to this file) becomes a drill item named after the scenario. Other YAML files
in the repository are never collected; `pytest scenarios/<name>.yaml` runs any one of them.

Each drill starts its own topology and takes 1.5-2.5 minutes on 2 cores, so the suite is four
drills that cover the three failure families:
- link-cut.yaml: a cross-DC link cut; replication stalls and catches up, nothing lost;
- mm2-crash.yaml: MirrorMaker 2 SIGKILLed; at-least-once: bounded duplicates, never loss;
- test_broker_loss_acks.py: the same broker loss under acks=all and acks=1 (two drills); its
  acks=all arm makes the claim of scenarios/default.yaml (no acknowledged write lost), which is
  therefore not listed again here (`pytest scenarios/default.yaml` runs it alone).
"""

kafkadrill_scenarios = [
    "../scenarios/link-cut.yaml",
    "../scenarios/mm2-crash.yaml",
]
