"""Transitional alias of :mod:`drkit.kafka.clients` for ``drkit/mm2/reader.py`` only.

The reader is being changed by another piece of work; its one import line moves to
``from drkit.kafka import clients`` with that change, and this module is then deleted. New code
imports :mod:`drkit.kafka.clients` (the layering test keeps this alias unused elsewhere).
"""

from drkit.kafka.clients import admin, consumer, producer

__all__ = ["admin", "consumer", "producer"]
