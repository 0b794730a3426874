"""drkit's settings: ``drkit.toml`` plus the ``mm2.properties`` that MirrorMaker 2 itself runs with.

drkit reads the MM2 file rather than asking operators to restate it, because a second copy of
aliases, filters and the replication policy drifts from the truth, and a failover computed against
the wrong truth commits wrong offsets. ``drkit.toml`` only adds what MM2 cannot know (state dir,
DNS, librdkafka-only client settings, topic-name overrides for custom policies).

Key resolution follows ``MirrorMakerConfig``: ``<src>-><tgt>.<key>`` overrides ``<key>`` for a flow,
``<alias>.<key>`` overrides ``<key>`` for a cluster's clients. Java client settings are translated
to librdkafka names; anything that cannot be translated is reported, never dropped silently.
Secrets never appear in a repr or an error message.

The package's modules, each importable on its own:

* :mod:`~drkit.config.model` — ``Settings``, ``ClusterSettings``, ``Flow``, ``MM2Settings``,
  MM2 defaults
* :mod:`~drkit.config.loader` — finding/reading drkit.toml, ``load_settings``, ``build_settings``
* :mod:`~drkit.config.mm2view` — MM2 key resolution and the per-flow settings
* :mod:`~drkit.config.client_mapping` — Java client settings → librdkafka (SSL, SASL)
* :mod:`~drkit.config.jaas` — the ``sasl.jaas.config`` parser
* :mod:`~drkit.config.redaction` — secret detection and masking
"""

from __future__ import annotations

from drkit.config.jaas import parse_jaas_config
from drkit.config.loader import (
    DEFAULT_CONFIG_NAME,
    DEFAULT_STATE_DIR,
    ENV_VAR,
    TOML_KEYS,
    build_settings,
    find_config,
    load_settings,
    read_toml,
)
from drkit.config.model import (
    DEFAULT_GROUPS,
    DEFAULT_GROUPS_EXCLUDE,
    DEFAULT_REPLICATION_POLICY,
    DEFAULT_TOPICS,
    DEFAULT_TOPICS_EXCLUDE,
    ClusterSettings,
    Flow,
    MM2Settings,
    Settings,
)
from drkit.config.redaction import MASK, is_secret_key, redact

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "DEFAULT_GROUPS",
    "DEFAULT_GROUPS_EXCLUDE",
    "DEFAULT_REPLICATION_POLICY",
    "DEFAULT_STATE_DIR",
    "DEFAULT_TOPICS",
    "DEFAULT_TOPICS_EXCLUDE",
    "ENV_VAR",
    "MASK",
    "TOML_KEYS",
    "ClusterSettings",
    "Flow",
    "MM2Settings",
    "Settings",
    "build_settings",
    "find_config",
    "is_secret_key",
    "load_settings",
    "parse_jaas_config",
    "read_toml",
    "redact",
]
