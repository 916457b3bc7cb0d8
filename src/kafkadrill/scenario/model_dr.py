"""The scenario schema's DR toolbox beyond replication (issue 24): a backup through Kafka
Connect and a schema registry on each cluster."""

from __future__ import annotations

from pydantic import Field

from kafkadrill.scenario.model_types import Float, _Model


class BackupSpec(_Model):
    """A backup of one cluster's topics by kafkadrill's Kafka Connect sink (seed 001)."""

    source: str = Field(default="primary", alias="from", description="the cluster backed up")
    region: str | None = Field(
        default=None, description="where its worker runs (null = another cluster's region)"
    )
    flush_seconds: Float = Field(
        default=10, gt=0, le=86400, description="the backup frequency (Connect's offset flush)"
    )
    topics: str = Field(default=".*", min_length=1, description="topics backed up (regex)")


class SchemaRegistrySpec(_Model):
    """A schema registry (Apicurio Registry, KafkaSQL storage) on every cluster: the source's
    writes its journal topic, MM2 mirrors it, the others replay the copy read-only until the
    failover switches the target to read-write (seed 002)."""

    source: str | None = Field(
        default=None, alias="from", description="whose registry is written (null = producers')"
    )
    register_every_seconds: Float | None = Field(
        default=3,
        gt=0,
        le=3600,
        description="the application registers a new version of its value schema this often "
        "(on the registry of the cluster its producers write to); null = never",
    )
