"""The layers that hold where the server runs as an ordinary user (a Space), each on its own:

- Landlock in the worker (``kit.drills.worker.landlock``): a process that applied it reads only
  the Python installation and ``kit/``, writes nothing (not even an empty file), cannot
  ``execve``, cannot reach another process's ``/proc/<pid>/environ``, and, where the kernel's
  Landlock is new enough, cannot connect over TCP or signal a process outside itself; where the
  kernel lacks it, the worker says so instead of failing;
- the seccomp filter in the worker (``kit.drills.worker.seccomp``): a process that applied it,
  alone, can no longer signal, renice, re-limit or re-pin another process of its user, create a
  socket, ``execve``, or create, remove, rename, truncate or re-permission a file, while it still
  reads files, imports and sets its own limits (each refused call is shown to work before);
- the server made non-dumpable (``kit.ui.server.deny_inspection``, called by ``serve``): another
  process of the same (non-root) user can no longer read its environment.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kit.drills import worker
from kit.drills.pool import WORKER_ENV

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534

#: applies Landlock alone (no other limit), then tries what an escaped submission would
LANDLOCK_PROBE = r"""
import json, os, socket, sys
sys.path.insert(0, sys.argv[1])
from kit.drills import worker
secret, port, folder = sys.argv[2], int(sys.argv[3]), sys.argv[4]
status = worker.landlock(worker.readable_roots())
report = {"landlock": status}

def attempt(name, fn):
    try:
        fn()
        report[name] = "allowed"
    except BaseException as err:
        report[name] = type(err).__name__

def execute():
    pid = os.fork()
    if pid == 0:
        try:
            os.execv("/bin/true", ["/bin/true"])
        finally:
            os._exit(13)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code == 13:
        raise PermissionError("execve refused")

def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.close()

if status.startswith("abi"):
    attempt("read_secret", lambda: open(secret).read())
    attempt("list_tmp", lambda: os.listdir(folder))
    attempt("write_new_file", lambda: open(os.path.join(folder, "new.txt"), "w").close())
    attempt("read_repo_root", lambda: open(os.path.join(sys.argv[1], "pyproject.toml")).read())
    attempt("read_parent_environ", lambda: open("/proc/%d/environ" % os.getppid(), "rb").read())
    attempt("execve", execute)
    attempt("connect_tcp", connect)
    attempt("signal_parent", lambda: os.kill(os.getppid(), 0))
    # what a worker still needs: its own modules, and imports it had not made yet
    attempt("read_kit", lambda: open(os.path.join(sys.argv[1], "kit", "drills", "spec.py")).read())
    attempt("read_stdlib", lambda: open(os.__file__).read())
    attempt("late_import", lambda: __import__("fractions"))
print(json.dumps(report))
"""


@pytest.fixture
def outside():
    """A folder anyone may read and write, and a file in it anyone may read."""
    folder = Path(tempfile.mkdtemp(prefix="latent-lab-outside-"))
    os.chmod(folder, 0o777)
    secret = folder / "secret.txt"
    secret.write_text("the server's secret")
    os.chmod(secret, 0o644)
    yield folder, secret
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def listening_port():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    yield srv.getsockname()[1]
    srv.close()


def _landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 without Landlock (asked without applying it)."""
    numbers = worker.LANDLOCK_SYSCALLS.get(os.uname().machine)
    if numbers is None:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(ctypes.c_long(numbers[0]), None, ctypes.c_long(0), ctypes.c_long(1))
    return max(0, abi)


def test_landlock_alone_confines_the_process(outside, listening_port):
    abi = _landlock_abi()
    if not abi:
        pytest.skip("this kernel has no Landlock (or it is off): the worker reports it instead")
    folder, secret = outside
    proc = subprocess.run(
        [sys.executable, "-I", "-B", "-c", LANDLOCK_PROBE, str(ROOT), str(secret),
         str(listening_port), str(folder)],
        env=dict(WORKER_ENV), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["landlock"] == f"abi {abi}", report
    for name in ("read_secret", "list_tmp", "write_new_file", "read_repo_root",
                 "read_parent_environ", "execve"):  # fmt: skip
        assert report[name] == "PermissionError", (name, report)
    assert sorted(p.name for p in folder.iterdir()) == ["secret.txt"]  # nothing created
    if abi >= 4:
        assert report["connect_tcp"] == "PermissionError", report
    if abi >= 6:
        assert report["signal_parent"] == "PermissionError", report
    for name in ("read_kit", "read_stdlib", "late_import"):
        assert report[name] == "allowed", (name, report)


def test_readable_roots_are_the_python_installation_and_kit_only():
    roots = worker.readable_roots(ROOT)
    assert str((ROOT / "kit").resolve()) in roots
    assert str(ROOT.resolve()) not in roots and os.sep not in roots
    assert os.path.realpath(tempfile.gettempdir()) not in roots
    assert all(Path(r).is_dir() for r in roots)
    python = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    for r in roots:
        inside = r == str((ROOT / "kit").resolve()) or any(
            r == p or r.startswith(p + os.sep) for p in python
        )
        assert inside, r


def test_without_landlock_the_worker_says_so(monkeypatch):
    monkeypatch.setattr(worker.platform, "machine", lambda: "sparc64")
    status = worker.landlock(worker.readable_roots())
    assert status == "unavailable: no Landlock system-call numbers for sparc64"
    assert Path(__file__).read_text()  # nothing was applied to this process


def _read_environ_from_a_child(pid: int) -> str:
    """In a forked child of the caller: try to read ``/proc/<pid>/environ``; the outcome."""
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                f.read()
            os.write(w, b"allowed")
        except OSError as err:
            os.write(w, type(err).__name__.encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(child, 0)
    with os.fdopen(r, "rb") as f:
        return f.read().decode()


def test_a_non_dumpable_server_hides_its_environ_from_its_own_user():
    from kit.ui.server import deny_inspection

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # a stand-in for the server, as an ordinary user (nobody, when run as root)
        try:
            os.close(r)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                # a uid change leaves a process non-dumpable; a server started by an ordinary
                # user is dumpable, as every process is after its exec
                ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)
            before = _read_environ_from_a_child(os.getpid())
            denied = deny_inspection()
            after = _read_environ_from_a_child(os.getpid())
            os.write(w, json.dumps([os.geteuid(), before, denied, after]).encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    with os.fdopen(r, "rb") as f:
        uid, before, denied, after = json.loads(f.read())
    assert uid != 0
    assert before == "allowed"  # what a same-user worker could do before
    assert denied is True
    assert after == "PermissionError"


SERVE_PROBE = r"""
import ctypes, sys
sys.path.insert(0, sys.argv[1])
from kit.ui import server
server.check_inputs = lambda demo: None

class Launched(Exception):
    pass

class FakeDemo:
    fns = {}

    def queue(self, **kwargs):
        return self

    def launch(self, **kwargs):
        libc = ctypes.CDLL(None)
        print("dumpable", libc.prctl(3, 0, 0, 0, 0))  # PR_GET_DUMPABLE
        raise Launched

try:
    server.serve(FakeDemo())
except Launched:
    pass
"""


def test_serve_makes_the_server_non_dumpable_before_it_launches():
    proc = subprocess.run(
        [sys.executable, "-c", SERVE_PROBE, str(ROOT)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "dumpable 0" in proc.stdout


#: runs every attempt twice, in a folder of its own each time: before and after applying seccomp
SECCOMP_PROBE = r"""
import ctypes, json, os, platform, resource, socket, subprocess, sys
sys.path.insert(0, sys.argv[1])
from kit.drills import worker
victim, base = int(sys.argv[2]), sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def attempts(folder):
    report = {}
    def attempt(name, fn):
        try:
            fn()
            report[name] = "allowed"
        except BaseException as err:
            report[name] = type(err).__name__
    kept = os.path.join(folder, "kept.txt")
    def execute():
        code = subprocess.run(["/bin/true"]).returncode  # the fork works; the exec may not
        if code != 0:
            raise PermissionError("execve refused")
    def raw(number):
        def call():
            if libc.syscall(ctypes.c_long(number), 0, 0, 0) < 0:
                err = ctypes.get_errno()
                raise PermissionError() if err == 1 else OSError(err, os.strerror(err))
        return call
    nice = os.getpriority(os.PRIO_PROCESS, victim)
    pinned = os.sched_getaffinity(victim)
    attempt("signal_parent", lambda: os.kill(os.getppid(), 0))
    attempt("signal_everyone", lambda: os.kill(-1, 0))
    attempt("prlimit_victim", lambda: resource.prlimit(victim, resource.RLIMIT_CORE))
    attempt("renice_victim", lambda: os.setpriority(os.PRIO_PROCESS, victim, nice))
    attempt("pin_victim", lambda: os.sched_setaffinity(victim, pinned))
    attempt("socket", lambda: socket.socket(socket.AF_UNIX).close())
    attempt("udp_socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close())
    attempt("execve", execute)
    attempt("create", lambda: open(os.path.join(folder, "new.txt"), "x").close())
    attempt("open_for_append", lambda: open(kept, "a").close())
    attempt("truncate", lambda: os.truncate(kept, 1))
    attempt("chmod", lambda: os.chmod(kept, 0o600))
    attempt("mkdir", lambda: os.mkdir(os.path.join(folder, "sub")))
    attempt("symlink", lambda: os.symlink(kept, os.path.join(folder, "link")))
    attempt("rename", lambda: os.rename(kept, os.path.join(folder, "moved.txt")))
    attempt("unlink", lambda: os.unlink(os.path.join(folder, "moved.txt")))
    if platform.machine() == "x86_64":
        attempt("x32_getpid", raw(worker.X32_SYSCALL_BIT | 39))
    attempt("io_uring_setup", raw(worker.SECCOMP_DENY["io_uring_setup"][0]))
    attempt("keyctl", raw(worker.SECCOMP_DENY["keyctl"][0]))  # KEYCTL_GET_KEYRING_ID
    # what a worker still does to itself, and reading
    attempt("signal_self", lambda: os.kill(os.getpid(), 0))
    attempt("own_limit", lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
    attempt("own_affinity", lambda: os.sched_setaffinity(0, os.sched_getaffinity(0)))
    attempt("read_file", lambda: open(worker.__file__).read())
    attempt("late_import", lambda: __import__("fractions"))
    return report

before = attempts(os.path.join(base, "before"))
status = worker.seccomp()
after = attempts(os.path.join(base, "after")) if status == "on" else {}
print(json.dumps({"seccomp": status, "before": before, "after": after}))
"""

#: refused once the filter holds (and done, by the same process, just before it)
SECCOMP_REFUSED = ("signal_parent", "signal_everyone", "prlimit_victim", "renice_victim",
                   "pin_victim", "socket", "udp_socket", "execve", "create", "open_for_append",
                   "truncate", "chmod", "mkdir", "symlink", "rename", "unlink")  # fmt: skip
SECCOMP_KEPT = ("signal_self", "own_limit", "own_affinity", "read_file", "late_import")


def test_seccomp_alone_keeps_the_process_to_itself(tmp_path):
    if os.uname().machine not in worker.AUDIT_ARCH:
        pytest.skip("no system-call table for this machine: the worker reports it instead")
    for phase in ("before", "after"):
        (tmp_path / phase).mkdir()
        (tmp_path / phase / "kept.txt").write_text("kept")
    victim = subprocess.Popen(["sleep", "120"])  # another process of the same user
    try:
        proc = subprocess.run(
            [sys.executable, "-I", "-B", "-c", SECCOMP_PROBE, str(ROOT), str(victim.pid),
             str(tmp_path)],
            env=dict(WORKER_ENV), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        victim.kill()
        victim.wait()
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["seccomp"] == "on", report
    before, after = report["before"], report["after"]
    for name in (*SECCOMP_REFUSED, *SECCOMP_KEPT):
        assert before[name] == "allowed", (name, before)  # each attempt works without it
    for name in SECCOMP_REFUSED:
        assert after[name] == "PermissionError", (name, after)
    for name in ("x32_getpid", "io_uring_setup", "keyctl"):
        if name in after:
            assert after[name] == "PermissionError", (name, after)
    for name in SECCOMP_KEPT:
        assert after[name] == "allowed", (name, after)
    assert sorted(p.name for p in (tmp_path / "after").iterdir()) == ["kept.txt"]
    assert (tmp_path / "after" / "kept.txt").read_text() == "kept"  # not truncated either
    assert oct((tmp_path / "after" / "kept.txt").stat().st_mode & 0o777) != "0o600"


def test_seccomp_program_is_well_formed():
    for machine in worker.AUDIT_ARCH:
        prog = worker.seccomp_program(machine, 4242)
        assert 0 < len(prog) < 4096
        assert prog[-1] == (worker.BPF_RET_K, 0, 0, worker.SECCOMP_RET_ALLOW)
        for i, (code, jt, jf, _k) in enumerate(prog):  # every jump lands inside the program
            if code != worker.BPF_RET_K and code != worker.BPF_LD_W_ABS:
                assert i + 1 + max(jt, jf) < len(prog), (machine, i)
        numbers = [n[("x86_64", "aarch64").index(machine)]
                   for n in (*worker.SECCOMP_DENY.values(), *worker.SECCOMP_SELF_ONLY.values())]  # fmt: skip
        known = [n for n in numbers if n is not None]
        assert len(known) == len(set(known)), machine  # no number listed twice
