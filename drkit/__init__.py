"""drkit: disaster-recovery failover for Kafka clusters replicated by MirrorMaker 2."""

__version__ = "0.1.0"
