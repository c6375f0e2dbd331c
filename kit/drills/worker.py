"""The workers: fresh, single-use processes that run one submission each (sandbox layer 2).

``kit.drills.pool`` starts one **forker**, ``python -I -B -c BOOT <repo root> <socket fd>``, with
an emptied environment, in an empty temporary folder, in a session of its own. The forker never
runs a submission. Its life:

1. at once, before importing anything of substance: not dumpable (no process of its user may
   read its memory or ``/proc`` files or attach to it; its forks inherit this, so no worker is
   ever dumpable, not even before its own lock-down), SIGCHLD at its default, no file may be
   written (RLIMIT_FSIZE = 0) and no core dumped;
2. warm-up: import torch (one thread), the allowlist, the harness and the demos' model weights
   and digits, and run one tiny forward/backward so lazy initialisation happens now; then it
   says ``{"ready": ...}`` on its stdout;
3. it serves the pool's requests on a Unix socket: ``fork`` (with the two pipe ends of a new
   worker, passed as file descriptors) forks one **worker**; ``reap`` collects a worker's exit
   status once the pool is done with it (the pid stays taken until then, so the pool's kill
   never reaches a stranger). Forking a warmed process takes milliseconds, so no learner ever
   waits for a torch import except the very first (or after the forker died).

A worker is a fork of that clean forker (never of the server): it starts with nothing a
previous submission touched. Its life:

1. it moves into a session of its own and its empty folder, its stdin and stdout become the two
   pipes to the pool, and it closes the forker's socket;
2. lock down: move into an empty network namespace where the kernel allows it, drop root to
   ``nobody`` where it runs as root (so the process-count limit holds and the server's files
   are out of reach), restrict itself with **Landlock** where the kernel has it (read only the
   Python installation and ``kit/``, write nothing, no TCP, no signals or abstract sockets
   outside itself, no ``execve``), make itself non-dumpable (no other process of its user can
   read its ``/proc`` files or attach to it), install a **seccomp** filter on any Linux kernel
   (no signal, priority, resource limit or CPU affinity set on another process, no ptrace or
   pidfd, no socket, no ``execve``, no io_uring, no file or folder created, opened for
   writing, truncated, renamed, removed or re-permissioned), cap the address space
   (RLIMIT_AS) a little above what the warm-up used, forbid new processes and threads
   (RLIMIT_NPROC = 0) and cap file descriptors (RLIMIT_NOFILE); then print ``{"ready": ...}``
   (saying which layers hold) and wait;
3. read one job (one JSON line on stdin), cap its CPU seconds (RLIMIT_CPU), check the code
   against the allowlist again, run it on each case through the harness, print one JSON line
   and exit. It is never given a second job.

The server sees only that JSON (never a pickle) and kills the worker on its wall-clock limit.
Nothing here takes its instructions from the submission.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import resource
import signal
import sys
import time
from pathlib import Path

MAX_JOB_BYTES = 1 << 20
MAX_REQUEST_BYTES = 4096  # one request from the pool to the forker
ADDRESS_SPACE_HEADROOM = 1 << 30  # bytes above the warm-up's mappings: a drill needs a few MB
OPEN_FILES = 16  # stdin, stdout, stderr and what torch keeps open; no room for much else
NOBODY = 65534
CLONE_NEWNET = 0x40000000  # from <sched.h>
CLONE_NEWUSER = 0x10000000
PR_SET_DUMPABLE = 4  # from <linux/prctl.h>
PR_GET_DUMPABLE = 3
PR_SET_NO_NEW_PRIVS = 38

# ---- Landlock (<linux/landlock.h>), by raw system call: no library needed ---------------------

#: landlock_create_ruleset, landlock_add_rule, landlock_restrict_self: the same numbers on every
#: architecture that uses the common system-call table (x86_64, arm64)
LANDLOCK_SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_ABI1 = (1 << 13) - 1  # execute, write, read, read dir, remove, make char/dir/reg/sock/...
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _limit(kind: int, value: int) -> None:
    resource.setrlimit(kind, (value, value))


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _say(record: dict) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _warm_up():
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    from kit.drills import allowlist, drive, harness  # noqa: F401  (imported now, not later)
    from kit.drills.solutions import training_step

    drive.preload()
    harness.run_case(training_step, "training_step", {"seed": 0, "beta": 1.0})  # lazy init


def _isolate_network() -> str:
    """Move into an empty network namespace (only a loopback, down) where the kernel allows it:
    as root directly, else through a new user namespace. Best effort: "isolated" or "shared"."""
    flags = CLONE_NEWNET if os.getuid() == 0 else CLONE_NEWUSER | CLONE_NEWNET
    return "isolated" if _libc().unshare(flags) == 0 else "shared"


def readable_roots(root: Path | None = None) -> list[str]:
    """The folders a locked-down worker may still read: the Python installation (the standard
    library and site-packages, where a late import finds its files) and the repository's
    ``kit/`` package. Never the repository itself, the temp folder or a home."""
    root = Path(__file__).resolve().parents[2] if root is None else root
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    found = {os.path.realpath(root / "kit")}
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if os.path.isdir(real) and any(real == p or real.startswith(p + os.sep) for p in prefixes):
            found.add(real)
    found |= {p for p in prefixes if os.path.isdir(p)}
    return sorted(p for p in found if p != os.sep)


def landlock(read_only: list[str]) -> str:
    """Restrict this process (for good) with Landlock: the folders in ``read_only`` may be read;
    nothing may be written, created, removed or executed anywhere; where the kernel's Landlock is
    new enough, no TCP bind or connect, and no signal or abstract Unix socket reaching outside.

    Returns "abi N" when the restriction holds, else "unavailable: <why>" (an old kernel, Landlock
    off, an unknown architecture); it never leaves the process half restricted without saying."""
    numbers = LANDLOCK_SYSCALLS.get(platform.machine())
    if numbers is None:
        return f"unavailable: no Landlock system-call numbers for {platform.machine()}"
    create, add_rule, restrict = numbers
    libc = _libc()
    abi = libc.syscall(ctypes.c_long(create), None, ctypes.c_long(0),
                       ctypes.c_long(LANDLOCK_CREATE_RULESET_VERSION))  # fmt: skip
    if abi < 0:
        return f"unavailable: {os.strerror(ctypes.get_errno())}"
    fs = FS_ABI1 | (FS_REFER if abi >= 2 else 0) | (FS_TRUNCATE if abi >= 3 else 0)
    fs |= FS_IOCTL_DEV if abi >= 5 else 0
    attr = _RulesetAttr(
        handled_access_fs=fs,
        handled_access_net=NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
        scoped=SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0,
    )
    ruleset = libc.syscall(ctypes.c_long(create), ctypes.byref(attr),
                           ctypes.c_long(ctypes.sizeof(attr)), ctypes.c_long(0))  # fmt: skip
    if ruleset < 0:
        return f"unavailable: landlock_create_ruleset: {os.strerror(ctypes.get_errno())}"
    try:
        for path in read_only:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC | os.O_DIRECTORY)
            except OSError:
                continue  # a folder that is not there needs no rule
            rule = _PathBeneathAttr(allowed_access=FS_READ_FILE | FS_READ_DIR, parent_fd=fd)
            done = libc.syscall(ctypes.c_long(add_rule), ctypes.c_long(ruleset),
                                ctypes.c_long(LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(rule),
                                ctypes.c_long(0))  # fmt: skip
            os.close(fd)
            if done < 0:
                return f"unavailable: landlock_add_rule: {os.strerror(ctypes.get_errno())}"
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return f"unavailable: no_new_privs: {os.strerror(ctypes.get_errno())}"
        if libc.syscall(ctypes.c_long(restrict), ctypes.c_long(ruleset), ctypes.c_long(0)) < 0:
            return f"unavailable: landlock_restrict_self: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(ruleset)
    return f"abi {abi}"


# ---- seccomp (<linux/seccomp.h>, <linux/filter.h>): a filter on system calls ------------------

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EPERM = 1
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000  # x86_64's x32 system calls: a second table, refused as a whole
BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_JSET_K, BPF_RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
OPEN_WRITE_FLAGS = 0o3 | 0o100 | 0o1000  # O_WRONLY | O_RDWR, O_CREAT, O_TRUNC

#: refused outright (EPERM), by number on (x86_64, aarch64); None where the call does not exist.
#: Reaching another process: Landlock leaves priorities, resource limits and CPU affinity of
#: the user's other processes (the server's: RLIMIT_CPU = 1 kills it) open on every ABI;
#: the kernel keyrings its user shares with the server; sockets (pathname Unix sockets on
#: every ABI, UDP where there is no network namespace);
#: execve; io_uring (its requests bypass this filter); and every change to a file or folder,
#: for kernels without Landlock (RLIMIT_FSIZE only stops writing bytes)
SECCOMP_DENY = {
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "pidfd_open": (434, 434), "pidfd_send_signal": (424, 424), "pidfd_getfd": (438, 438),
    "process_madvise": (440, 440), "process_mrelease": (448, 448), "kcmp": (312, 272),
    "perf_event_open": (298, 241), "migrate_pages": (256, 238), "move_pages": (279, 239),
    "setpriority": (141, 140), "ioprio_set": (251, 30),
    "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218),  # the user's keyring
    "socket": (41, 198), "socketpair": (53, 199), "execve": (59, 221), "execveat": (322, 281),
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "creat": (85, None), "openat2": (437, 437), "unlink": (87, None), "unlinkat": (263, 35),
    "rename": (82, None), "renameat": (264, 38), "renameat2": (316, 276), "rmdir": (84, None),
    "mkdir": (83, None), "mkdirat": (258, 34), "link": (86, None), "linkat": (265, 37),
    "symlink": (88, None), "symlinkat": (266, 36), "truncate": (76, 45), "ftruncate": (77, 46),
    "mknod": (133, None), "mknodat": (259, 33), "chmod": (90, None), "fchmod": (91, 52),
    "fchmodat": (268, 53), "fchmodat2": (452, 452), "chown": (92, None), "fchown": (93, 55),
    "lchown": (94, None), "fchownat": (260, 54), "utime": (132, None), "utimes": (235, None),
    "futimesat": (261, None), "utimensat": (280, 88), "setxattr": (188, 5),
    "lsetxattr": (189, 6), "fsetxattr": (190, 7), "removexattr": (197, 14),
    "lremovexattr": (198, 15), "fremovexattr": (199, 16), "setxattrat": (463, 463),
    "removexattrat": (466, 466),
}  # fmt: skip
#: allowed only on this process itself: the first argument must be 0 or its own pid
SECCOMP_SELF_ONLY = {
    "kill": (62, 129), "tkill": (200, 130), "tgkill": (234, 131),
    "rt_sigqueueinfo": (129, 138), "rt_tgsigqueueinfo": (297, 240), "prlimit64": (302, 261),
    "sched_setparam": (142, 118), "sched_setscheduler": (144, 119),
    "sched_setaffinity": (203, 122), "sched_setattr": (314, 274),
}  # fmt: skip
#: opening a file: allowed only for reading (the flags argument, by its index)
SECCOMP_READ_ONLY_OPEN = {"open": ((2, 1), None), "openat": ((257, 2), (56, 2))}


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _arg(i: int) -> int:
    """Offset of system-call argument ``i``'s low 32 bits in ``struct seccomp_data``
    (little-endian: x86_64, aarch64)."""
    return 16 + 8 * i


def seccomp_program(machine: str, pid: int) -> list[tuple[int, int, int, int]]:
    """The filter (classic BPF, as (code, jt, jf, k)) for process ``pid`` on ``machine``: see
    ``SECCOMP_DENY``, ``SECCOMP_SELF_ONLY`` and ``SECCOMP_READ_ONLY_OPEN``; any other system
    call of the native table is allowed, every call of another table refused."""
    col = ("x86_64", "aarch64").index(machine)
    deny = (BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM)
    allow = (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW)
    prog = [(BPF_LD_W_ABS, 0, 0, 4), (BPF_JEQ_K, 1, 0, AUDIT_ARCH[machine]), deny]
    prog.append((BPF_LD_W_ABS, 0, 0, 0))  # the system call's number
    if machine == "x86_64":
        prog += [(BPF_JGE_K, 0, 1, X32_SYSCALL_BIT), deny]
    for numbers in SECCOMP_DENY.values():
        if numbers[col] is not None:
            prog += [(BPF_JEQ_K, 0, 1, numbers[col]), deny]
    for numbers in SECCOMP_SELF_ONLY.values():  # each block returns: the number is reloaded
        prog += [(BPF_JEQ_K, 0, 5, numbers[col]), (BPF_LD_W_ABS, 0, 0, _arg(0)),
                 (BPF_JEQ_K, 2, 0, 0), (BPF_JEQ_K, 1, 0, pid), deny, allow]  # fmt: skip
    for entry in SECCOMP_READ_ONLY_OPEN.values():
        if entry[col] is not None:
            number, flags = entry[col]
            prog += [(BPF_JEQ_K, 0, 4, number), (BPF_LD_W_ABS, 0, 0, _arg(flags)),
                     (BPF_JSET_K, 0, 1, OPEN_WRITE_FLAGS), deny, allow]  # fmt: skip
    prog.append(allow)
    return prog


def seccomp() -> str:
    """Install the system-call filter of ``seccomp_program`` on this process, for good (it sets
    no_new_privs, which the kernel requires of an unprivileged filter).

    Returns "on", or "unavailable: <why>" (not Linux on x86_64/aarch64, seccomp off)."""
    machine = platform.machine()
    if machine not in AUDIT_ARCH:
        return f"unavailable: no system-call table for {machine}"
    program = seccomp_program(machine, os.getpid())
    filters = (_SockFilter * len(program))(*program)
    fprog = _SockFprog(len(program), filters)
    libc = _libc()
    ulong = ctypes.c_ulong
    if libc.prctl(PR_SET_NO_NEW_PRIVS, ulong(1), ulong(0), ulong(0), ulong(0)) != 0:
        return f"unavailable: no_new_privs: {os.strerror(ctypes.get_errno())}"
    done = libc.prctl(PR_SET_SECCOMP, ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog),
                      ulong(0), ulong(0))  # fmt: skip
    if done != 0:
        return f"unavailable: {os.strerror(ctypes.get_errno())}"
    return "on"


def _lock_down() -> dict:
    """Every layer a worker sets before it reads a job; which ones hold (for the ready line)."""
    vm_size = _vm_size()  # /proc is out of reach once Landlock holds
    network = _isolate_network()
    if os.getuid() == 0:  # as root RLIMIT_NPROC is not enforced and every file is readable
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    sandbox = landlock(readable_roots())
    # not dumpable: another worker of the same user cannot read this one's /proc files or
    # attach to it (where Landlock is missing); a drop from root has already done this
    _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    syscalls = seccomp()  # what follows only sets this process's own limits: still allowed
    _limit(resource.RLIMIT_AS, vm_size + ADDRESS_SPACE_HEADROOM)
    _limit(resource.RLIMIT_NPROC, 0)
    _limit(resource.RLIMIT_NOFILE, OPEN_FILES)
    dumpable = _libc().prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
    return {
        "network": network,
        "landlock": sandbox,
        "seccomp": syscalls,
        "dumpable": bool(dumpable),
    }


def _cap_cpu(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft = int(used + seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))  # SIGXCPU, then SIGKILL


def compile_submission(code: str, params: list[str], name: str):
    """The submission's function, executed with only the allowlisted names in reach."""
    import builtins
    import math

    import torch
    import torch.nn.functional as F

    from kit.drills.allowlist import BUILTINS, Signature, check_source

    tree = check_source(code, Signature(name, tuple(params)))
    namespace = {
        "__builtins__": {b: getattr(builtins, b) for b in BUILTINS},
        "torch": torch,
        "F": F,
        "math": math,
    }
    exec(compile(tree, "<submission>", "exec"), namespace)
    return namespace[name]


def run_job(job: dict) -> dict:
    """Run one job: {"name", "params", "code", "cases": [{"runner", "args"}]}."""
    from kit.drills import drive, harness
    from kit.drills.allowlist import RefusedCode

    try:
        fn = compile_submission(job["code"], job["params"], job["name"])
    except RefusedCode as err:
        return {"refused": str(err)}
    except Exception as err:  # e.g. a NameError at definition time; reported by name
        return {"crashed": harness.error_of(err)}
    runners = {**harness.RUNNERS, **drive.RUNNERS}
    results = []
    for case in job["cases"]:
        try:
            results.append(runners[case["runner"]](fn, case["args"]))
        except Exception as err:  # the harness around the learner's code failed on its output
            results.append({"out": harness.error_of(err)})
    return {"results": results}


def serve_one_job() -> None:
    """A worker's life once it stands in its folder with its pipes: lock down, say ready, run
    one job, print its result, exit (never returns)."""
    layers = _lock_down()
    _say({"ready": True, "pid": os.getpid(), "uid": os.getuid(), **layers})
    line = sys.stdin.readline(MAX_JOB_BYTES)
    if not line:
        os._exit(0)  # the server went away, or gave this spare up
    try:
        job = json.loads(line)
    except ValueError:
        os._exit(2)
    _cap_cpu(float(job.get("cpu_seconds", 5.0)))
    sys.setrecursionlimit(400)
    reply = run_job(job)
    _say(reply)
    os._exit(0)


# ---- the forker ------------------------------------------------------------------------------


def _become_worker(sock, fds: list[int], workdir: str) -> None:
    """In a freshly forked child: its own session, folder and pipes; then one job."""
    import tempfile

    try:
        os.setsid()
        os.chdir(workdir)
        tempfile.tempdir = workdir  # torch asks for a temp dir; this one is empty, unwritable
        os.dup2(fds[0], 0)
        os.dup2(fds[1], 1)
        for fd in fds:
            os.close(fd)
        sock.close()  # the forker's channel to the server is not the worker's
        serve_one_job()
    except BaseException:  # a forked child must never fall back into the forker's loop
        os._exit(3)
    os._exit(0)


def _reap(pid: int, grace: float) -> int | None:
    """Wait up to ``grace`` seconds for worker ``pid`` to end, then kill it; its exit status
    (negative: the signal that ended it), or None when it is not a child of this forker."""
    deadline = time.monotonic() + grace
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() >= deadline:
                os.kill(pid, signal.SIGKILL)
                return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            time.sleep(0.01)
    except ChildProcessError:
        return None


def serve_forks(sock) -> None:
    """Answer the pool's requests until it closes the socket (then exit)."""
    import socket

    children: set[int] = set()
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, MAX_REQUEST_BYTES, 2)
        except OSError:
            os._exit(0)
        if not data:
            os._exit(0)  # the pool is gone: its workers read EOF and exit by themselves
        try:
            request = json.loads(data)
        except ValueError:
            request = {}
        op = request.get("op") if isinstance(request, dict) else None
        if op == "fork" and len(fds) == 2 and isinstance(request.get("cwd"), str):
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                _become_worker(sock, fds, request["cwd"])
            children.add(pid)
            reply = {"pid": pid}
        elif op == "reap" and isinstance(request.get("pid"), int) and request["pid"] in children:
            grace = request.get("grace", 0.0)
            grace = float(grace) if isinstance(grace, (int, float)) else 0.0
            children.discard(request["pid"])
            reply = {"pid": request["pid"], "exit": _reap(request["pid"], min(grace, 30.0))}
        else:
            reply = {"error": "bad request"}
        for fd in fds:
            os.close(fd)
        try:
            sock.send(json.dumps(reply).encode())
        except OSError:
            os._exit(0)


def main(sock_fd: int) -> None:
    """The forker's life: limit, warm up, say ready, then fork workers on request."""
    import gc
    import socket
    import tempfile

    # not dumpable, first of all: without Landlock, a worker of the same user could otherwise
    # read the forker's memory or ptrace it (and with it every later worker's pipes), or open a
    # newborn sibling's /proc/<pid>/fd before that one's own lock-down; a fork inherits this
    libc = _libc()
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    # workers stay zombies until the pool asks for them to be reaped, even if the server was
    # started ignoring SIGCHLD (which an exec keeps, and which would reap them at once)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    tempfile.tempdir = os.getcwd()  # torch asks for a temp dir; this one is empty and unwritable
    _limit(resource.RLIMIT_FSIZE, 0)
    _limit(resource.RLIMIT_CORE, 0)
    _warm_up()
    gc.collect()
    gc.freeze()  # the warm-up's objects leave the GC's scans: a worker copies fewer pages
    dumpable = bool(libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))
    _say({"ready": True, "pid": os.getpid(), "forker": True, "dumpable": dumpable})
    serve_forks(socket.socket(fileno=sock_fd))


#: what ``kit.drills.pool`` runs with ``python -I -c``: the repo root is argv[1], the forker's
#: end of its socket argv[2]
BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from kit.drills.worker import main; "
    "main(int(sys.argv[2]))"
)
