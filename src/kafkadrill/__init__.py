"""kafkadrill: chaos and disaster-recovery drills for multi-datacenter Apache Kafka."""

__version__ = "0.1.0"
