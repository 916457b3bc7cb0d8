"""Faults: one module per family (process, network, region, metadata), each registering its
fault types (parameter model, implementation, capabilities, plan text) with base.fault; the
catalog of parameter models scenarios validate against, and the schedule.

Importing this package registers every built-in fault type (parameters and implementation
together), so the catalog scenarios validate against is always complete.
"""
# isort: skip_file
# Registration order is the catalog's order (error messages, `kafkadrill schema`).

from kafkadrill.faults import catalog  # noqa: F401
from kafkadrill.faults import process  # noqa: F401
from kafkadrill.faults import network  # noqa: F401
from kafkadrill.faults import region  # noqa: F401
from kafkadrill.faults import metadata  # noqa: F401
from kafkadrill.faults import retention  # noqa: F401
from kafkadrill.faults import mm2_state  # noqa: F401
from kafkadrill.faults import mm2_connect  # noqa: F401
from kafkadrill.faults import acl_sync  # noqa: F401
