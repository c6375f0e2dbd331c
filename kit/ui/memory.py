"""Give freed memory back to the system while the server runs.

Gradio runs each event in a worker thread, and glibc's malloc gives each thread its own arena.
The tensors and pictures a demo allocates are freed when it answers, but the arenas keep the
pages, so with varied inputs the server's resident memory climbed by hundreds of MB (810 MiB
after warm-up, about 1.4 GiB after a thousand requests, still creeping). ``malloc_trim(0)``
returns every arena's free pages to the system; ``MemoryTrimmer`` calls it from a daemon thread
every ``TRIM_EVERY_S`` seconds, and first caps the number of arenas at ``MAX_ARENAS``
(``mallopt(M_ARENA_MAX)``, what the ``MALLOC_ARENA_MAX`` variable sets), before the event threads
exist, so fewer arenas hold free pages between trims. Both do nothing where the C library is not
glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

TRIM_EVERY_S = 5.0
"""Seconds between trims (each takes a few milliseconds)."""

MAX_ARENAS = 2
"""malloc arenas the event threads share (glibc's default is 8 per core)."""

M_ARENA_MAX = -8  # mallopt's parameter number for the arena cap, from glibc's malloc.h

LOG = logging.getLogger("latent_lab.memory")


def _glibc(function: str):
    """``function`` from glibc, or None where there is no such function (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        found = getattr(ctypes.CDLL(name), function)
    except (OSError, AttributeError):
        return None
    found.restype = ctypes.c_int
    return found


def _glibc_trim():
    """``malloc_trim(size_t pad)``, or None."""
    trim = _glibc("malloc_trim")
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
    return trim


def cap_arenas(n: int = MAX_ARENAS) -> bool:
    """Cap malloc's arenas at ``n`` for threads started from now on; False where unsupported."""
    mallopt = _glibc("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return mallopt(M_ARENA_MAX, n) == 1


def release_free_memory() -> bool:
    """Return the free pages of every malloc arena to the system; False where unsupported."""
    trim = _glibc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class MemoryTrimmer:
    """A daemon thread calling ``malloc_trim(0)`` every ``every`` seconds until ``stop()``."""

    def __init__(self, every: float = TRIM_EVERY_S):
        self.every = every
        self._stop = threading.Event()
        self._trim = _glibc_trim()
        self._thread = threading.Thread(target=self._run, name="malloc-trim", daemon=True)

    def start(self) -> MemoryTrimmer:
        """Start trimming (a no-op where the C library has no ``malloc_trim``)."""
        if self._trim is None:
            LOG.info("malloc_trim is not available: freed memory stays with the allocator")
        else:
            cap_arenas()
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread after its current wait."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._trim(0)
