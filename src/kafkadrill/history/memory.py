"""Handing freed memory back to the operating system during a large check (issue 25).

Loading and checking a history frees large arrays all the time, but neither allocator hands
the pages back at once: glibc's ``malloc`` keeps freed chunks inside its heap (numpy's arrays
of up to tens of MB come from there once its mmap threshold has grown), and Arrow's allocator
(mimalloc) keeps freed pages for reuse. Those pages count in the peak RSS as if still in use,
so the next large allocation adds to them instead of reusing them. :func:`release_freed`
returns both; it is cheap (milliseconds) and changes no value.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

import pyarrow as pa

__all__ = ["release_freed"]


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` (None elsewhere: musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def release_freed() -> None:
    """Return the pages freed so far by numpy (glibc) and Arrow to the operating system."""
    pa.default_memory_pool().release_unused()
    if _TRIM is not None:
        _TRIM(0)
