"""Input limits of a scenario (documented in docs/reference/scenario-format.md)."""

from __future__ import annotations

# -- input limits ------------------------------------------------------------------------------
# A scenario is a few KB written by a person. These bounds turn hostile or broken input (an
# alias bomb, /dev/zero, a generated 50 MB timeline) into a clear error in milliseconds instead of
# minutes of CPU or a MemoryError. Documented in docs/reference/scenario-format.md.
MAX_FILE_BYTES = 1 << 20  # 1 MiB; the largest library scenario is ~3 KB
MAX_DEPTH = 32  # nesting of mappings/sequences; the schema itself needs 7
MAX_NODES = 20_000  # YAML nodes after alias expansion (library scenarios: < 300)
MAX_ALIASES = 100  # *alias references
MAX_SCALAR_DIGITS = 40  # an integer literal longer than this is no count, port or seed
MAX_TIMELINE_ENTRIES = 200
MAX_SCHEDULED_FAULTS = 200  # fixed entries + the sum of random counts
LIMITS = {
    "file_bytes": MAX_FILE_BYTES,
    "depth": MAX_DEPTH,
    "nodes": MAX_NODES,
    "aliases": MAX_ALIASES,
    "integer_digits": MAX_SCALAR_DIGITS,
    "timeline_entries": MAX_TIMELINE_ENTRIES,
    "scheduled_faults": MAX_SCHEDULED_FAULTS,
}
