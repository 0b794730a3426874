"""Kafka access: every admin call and client drkit makes, and the plain values they return.

* :mod:`~drkit.kafka.groups` — pure: consumer-group facts (:class:`TargetGroup`,
  :class:`SourceGroup`) and the one rule for "is this group active?"; the planner and the admin
  edge both import it, so neither imports the other.
* :mod:`~drkit.kafka.clients` — confluent-kafka clients that log through Python logging.
* :mod:`~drkit.kafka.admin` — :class:`KafkaAdmin`, a live connection to one cluster, every call
  bounded by a timeout and turned into a ``ClusterError``.
"""
