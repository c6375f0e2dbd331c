"""Worker processes for the grader: fresh, single-use, forked from a warm forker, killed on a
wall clock.

The pool starts one **forker** (``kit.drills.worker``): a new ``python -I -c BOOT`` (never a
fork of the server), run with an environment holding only thread settings, in an empty
temporary folder of its own, in a session of its own. It imports torch once and then, on
request, forks **workers**: each gets two fresh pipes (its job in, its reply out), an empty
folder of its own and a session of its own, locks itself down (see ``kit.drills.worker``) and
says it is ready. A fork of the warmed forker is ready in tens of milliseconds, so the pool
keeps ``spares`` workers ready and forks the replacement of the one it hands out *before* that
one's job runs: back-to-back gradings never wait for a torch import (only the very first after
a start does, while the forker warms up).

A worker is used for one job and never reused: after its reply it is killed and the forker
reaps it. Until the forker has reaped it its pid stays taken, so the kill (its whole session,
and the process itself through a pidfd where the kernel has them) never reaches another
process. Replies are read with a size cap and a deadline; the server parses them with
``json.loads`` only.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from kit.drills.worker import BOOT, MAX_REQUEST_BYTES

ROOT = Path(__file__).resolve().parents[2]
MAX_REPLY_BYTES = 4 << 20  # the biggest honest reply (a training drive) is ~0.1 MB
START_TIMEOUT_S = 120.0  # a cold torch import on a busy two-core machine
FORK_READY_S = 30.0  # a forked worker's lock-down (milliseconds; seconds on a loaded machine)
REQUEST_TIMEOUT_S = 30.0  # one answer of the forker (a fork, a reap)
CRASH_GRACE_S = 5.0  # how long a worker that closed its output gets to finish dying
#: the whole environment the forker (and so every worker) gets: thread counts and a locale; no
#: tokens, paths or secrets
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
class _Reader:
    """The read end of a pipe from a process, with what was read past the last line."""

    fd: int
    buffer: bytearray = field(default_factory=bytearray)


@dataclass
class _Forker:
    proc: subprocess.Popen
    sock: socket.socket
    workdir: str
    out: _Reader
    ready: dict | None = None


@dataclass
class _Worker:
    pid: int
    forker: _Forker
    job_fd: int | None
    out: _Reader
    workdir: str
    pidfd: int | None = None
    ready: dict | None = None
    reaped: bool = False
    exit_code: int | None = None


class WorkerPool:
    """Warm, single-use worker processes, forked from one warm forker."""

    def __init__(self, spares: int = 1, python: str | None = None):
        self.spares = spares
        self.python = python or sys.executable
        self._lock = threading.Lock()  # guards _idle, _forker and _closed
        self._talk = threading.Lock()  # one request to the forker at a time
        self._hear = threading.Lock()  # one reader of the forker's ready line at a time
        self._warming = threading.Lock()  # one thread topping up the spares at a time
        self._idle: list[_Worker] = []
        self._forker: _Forker | None = None
        self._closed = False

    # ---- the forker ----------------------------------------------------------------------

    def _start_forker(self) -> _Forker:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        workdir = tempfile.mkdtemp(prefix="latent-lab-drill-")
        os.chmod(workdir, 0o755)  # a worker may run as nobody: it must be able to stand there
        try:
            proc = subprocess.Popen(
                [self.python, "-I", "-B", "-c", BOOT, str(ROOT), str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=workdir,
                env=dict(WORKER_ENV),
                start_new_session=True,
                close_fds=True,
                pass_fds=(theirs.fileno(),),
            )
        finally:
            theirs.close()
        ours.settimeout(REQUEST_TIMEOUT_S)
        return _Forker(proc, ours, workdir, _Reader(proc.stdout.fileno()))

    def _current_forker(self) -> _Forker | None:
        """The live forker, started if there is none (None once the pool is closed)."""
        with self._lock:
            if self._closed:
                return None
            if self._forker is not None and self._forker.proc.poll() is not None:
                self._stop_forker(self._forker)
                self._forker = None
            if self._forker is None:
                self._forker = self._start_forker()
            return self._forker

    def _forker_ready(self, forker: _Forker, timeout: float) -> bool:
        if forker.ready is not None:
            return True
        deadline = time.monotonic() + timeout
        heard = self._hear.acquire(timeout=timeout) if timeout > 0 else self._hear.acquire(False)
        if not heard:
            return False
        try:
            if forker.ready is not None:
                return True
            line = _read_line(forker.out, deadline, 4096)
        except _TooLarge:
            line = None
        finally:
            self._hear.release()
        if line is None:
            return False
        try:
            ready = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
            ready = None
        if isinstance(ready, dict) and ready.get("ready") is True:
            forker.ready = ready
            return True
        self._drop_forker(forker)  # it said something else: it is not a forker we trust
        return False

    def _drop_forker(self, forker: _Forker) -> None:
        with self._lock:
            if self._forker is forker:
                self._forker = None
        self._stop_forker(forker)

    @staticmethod
    def _stop_forker(forker: _Forker) -> None:
        with contextlib.suppress(OSError):
            forker.sock.close()
        if forker.proc.poll() is None:  # once reaped its pid (and group id) may be another's
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(forker.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            forker.proc.wait(timeout=10)
        with contextlib.suppress(OSError):
            forker.proc.stdout.close()
        shutil.rmtree(forker.workdir, ignore_errors=True)

    def _request(self, forker: _Forker, message: dict, fds: list[int] = ()) -> dict | None:
        """One request and its answer (the caller holds ``_talk``); None when the forker is
        gone or answered nonsense (it is then dropped)."""
        try:
            socket.send_fds(forker.sock, [json.dumps(message).encode()], list(fds))
            data = forker.sock.recv(MAX_REQUEST_BYTES)
            reply = json.loads(data) if data else None
        except (OSError, ValueError, RecursionError):
            reply = None
        if not isinstance(reply, dict) or "error" in reply:
            self._drop_forker(forker)
            return None
        return reply

    # ---- lifecycle -----------------------------------------------------------------------

    def _fork(self, forker_wait: float) -> _Worker | None:
        """A new worker from the forker (waiting up to ``forker_wait`` s for its warm-up), or
        None (the forker is not ready in time, or failed)."""
        forker = self._current_forker()
        if forker is None or not self._forker_ready(forker, forker_wait):
            return None
        job_read, job_write = os.pipe()
        out_read, out_write = os.pipe()
        workdir = tempfile.mkdtemp(prefix="latent-lab-drill-")
        os.chmod(workdir, 0o755)
        try:
            with self._talk:
                reply = self._request(forker, {"op": "fork", "cwd": workdir}, [job_read, out_write])
        finally:
            os.close(job_read)
            os.close(out_write)
        pid = reply.get("pid") if reply else None
        if not isinstance(pid, int) or pid <= 0:
            os.close(job_write)
            os.close(out_read)
            shutil.rmtree(workdir, ignore_errors=True)
            return None
        worker = _Worker(pid, forker, job_write, _Reader(out_read), workdir)
        with contextlib.suppress(AttributeError, OSError):  # a kernel without pidfds
            worker.pidfd = os.pidfd_open(pid)  # the forker has not reaped it: it is ours
        return worker

    def warm(self) -> None:
        """Start the forker, and once it is warm, fork spares until ``spares`` are ready
        (non-blocking: the forker imports torch in the background)."""
        forker = self._current_forker()
        if forker is None or not self._forker_ready(forker, 0.0):
            return
        if not self._warming.acquire(False):
            return  # another thread is topping the spares up right now
        try:
            with self._lock:
                alive, dead = [], []
                for w in self._idle:
                    (alive if self._alive(w) else dead).append(w)
                self._idle = alive
                need = self.spares - len(alive)
            for w in dead:
                self._kill(w)
            for _ in range(max(0, need)):
                worker = self._fork(0.0)
                if worker is None:
                    return
                with self._lock:
                    closed = self._closed
                    if not closed:
                        self._idle.append(worker)
                if closed:
                    self._kill(worker)
                    return
        finally:
            self._warming.release()

    def close(self) -> None:
        """Kill every spare and the forker (at server exit, or in tests)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            forker, self._forker = self._forker, None
        for w in idle:
            self._kill(w)
        if forker is not None:
            self._stop_forker(forker)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> bool:
        """Block until a spare has finished its lock-down (the forker's warm-up included; for
        benchmarks and tests)."""
        deadline = time.monotonic() + timeout
        forker = self._current_forker()
        if forker is None or not self._forker_ready(forker, timeout):
            return False
        self.warm()
        with self._lock:
            worker = self._idle[0] if self._idle else None
        return worker is not None and self._await_ready(worker, deadline - time.monotonic())

    def worker_pids(self) -> list[int]:
        """Process ids of the idle spare workers."""
        with self._lock:
            return [w.pid for w in self._idle]

    def forker_pid(self) -> int | None:
        """Process id of the forker, if one is running."""
        with self._lock:
            return self._forker.proc.pid if self._forker is not None else None

    # ---- one job -------------------------------------------------------------------------

    def run(self, job: dict, wall_seconds: float) -> Outcome:
        """Run ``job`` in a fresh worker; its replacement is forked before the job runs, and
        the worker is gone afterwards."""
        t0 = time.monotonic()
        worker = self._take()
        try:
            if worker is None:
                return Outcome("crashed", seconds=time.monotonic() - t0)
            self.warm()  # the next spare locks down while this job runs
            return self._run_on(worker, job, t0, wall_seconds)
        finally:
            if worker is not None:
                self._kill(worker)

    def _take(self) -> _Worker | None:
        """A worker that has said it is ready (forked now if no spare is left)."""
        for _attempt in range(3):
            with self._lock:
                worker = self._idle.pop(0) if self._idle else None
            if worker is None:
                worker = self._fork(START_TIMEOUT_S)
            if worker is None:
                continue
            if self._await_ready(worker, FORK_READY_S):
                return worker
            self._kill(worker)
        return None

    def _await_ready(self, worker: _Worker, timeout: float) -> bool:
        if worker.ready is not None:
            return True
        try:
            line = _read_line(worker.out, time.monotonic() + timeout, 4096)
        except _TooLarge:
            return False
        if line is None:
            return False
        try:
            ready = json.loads(line)
        except (ValueError, RecursionError):
            return False
        if isinstance(ready, dict) and ready.get("ready") is True:
            worker.ready = ready
            return True
        return False

    def _run_on(self, worker: _Worker, job: dict, t0: float, wall_seconds: float) -> Outcome:
        payload = (json.dumps(job) + "\n").encode()
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(worker.job_fd, view) :]
        except OSError:
            return Outcome("crashed", seconds=time.monotonic() - t0, exit_code=self._reap(worker))
        finally:
            os.close(worker.job_fd)
            worker.job_fd = None
        deadline = time.monotonic() + wall_seconds
        try:
            line = _read_line(worker.out, deadline, MAX_REPLY_BYTES)
        except _TooLarge:
            return Outcome("too_large", seconds=time.monotonic() - t0)
        seconds = time.monotonic() - t0
        if line is None:
            if time.monotonic() >= deadline:
                return Outcome("timeout", seconds=seconds)
            code = self._reap(worker, CRASH_GRACE_S)
            status = "cpu" if code in (-signal.SIGXCPU, -signal.SIGKILL) else "crashed"
            return Outcome(status, seconds=seconds, exit_code=code)
        try:
            reply = json.loads(line)
        except (ValueError, RecursionError):  # e.g. a million "[": too deep to parse
            return Outcome("bad_reply", seconds=seconds)
        if not isinstance(reply, dict):
            return Outcome("bad_reply", seconds=seconds)
        return Outcome("ok", reply, seconds)

    # ---- ending a worker -----------------------------------------------------------------

    @staticmethod
    def _alive(worker: _Worker) -> bool:
        """False once the worker has exited (its pidfd turns readable), was reaped, or lost its
        forker (an orphan's pid is not held for us: it is killed through its pidfd only)."""
        if worker.reaped or worker.forker.proc.poll() is not None:
            return False
        if worker.pidfd is None:
            return True
        readable, _, _ = select.select([worker.pidfd], [], [], 0)
        return not readable

    def _reap(self, worker: _Worker, grace: float = 0.0) -> int | None:
        """The worker's exit status from the forker (which kills it after ``grace`` s)."""
        if worker.reaped:
            return worker.exit_code
        worker.reaped = True
        if worker.forker.proc.poll() is not None:
            return None  # the forker died: init reaps its orphans
        with self._talk:
            reply = self._request(worker.forker, {"op": "reap", "pid": worker.pid, "grace": grace})
        code = reply.get("exit") if reply else None
        worker.exit_code = code if isinstance(code, int) else None
        return worker.exit_code

    def _kill(self, worker: _Worker) -> None:
        held = not worker.reaped and worker.forker.proc.poll() is None
        if held:  # the forker has not reaped it: its pid (and session id) are still its own
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(worker.pid, signal.SIGKILL)  # the worker's whole session
        if worker.pidfd is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(worker.pidfd, signal.SIGKILL)
        for fd in (worker.job_fd, worker.out.fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        worker.job_fd = None
        self._reap(worker)
        if worker.pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(worker.pidfd)
            worker.pidfd = None
        shutil.rmtree(worker.workdir, ignore_errors=True)


def _read_line(reader: _Reader, deadline: float, cap: int) -> bytes | None:
    """The next line the process prints, or None at EOF or the deadline (raises ``_TooLarge``
    past ``cap`` bytes). A deadline already past still takes what is there now."""
    while True:
        nl = reader.buffer.find(b"\n")
        if nl >= 0:
            line = bytes(reader.buffer[:nl])
            del reader.buffer[: nl + 1]
            return line
        if len(reader.buffer) > cap:
            raise _TooLarge
        left = deadline - time.monotonic()
        readable, _, _ = select.select([reader.fd], [], [], max(0.0, min(left, 1.0)))
        if readable:
            chunk = os.read(reader.fd, 1 << 16)
            if not chunk:
                return None
            reader.buffer += chunk
        elif left <= 0:
            return None


class _TooLarge(Exception):
    """The worker's reply passed ``MAX_REPLY_BYTES``."""
