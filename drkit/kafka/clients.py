"""Build confluent-kafka clients that log through Python logging instead of stderr.

librdkafka prints every refused connection to stderr by default; at 3 a.m. an operator must see
one clear line from drkit, not a wall of retries, so its log goes to the ``drkit.kafka`` logger.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

LOG = logging.getLogger("drkit.kafka")


def _conf(base: Mapping[str, str], extra: Mapping[str, Any] | None) -> dict[str, Any]:
    conf: dict[str, Any] = dict(base)
    conf.setdefault("logger", LOG)
    conf.setdefault("log_level", 3)
    if extra:
        conf.update(extra)
    return conf


def admin(client_config: Mapping[str, str], **extra: Any) -> AdminClient:
    return AdminClient(_conf(client_config, extra))


def consumer(client_config: Mapping[str, str], **extra: Any) -> Consumer:
    conf = _conf(client_config, extra)
    conf.setdefault("group.id", "drkit-reader")
    conf.setdefault("enable.auto.commit", False)
    conf.setdefault("enable.partition.eof", True)
    return Consumer(conf)


def producer(client_config: Mapping[str, str], **extra: Any) -> Producer:
    return Producer(_conf(client_config, extra))
