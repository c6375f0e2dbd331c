"""The worker: a fresh, single-use child process that runs one submission (sandbox layer 2).

Started by ``kit.drills.pool`` as ``python -I -c BOOT <repo root>`` with an emptied
environment, in an empty temporary folder, in a session of its own. Its life:

1. at once, before importing anything of substance: no file may be written (RLIMIT_FSIZE = 0)
   and no core dumped;
2. warm-up: import torch (one thread), the allowlist, the harness and the demos' model weights
   and digits, and run one tiny forward/backward so lazy initialisation happens now;
3. lock down: move into an empty network namespace where the kernel allows it, drop root to
   ``nobody`` where it runs as root (so the process-count limit holds and the server's files
   are out of reach), cap the address space (RLIMIT_AS) a little above
   what the warm-up used, forbid new processes and threads (RLIMIT_NPROC = 0) and cap file
   descriptors (RLIMIT_NOFILE); then print ``{"ready": ...}`` and wait;
4. read one job (one JSON line on stdin), cap its CPU seconds (RLIMIT_CPU), check the code
   against the allowlist again, run it on each case through the harness, print one JSON line
   and exit. It is never given a second job.

The server sees only that JSON (never a pickle) and kills the whole session on its wall-clock
limit. Nothing here takes its instructions from the submission.
"""

from __future__ import annotations

import json
import os
import resource
import sys

MAX_JOB_BYTES = 1 << 20
ADDRESS_SPACE_HEADROOM = 1 << 30  # bytes above the warm-up's mappings: a drill needs a few MB
OPEN_FILES = 16  # stdin, stdout, stderr and what torch keeps open; no room for much else
NOBODY = 65534
CLONE_NEWNET = 0x40000000  # from <sched.h>
CLONE_NEWUSER = 0x10000000


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
    from kit.drills import drive, harness
    from kit.drills.solutions import training_step

    drive.preload()
    harness.run_case(training_step, "training_step", {"seed": 0, "beta": 1.0})  # lazy init


def _isolate_network() -> str:
    """Move into an empty network namespace (only a loopback, down) where the kernel allows it:
    as root directly, else through a new user namespace. Best effort: "isolated" or "shared"."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    flags = CLONE_NEWNET if os.getuid() == 0 else CLONE_NEWUSER | CLONE_NEWNET
    return "isolated" if libc.unshare(flags) == 0 else "shared"


def _lock_down() -> str:
    network = _isolate_network()
    if os.getuid() == 0:  # as root RLIMIT_NPROC is not enforced and every file is readable
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    _limit(resource.RLIMIT_AS, _vm_size() + ADDRESS_SPACE_HEADROOM)
    _limit(resource.RLIMIT_NPROC, 0)
    _limit(resource.RLIMIT_NOFILE, OPEN_FILES)
    return network


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


def main() -> None:
    """The worker's life: limit, warm up, lock down, run one job, print its result, exit."""
    import tempfile

    tempfile.tempdir = os.getcwd()  # torch asks for a temp dir; this one is empty and unwritable
    _limit(resource.RLIMIT_FSIZE, 0)
    _limit(resource.RLIMIT_CORE, 0)
    _warm_up()
    network = _lock_down()
    _say({"ready": True, "pid": os.getpid(), "uid": os.getuid(), "network": network})
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


#: what ``kit.drills.pool`` runs with ``python -I -c``: the repo root is argv[1]
BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from kit.drills.worker import main; main()"
