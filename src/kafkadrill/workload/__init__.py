"""Workload: producers and consumers that write and read uniquely identified messages."""

from __future__ import annotations

import logging

# librdkafka's own log lines (refused connections while a broker is down, etc.) are evidence,
# not terminal noise: the runner sends this logger to logs/clients.log of the run directory.
CLIENT_LOGGER = logging.getLogger("kafkadrill.clients")
CLIENT_LOGGER.propagate = False
CLIENT_LOGGER.addHandler(logging.NullHandler())
