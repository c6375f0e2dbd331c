"""kit.ui.memory: freed memory goes back to the system (glibc only; skipped elsewhere)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kit.ui import memory

pytestmark = pytest.mark.skipif(
    memory._glibc_trim() is None, reason="the C library has no malloc_trim (not glibc)"
)

#: 200 MB in 100 KB blocks (under malloc's mmap threshold, so they come from the heap), then
#: every other block freed: the holes cannot merge into the heap's top, so without a trim their
#: 100 MB stay with the process. Only ctypes and the module under test are imported.
FRAGMENT = """
import importlib.util, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("memory", sys.argv[1])
memory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(memory)

def rss_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

blocks = [bytearray(100_000) for _ in range(2000)]
del blocks[::2]
freed = rss_mib()
trimmed = memory.release_free_memory()
print(freed, rss_mib(), trimmed)
"""


def test_a_trim_gives_freed_heap_pages_back():
    out = subprocess.run(
        [sys.executable, "-c", FRAGMENT, memory.__file__],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    before, after, trimmed = float(out[0]), float(out[1]), out[2]
    assert trimmed == "True"
    assert before - after > 70, (before, after)  # most of the freed 100 MB went back


def test_the_trimmer_thread_runs_and_stops():
    trimmer = memory.MemoryTrimmer(every=0.01).start()
    assert trimmer._thread.is_alive()
    trimmer.stop()
    trimmer._thread.join(timeout=5)
    assert not trimmer._thread.is_alive()


def test_the_arena_cap_is_accepted():
    assert memory.cap_arenas(memory.MAX_ARENAS) is True
