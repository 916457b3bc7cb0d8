"""What MirrorMaker 2 carries across a flow, decided the way MM2 decides it (pure).

A topic is replicated iff it matches the flow's `topics` and not `topics.exclude` and is not
internal; a topic config is synced iff `sync.topic.configs.enabled` and it does not match
`config.properties.exclude`. The metadata faults (faults/metadata.py) derive what a change
should do on the target from these rules, and validate topic config names against Kafka's own
list.
"""

from __future__ import annotations

import re
from typing import Literal

from kafkadrill.topology import Flow

Expect = Literal["replicated", "excluded"]

# MirrorMaker 2's defaults (Kafka 4.x DefaultTopicFilter / DefaultConfigPropertyFilter).
MM2_TOPICS_DEFAULT = ".*"
MM2_TOPICS_EXCLUDE_DEFAULT = r"mm2.*\.internal, .*\.replica, __.*"
MM2_CONFIG_EXCLUDE_DEFAULT = (
    r"follower\.replication\.throttled\.replicas, leader\.replication\.throttled\.replicas, "
    r"message\.timestamp\.difference\.max\.ms, log\.message\.timestamp\.before\.max\.ms, "
    r"log\.message\.timestamp\.after\.max\.ms, message\.timestamp\.type, "
    r"unclean\.leader\.election\.enable, min\.insync\.replicas"
)

#: Topic-level configs of Kafka 4.x (TopicConfig); a name outside this list is a typo here.
TOPIC_CONFIGS = (
    "cleanup.policy",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.type",
    "compression.zstd.level",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "follower.replication.throttled.replicas",
    "index.interval.bytes",
    "leader.replication.throttled.replicas",
    "local.retention.bytes",
    "local.retention.ms",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "preallocate",
    "remote.log.copy.disable",
    "remote.log.delete.on.disable",
    "remote.storage.enable",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
    "unclean.leader.election.enable",
)

# --------------------------------------------------------------------------------------------
# What MM2 carries
# --------------------------------------------------------------------------------------------


def mm2_setting(flow: Flow, key: str, default: str) -> str:
    """A flow's MM2 setting as MM2 resolves it: `<source>-><target>.<key>`, else `<key>`."""
    props = flow.properties
    return str(props.get(f"{flow.name}.{key}", props.get(key, default)))


def _pattern_list(text: str) -> re.Pattern[str]:
    # MM2 joins the comma-separated list with '|' and requires a whole-name match.
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return re.compile("|".join(f"(?:{p})" for p in parts) if parts else r"(?!)")


def topic_expectation(flow: Flow, topic: str) -> Expect:
    """Would MM2 replicate `topic` of the flow's source? (re.error for a pattern Python cannot
    read.) The include list is the flow's `topics` (a `<flow>.topics` property overrides it)."""
    include = str(flow.properties.get(f"{flow.name}.topics", flow.topics))
    exclude = mm2_setting(flow, "topics.exclude", MM2_TOPICS_EXCLUDE_DEFAULT)
    internal = (
        topic.startswith(("__", "."))
        or (topic.startswith("mm2") and topic.endswith(".internal"))
        or topic.endswith(".checkpoints.internal")
    )
    # A topic that is already a copy from the target would loop back: MM2 skips it.
    cycle = flow.remote_topic(topic) != topic and topic.startswith(f"{flow.target}.")
    ok = (
        _pattern_list(include).fullmatch(topic) is not None
        and _pattern_list(exclude).fullmatch(topic) is None
        and not internal
        and not cycle
    )
    return "replicated" if ok else "excluded"


def config_expectation(flow: Flow, config: str) -> Expect:
    """Would MM2 sync topic config `config` (set explicitly on the source) to the target?"""
    if mm2_setting(flow, "sync.topic.configs.enabled", "true").strip().lower() != "true":
        return "excluded"
    exclude = mm2_setting(flow, "config.properties.exclude", MM2_CONFIG_EXCLUDE_DEFAULT)
    return "excluded" if _pattern_list(exclude).fullmatch(config) else "replicated"
