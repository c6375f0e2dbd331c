"""Worker processes for the grader: fresh, single-use, kept warm, killed on a wall clock.

Each worker is a new ``python -I -c kit.drills.worker.BOOT`` (never a fork of the server), run
with an environment holding only thread settings, in an empty temporary folder of its own, in a
session of its own (so one kill ends anything it started). ``kit.drills.worker`` sets its
resource limits before it reads a job. The pool keeps ``spares`` workers warm (torch imported),
hands one out per job, and never reuses it: after its one reply the process is gone and a new
spare is started, so the import is paid while the learner reads the result, not while they
wait.

Replies are read with a size cap and a deadline; the server parses them with ``json.loads``
only. A worker that overruns is killed (SIGKILL to its whole session).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from kit.drills.worker import BOOT

ROOT = Path(__file__).resolve().parents[2]
MAX_REPLY_BYTES = 4 << 20  # the biggest honest reply (a training drive) is ~0.1 MB
START_TIMEOUT_S = 120.0  # a cold torch import on a busy two-core machine
#: the whole environment a worker gets: thread counts and a locale; no tokens, paths or secrets
WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "LC_CTYPE": "C.UTF-8",  # what Python would coerce the C locale to anyway (PEP 538)
}


@dataclass
class Outcome:
    """How one job ended."""

    status: str
    """"ok" (a JSON reply came back), "timeout" (killed on the wall clock), "cpu" (killed by
    its CPU-seconds limit), "too_large" (reply over the cap: killed), "crashed" (exited with no
    reply) or "bad_reply" (not one JSON object)."""
    reply: dict | None = None
    """The parsed reply when status is "ok"."""
    seconds: float = 0.0
    """Wall time from handing over the job to the reply (waiting for a spare included)."""
    exit_code: int | None = None
    """The worker's exit status (negative: the signal that ended it)."""


@dataclass
class _Worker:
    proc: subprocess.Popen
    workdir: str
    buffer: bytearray = field(default_factory=bytearray)
    ready: dict | None = None


class WorkerPool:
    """Warm, single-use worker processes."""

    def __init__(self, spares: int = 1, python: str | None = None):
        self.spares = spares
        self.python = python or sys.executable
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._closed = False

    # ---- lifecycle -----------------------------------------------------------------------

    def _spawn(self) -> _Worker:
        workdir = tempfile.mkdtemp(prefix="latent-lab-drill-")
        os.chmod(workdir, 0o755)  # the worker may run as nobody: it must be able to stand there
        proc = subprocess.Popen(
            [self.python, "-I", "-B", "-c", BOOT, str(ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=workdir,
            env=dict(WORKER_ENV),
            start_new_session=True,
            close_fds=True,
        )
        return _Worker(proc, workdir)

    def warm(self) -> None:
        """Start spares until ``spares`` are alive (non-blocking: they import in the background)."""
        with self._lock:
            if self._closed:
                return
            self._idle = [w for w in self._idle if w.proc.poll() is None or self._discard(w)]
            while len(self._idle) < self.spares:
                self._idle.append(self._spawn())

    def close(self) -> None:
        """Kill every spare (at server exit, or in tests)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for w in idle:
            self._kill(w)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> bool:
        """Block until the first spare has finished its warm-up (for benchmarks and tests)."""
        with self._lock:
            worker = self._idle[0] if self._idle else None
        return worker is not None and self._await_ready(worker, timeout)

    def worker_pids(self) -> list[int]:
        """Process ids of the idle spare workers."""
        with self._lock:
            return [w.proc.pid for w in self._idle]

    # ---- one job -------------------------------------------------------------------------

    def run(self, job: dict, wall_seconds: float) -> Outcome:
        """Run ``job`` in a fresh worker; the worker is gone afterwards, a new spare starts."""
        t0 = time.monotonic()
        worker = self._take()
        try:
            if worker is None:
                return Outcome("crashed", seconds=time.monotonic() - t0)
            return self._run_on(worker, job, t0, wall_seconds)
        finally:
            if worker is not None:
                self._kill(worker)
            self.warm()

    def _take(self) -> _Worker | None:
        """An idle worker that has said it is ready (waits for its warm-up if needed)."""
        for _attempt in range(3):
            with self._lock:
                worker = self._idle.pop(0) if self._idle else None
            if worker is None:
                worker = self._spawn()
            if self._await_ready(worker, START_TIMEOUT_S):
                return worker
            self._kill(worker)
        return None

    def _await_ready(self, worker: _Worker, timeout: float) -> bool:
        if worker.ready is not None:
            return True
        line = self._read_line(worker, time.monotonic() + timeout, 4096)
        if line is None:
            return False
        try:
            worker.ready = json.loads(line)
        except ValueError:
            return False
        return isinstance(worker.ready, dict) and worker.ready.get("ready") is True

    def _run_on(self, worker: _Worker, job: dict, t0: float, wall_seconds: float) -> Outcome:
        payload = (json.dumps(job) + "\n").encode()
        try:
            worker.proc.stdin.write(payload)
            worker.proc.stdin.flush()
            worker.proc.stdin.close()
        except (BrokenPipeError, OSError):
            return Outcome("crashed", seconds=time.monotonic() - t0, exit_code=worker.proc.poll())
        deadline = time.monotonic() + wall_seconds
        try:
            line = self._read_line(worker, deadline, MAX_REPLY_BYTES)
        except _TooLarge:
            return Outcome("too_large", seconds=time.monotonic() - t0)
        seconds = time.monotonic() - t0
        if line is None:
            if time.monotonic() >= deadline:
                return Outcome("timeout", seconds=seconds)
            code = worker.proc.wait(timeout=5)
            status = "cpu" if code in (-signal.SIGXCPU, -signal.SIGKILL) else "crashed"
            return Outcome(status, seconds=seconds, exit_code=code)
        try:
            reply = json.loads(line)
        except ValueError:
            return Outcome("bad_reply", seconds=seconds)
        if not isinstance(reply, dict):
            return Outcome("bad_reply", seconds=seconds)
        return Outcome("ok", reply, seconds, worker.proc.poll())

    def _read_line(self, worker: _Worker, deadline: float, cap: int) -> bytes | None:
        """The next line the worker prints, or None at EOF or the deadline (raises ``_TooLarge``
        past ``cap`` bytes)."""
        fd = worker.proc.stdout.fileno()
        while True:
            nl = worker.buffer.find(b"\n")
            if nl >= 0:
                line = bytes(worker.buffer[:nl])
                del worker.buffer[: nl + 1]
                return line
            if len(worker.buffer) > cap:
                raise _TooLarge
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            readable, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not readable:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            worker.buffer += chunk

    def _discard(self, worker: _Worker) -> bool:
        self._kill(worker)
        return False

    @staticmethod
    def _kill(worker: _Worker) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(worker.proc.pid, signal.SIGKILL)  # the worker's whole session
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.proc.wait(timeout=10)
        for stream in (worker.proc.stdin, worker.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        shutil.rmtree(worker.workdir, ignore_errors=True)


class _TooLarge(Exception):
    """The worker's reply passed ``MAX_REPLY_BYTES``."""
