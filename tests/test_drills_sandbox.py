"""Sandbox layers 2 and 3 on their own, with real worker processes.

- the lock-down of a worker, probed from inside by code that skips the allowlist (as an escape
  that got past layer 1 would): no file written, no process or thread started, no 10 GB, no
  new file descriptors, no secrets in the environment, not root, no network where the kernel
  allows a namespace;
- a spare worker is a fresh ``python -I`` (not a fork of this process), in an empty folder,
  with only thread settings in its environment, and is never reused;
- code that passes the allowlist but attacks resources (endless loops, huge numbers, 10 GB,
  deep recursion, huge outputs) is stopped with a clear message, and the grader keeps serving;
- capacity: one grading at a time, a queue cap, a "busy" refusal;
- every learner-style right answer passes through real workers, and the drives run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from kit.drills import pool as pool_module
from kit.drills import worker
from kit.drills.grader import Grader, GraderBusy
from kit.drills.pool import WORKER_ENV, WorkerPool
from kit.drills.worker import BOOT
from tests.drills_submissions import CORRECT, WRONG

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, os, resource, sys, tempfile
sys.path.insert(0, sys.argv[1])
tempfile.tempdir = os.getcwd()
from kit.drills import worker
worker._limit(resource.RLIMIT_FSIZE, 0)
worker._limit(resource.RLIMIT_CORE, 0)
worker._warm_up()
layers = worker._lock_down()
worker._cap_cpu(5)
report = {"uid": os.getuid(), "env": sorted(os.environ), **layers}

def attempt(name, fn):
    try:
        fn()
        report[name] = "allowed"
    except BaseException as err:
        report[name] = type(err).__name__

def write_tmp():
    with open("/tmp/latent-lab-probe-%d" % os.getpid(), "w") as f:
        f.write("x" * 100)
        f.flush()

def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)

def threads():
    import threading
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()

def many_files():
    kept = [open(worker.__file__) for _ in range(32)]  # one it may read (as nobody, too)

def big_tensor():
    import torch
    torch.empty(10 * 2**30, dtype=torch.uint8).fill_(1)

def connect():  # no create_connection: its getaddrinfo needs the idna codec, a late import
    import socket
    s = socket.socket()
    s.settimeout(2)
    s.connect(("127.0.0.1", int(sys.argv[2])))
    s.close()

attempt("write_cwd", lambda: open("x.txt", "w").write("x"))
attempt("write_tmp", write_tmp)
attempt("fork", fork)
attempt("subprocess", lambda: __import__("subprocess").run(["/bin/true"]))
attempt("thread", threads)
attempt("ten_gb_bytes", lambda: bytearray(10 * 2**30))
attempt("ten_gb_tensor", big_tensor)
attempt("many_files", many_files)
attempt("read_root_home", lambda: os.listdir("/root"))
attempt("connect_loopback", connect)
attempt("read_outside", lambda: open(sys.argv[3]).read())
attempt("read_parent_environ", lambda: open("/proc/%d/environ" % os.getppid(), "rb").read())
parent = os.getppid()  # as root it is another user's; as an ordinary user (a Space) the worker's own
attempt("renice_parent", lambda: os.setpriority(os.PRIO_PROCESS, parent, os.getpriority(os.PRIO_PROCESS, parent)))
attempt("relimit_parent", lambda: resource.prlimit(parent, resource.RLIMIT_CORE))
attempt("signal_parent", lambda: os.kill(parent, 0))
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def listening_port():
    """A loopback port something listens on, to see if a worker can reach the server."""
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    yield srv.getsockname()[1]
    srv.close()


@pytest.fixture
def secret_file():
    """A file anyone may read (``nobody`` too), outside every folder a worker needs."""
    folder = Path(tempfile.mkdtemp(prefix="latent-lab-outside-"))
    os.chmod(folder, 0o755)
    secret = folder / "secret.txt"
    secret.write_text("the server's secret")
    os.chmod(secret, 0o644)
    yield secret
    shutil.rmtree(folder, ignore_errors=True)


def test_lock_down_stops_what_the_allowlist_would_have(tmp_path, listening_port, secret_file):
    os.chmod(tmp_path, 0o755)
    proc = subprocess.run(
        [sys.executable, "-I", "-B", "-c", PROBE, str(ROOT), str(listening_port), str(secret_file)],
        cwd=tmp_path,
        env=dict(WORKER_ENV),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["env"] == sorted(WORKER_ENV)  # no tokens, no paths, no secrets
    for name in ("write_cwd", "write_tmp", "fork", "subprocess", "thread", "ten_gb_bytes",
                 "ten_gb_tensor", "many_files"):  # fmt: skip
        assert report[name] != "allowed", (name, report)
    assert report["ten_gb_bytes"] == "MemoryError"
    assert report["ten_gb_tensor"] == "RuntimeError"  # torch: "can't allocate memory"
    assert report["many_files"] == "OSError"  # EMFILE
    if os.geteuid() == 0:  # as root the worker drops to nobody and /root is out of reach
        assert report["uid"] == 65534
        assert report["read_root_home"] == "PermissionError"
    assert report["uid"] != 0
    if report["network"] == "isolated" or _landlock_abi(report) >= 4:
        assert report["connect_loopback"] != "allowed"
    if report["landlock"].startswith("abi"):  # reading, too, is confined to what it needs
        assert report["read_outside"] == "PermissionError", report
        assert report["read_parent_environ"] == "PermissionError", report
        assert report["write_tmp"] == "PermissionError", report  # not even an empty file
    if os.uname().machine in worker.AUDIT_ARCH:  # the system-call filter holds on any Linux
        assert report["seccomp"] == "on", report
        for name in ("connect_loopback", "write_tmp", "renice_parent", "relimit_parent",
                     "signal_parent", "subprocess"):  # fmt: skip
            assert report[name] in ("PermissionError", "BlockingIOError"), (name, report)
    assert not list(tmp_path.iterdir())  # nothing was written in its folder


def _landlock_abi(report: dict) -> int:
    words = report["landlock"].split()
    return int(words[1]) if words[0] == "abi" else 0


def _wait_for(pred, timeout=300.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def _status_field(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def test_spare_worker_is_a_fresh_confined_process():
    pool = WorkerPool(spares=1)
    try:
        assert pool.wait_ready()
        (pid,) = pool.worker_pids()
        forker = pool.forker_pid()
        # the forker: a fresh python -I of this process (never a fork of it), in its own session
        cmdline = Path(f"/proc/{forker}/cmdline").read_bytes().split(b"\0")[:-1]
        assert cmdline[1:5] == [b"-I", b"-B", b"-c", BOOT.encode()]
        assert cmdline[5] == str(ROOT).encode() and cmdline[6].isdigit()  # its socket's fd
        assert int(_status_field(forker, "PPid")) == os.getpid()
        assert os.getsid(forker) == forker
        # the worker: forked by the forker, locked down (NPROC 0) after the fork
        assert int(_status_field(pid, "PPid")) == forker
        assert _wait_for(lambda: "0                    0" in _limits_line(pid, "Max processes"))
        ready = pool._idle[0].ready  # what it said about its layers
        assert ready["pid"] == pid and ready["network"] in ("isolated", "shared")
        assert ready["landlock"].startswith(("abi ", "unavailable: ")), ready
        assert ready["dumpable"] is False
        if os.uname().machine in worker.AUDIT_ARCH:
            assert ready["seccomp"] == "on", ready
        # the forker, too, is not dumpable (so no worker ever is, not even before its lock-down)
        assert pool._forker.ready["dumpable"] is False
        if os.geteuid() != 0:  # its /proc files are root's: its own user cannot open them
            with pytest.raises(PermissionError):
                os.listdir(f"/proc/{forker}/fd")
        assert _limits_line(pid, "Max file size").split()[3:5] == ["0", "0"]
        assert _limits_line(pid, "Max open files").split()[3] == "16"
        assert _limits_line(pid, "Max address space").split()[3] != "unlimited"
        assert os.getsid(pid) == pid  # its own session: one kill ends all of it
        if os.geteuid() == 0:  # only root may look inside a non-dumpable process
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")[:-1]
            assert sorted(e.split(b"=")[0].decode() for e in environ) == sorted(WORKER_ENV)
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
            assert cwd.name.startswith("latent-lab-drill-") and not list(cwd.iterdir())
            assert cwd != Path(os.readlink(f"/proc/{forker}/cwd"))  # a folder of its own
            fds = sorted(int(f) for f in os.listdir(f"/proc/{pid}/fd"))
            assert fds[:3] == [0, 1, 2] and len(fds) <= 4, fds  # not the forker's socket
        else:  # its own user (the server's) cannot (the worker's environ is checked inside)
            with pytest.raises(PermissionError):
                Path(f"/proc/{pid}/environ").read_bytes()
    finally:
        pool.close()
    assert not Path(f"/proc/{pid}").exists() and not Path(f"/proc/{forker}").exists()


SIGCHLD_PROBE = r"""
import json, signal, sys
sys.path.insert(0, sys.argv[1])
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kept by the exec of the forker
from kit.drills.pool import WorkerPool
pool = WorkerPool(spares=1)
try:
    assert pool.wait_ready()
    worker = pool._take()
    pool._kill(worker)
    print(json.dumps({"exit": worker.exit_code}))
finally:
    pool.close()
"""


def test_workers_wait_to_be_reaped_even_if_the_server_ignores_sigchld():
    """The pool's kill reaches a worker only while the forker holds its pid as a zombie: the
    forker resets SIGCHLD, which would otherwise reap (and free the pid of) every worker."""
    proc = subprocess.run(
        [sys.executable, "-c", SIGCHLD_PROBE, str(ROOT)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"exit": -9}


def _limits_line(pid: int, name: str) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith(name):
            return line
    return ""


@pytest.fixture(scope="module")
def grader():
    g = Grader()
    g.warm()
    yield g
    g.close()


def test_a_worker_is_never_reused(grader):
    assert grader.pool.wait_ready()
    (first,) = grader.pool.worker_pids()
    result = grader.grade("lerp", CORRECT["lerp"])
    assert result["passed"], result
    assert not Path(f"/proc/{first}").exists()  # killed and reaped
    (second,) = grader.pool.worker_pids()  # its replacement, forked before the job ran
    assert second != first
    grader.grade("lerp", WRONG[("lerp", "reversed")])
    assert grader.pool.worker_pids() != [second]


def test_back_to_back_gradings_start_no_interpreter(monkeypatch):
    """Every worker after the first is a fork of the warm forker: five gradings in a row start
    one python (the forker) and never wait for another torch import."""
    g = Grader()
    started = []
    real = g.pool._start_forker
    monkeypatch.setattr(g.pool, "_start_forker", lambda: started.append(1) or real())
    try:
        seen = set()
        for _ in range(5):
            result = g.grade("lerp", CORRECT["lerp"])
            assert result["passed"], result
            seen |= set(g.pool.worker_pids())
        assert started == [1]  # one forker for all of them
        assert len(seen) == 5  # and a fresh worker each time
    finally:
        g.close()


def test_a_dead_forker_is_replaced_and_its_workers_go(monkeypatch):
    g = Grader()
    groups_killed = []
    real_killpg = os.killpg
    monkeypatch.setattr(
        os, "killpg", lambda pg, sig: groups_killed.append(pg) or real_killpg(pg, sig)
    )
    try:
        assert g.pool.wait_ready()
        forker, (spare,) = g.pool.forker_pid(), g.pool.worker_pids()
        os.kill(forker, 9)
        assert _wait_for(lambda: not Path(f"/proc/{forker}").exists() or
                         _status_field(forker, "State").startswith("Z"), 30)  # fmt: skip
        result = g.grade("lerp", CORRECT["lerp"])
        assert result["passed"], result
        assert g.pool.forker_pid() not in (None, forker)  # a new forker
        # once reaped, the dead forker's pid may be a stranger's: no kill is sent to it
        assert forker not in groups_killed, groups_killed
        assert _wait_for(lambda: spare not in _live_pids(), 30)  # the orphaned spare is gone
    finally:
        g.close()


#: code that passes the allowlist but attacks the worker's resources, and what the learner reads
RESOURCE_ATTACKS = [
    ("endless loop", ["while True:", "    t = t + 1", "return z_a"], "stopped"),
    ("huge integer", ["n = 10 ** 10 ** 9", "return z_a"], "stopped"),
    ("10 GB tensor", ["big = torch.ones(10 * 2 ** 30 // 4)", "return z_a + big[0]"],
     "allocate"),
    ("huge string", ["s = 'ab' * (10 ** 10)", "return z_a"], "MemoryError"),
    ("doubling list", ["x = [1]", "while True:", "    x = x + x", "return z_a"],
     "MemoryError|stopped"),  # out of memory, or out of time first on a busy machine
    ("deep recursion", ["return lerp(z_a, z_b, t)"], "RecursionError"),
    ("huge output", ["return torch.zeros(5_000_000)"], "OutputTooLarge"),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    "label,lines,words", RESOURCE_ATTACKS, ids=[a[0] for a in RESOURCE_ATTACKS]
)
def test_resource_attacks_are_stopped_with_a_clear_message(grader, label, lines, words):
    code = "def lerp(z_a, z_b, t):\n" + "".join(f"    {ln}\n" for ln in lines)
    t0 = time.monotonic()
    result = grader.grade("lerp", code)
    assert not result["passed"]
    text = result["message"] + " ".join(t["message"] for t in result["tests"])
    assert any(w in text for w in words.split("|")), result
    assert time.monotonic() - t0 < 200


def test_the_grader_keeps_serving_after_attacks_and_leaves_no_processes(grader):
    assert grader.pool.wait_ready()
    forker = grader.pool.forker_pid()
    used = set(grader.pool.worker_pids())  # the spare that takes the attack
    others = set(_children(os.getpid())) - {forker}  # e.g. the session's live app and browser
    grader.grade("lerp", "def lerp(z_a, z_b, t):\n    while True:\n        t = t + 1\n")
    used |= set(grader.pool.worker_pids())  # and the one that takes the correct answer
    result = grader.grade("lerp", CORRECT["lerp"])
    assert result["passed"], result
    assert set(_children(os.getpid())) - others == {forker}  # the same forker, nothing else
    assert set(_children(forker)) <= set(grader.pool.worker_pids())  # only the new spare
    left = [pid for pid in _live_pids() if _session_id(pid) in used]
    assert left == [], left  # nothing a used worker started outlives it


def _live_pids() -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if not _status_field(int(d.name), "State").startswith("Z"):
                    out.append(int(d.name))
            except OSError:
                continue
    return out


def _session_id(pid: int) -> int | None:
    """The session a process belongs to (each worker leads its own), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[3])  # fields after "(comm)": state ppid pgrp sid


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int(_status_field(int(d.name), "PPid")) == pid and not _status_field(
                    int(d.name), "State"
                ).startswith("Z"):
                    out.append(int(d.name))
            except (OSError, ValueError):
                continue
    return out


def test_refused_code_never_reaches_a_worker(grader, monkeypatch):
    def no_worker(*args, **kwargs):
        raise AssertionError("a refused submission must not start a worker")

    monkeypatch.setattr(grader.pool, "run", no_worker)
    result = grader.grade("lerp", "import os\ndef lerp(z_a, z_b, t):\n    return z_a\n")
    assert result["refused"] and "line 1: imports are not allowed" in result["message"]
    result = grader.grade("lerp", "def lerp(z_a, z_b, t):\n    return z_a\n" + "#" * 9000)
    assert result["refused"] and "8 KB" in result["message"]


def test_capacity_one_at_a_time_with_a_queue_cap():
    g = Grader(queue_cap=1)
    g.warm()
    slow = "def lerp(z_a, z_b, t):\n    while True:\n        t = t + 1\n"
    results: dict[str, dict] = {}
    try:
        first = threading.Thread(target=lambda: results.update(a=g.grade("lerp", slow)))
        first.start()
        assert _wait_for(lambda: g._cap.waiting == 1, 30)
        second = threading.Thread(target=lambda: results.update(b=g.grade("lerp", CORRECT["lerp"])))
        second.start()
        assert _wait_for(lambda: g._cap.waiting == 2, 30)
        with pytest.raises(GraderBusy) as busy:
            g.grade("lerp", CORRECT["lerp"])
        assert busy.value.position == 3
        first.join(300)
        second.join(300)
        assert "stopped" in results["a"]["message"]
        assert results["b"]["passed"]  # the queued one ran after the slot freed
    finally:
        g.close()


@pytest.mark.slow
@pytest.mark.parametrize("drill_id", list(CORRECT))
def test_every_right_answer_passes_in_a_real_worker(grader, drill_id):
    result = grader.grade(drill_id, CORRECT[drill_id])
    assert result["passed"], result


@pytest.mark.parametrize(
    "key",
    [("gaussian_kl", "kl_sign_flipped"), ("reparameterize", "detached_sample"),
     ("training_step", "no_zero_grad"), ("sample_with_temperature", "ignores_generator")],
    ids=lambda k: "-".join(k),
)  # fmt: skip
def test_named_mistakes_through_a_real_worker(grader, key):
    result = grader.grade(key[0], WRONG[key])
    assert result["mistake"] == key[1], result


CELL = 85  # a drive picture's cell: 28 px x 3, plus 1 px of grey between cells


def _halves(image: np.ndarray, rows: int) -> list[np.ndarray]:
    """The picture's rows of cells (it has ``rows`` of them)."""
    assert image.shape[0] == rows * CELL + 1
    return [image[i * CELL + 1 : (i + 1) * CELL] for i in range(rows)]


def test_reparameterize_drives_reconstructions(grader):
    result, view = grader.drive("reparameterize", CORRECT["reparameterize"])
    assert result["passed"]
    top, bottom = _halves(view.image, 2)
    assert np.array_equal(top, bottom)  # the learner's z decodes exactly like the reference's
    wrong, view = grader.drive("reparameterize", WRONG[("reparameterize", "no_noise")])
    assert wrong["mistake"] == "no_noise"
    top, bottom = _halves(view.image, 2)
    cells = [top[:, i * CELL + 1 : (i + 1) * CELL] for i in range(1, 9)]
    assert all(np.array_equal(cells[0], c) for c in cells)  # no noise: 8 copies of the mean
    assert not np.array_equal(top, bottom)


def test_interpolation_and_sampling_drives(grader):
    _, view = grader.drive("slerp", CORRECT["slerp"])
    top, bottom = _halves(view.image, 2)
    assert np.abs(top.astype(int) - bottom.astype(int)).max() <= 1
    _, view = grader.drive("sample_with_temperature", CORRECT["sample_with_temperature"])
    rows = _halves(view.image, 6)
    assert all(np.array_equal(rows[i], rows[i + 3]) for i in range(3))


@pytest.mark.slow
def test_training_drive_shows_what_a_flipped_kl_does(grader):
    result, view = grader.drive("gaussian_kl", WRONG[("gaussian_kl", "kl_sign_flipped")])
    assert result["mistake"] == "kl_sign_flipped"
    assert view.plot is not None
    ours = [float(x) for x in view.summary.split("KL ")[1].split(" ")[0:1]]
    ref = float(view.summary.split("(reference ")[-1].rstrip(").").split(")")[0])
    assert ours[0] > 10 * ref  # the KL term grew instead of shrinking


@pytest.mark.slow
def test_parent_memory_back_to_baseline_after_100_gradings():
    """100 gradings through real workers: the grader's own process does not grow."""
    g = Grader()
    g.warm()
    codes = [(d, c) for d, c in CORRECT.items()] + [(k[0], v) for k, v in WRONG.items()]
    try:
        for drill_id, code in codes[:20]:  # warm every cache the grader keeps
            g.grade(drill_id, code)
        before = _rss_kib()
        for i in range(100):
            drill_id, code = codes[i % len(codes)]
            g.grade(drill_id, code)
        after = _rss_kib()
    finally:
        g.close()
    print(f"parent RSS before {before} KiB, after 100 gradings {after} KiB")
    assert after - before < 8 * 1024, (before, after)


def _rss_kib() -> int:
    return int(_status_field(os.getpid(), "VmRSS").split()[0])


def test_pool_reply_cap_is_enforced():
    assert pool_module.MAX_REPLY_BYTES <= 8 << 20


def test_a_reply_nested_too_deep_to_parse_is_a_bad_reply_not_an_exception(tmp_path):
    """The pool's side of a worker that got past every layer and prints 60,000 "[" (json.loads
    raises RecursionError, not ValueError, on it): an Outcome, never an exception."""
    job_read, job_write = os.pipe()
    out_read, out_write = os.pipe()
    try:
        os.write(out_write, b"[" * 60_000 + b"\n")  # fits in a pipe's buffer
        fake = pool_module._Worker(0, None, job_write, pool_module._Reader(out_read), str(tmp_path))
        outcome = WorkerPool()._run_on(fake, {"code": ""}, time.monotonic(), 5.0)
        assert outcome.status == "bad_reply", outcome
    finally:
        for fd in (job_read, out_read, out_write):
            os.close(fd)
