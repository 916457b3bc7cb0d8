"""The scenario schema's DR toolbox beyond replication (issue 24): a backup through Kafka
Connect and a schema registry on each cluster."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from kafkadrill.scenario.model_types import Float, _Model

PRINCIPAL_RE = r"^[A-Za-z0-9._-]{1,64}$"
AclOperation = Literal["READ", "WRITE", "DESCRIBE", "CREATE", "DELETE", "ALTER", "ALL"]


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


class AclSpec(_Model):
    """An ACL a principal holds from the start (topology.acls): ALLOW `operations` on one topic
    or one consumer group of the drill (run-scoped like the workload's names)."""

    principal: str = Field(pattern=PRINCIPAL_RE, description="one of topology.principals")
    cluster: str = Field(default="primary", description="where the ACL is created")
    topic: str | None = Field(default=None, description="a topic of the scenario")
    group: str | None = Field(default=None, description="a consumer group of the scenario")
    operations: list[AclOperation] = Field(min_length=1, max_length=7)

    @model_validator(mode="after")
    def _one_resource(self) -> AclSpec:
        if (self.topic is None) == (self.group is None):
            raise ValueError("name exactly one of topic or group")
        return self
