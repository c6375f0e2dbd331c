"""Grade a submission: capacity, the sandboxed run, comparison with the reference, diagnosis.

Flow of ``Grader.grade(drill_id, code)``:

1. the code is checked against the ``ast`` allowlist here, before any worker is spent on it
   (refusals name the construct and its line);
2. capacity (sandbox layer 3): one grading runs at a time (``SLOTS``); at most ``QUEUE_CAP``
   wait behind it, and one more is told "busy, position N" at once instead of waiting;
3. a fresh worker (``kit.drills.pool``) runs the code on every hidden case and replies in JSON;
4. each case's results are compared with the reference solution's, computed here by the same
   harness (``kit.drills.harness``) at the drill's tolerance: |got - expected| <= atol + rtol *
   |expected| element-wise, equal shapes, NaN where the reference has NaN;
5. a failing submission is matched against each named wrong variant the same way: when its
   results equal a variant's on every case, the grade names that mistake with its message and
   the demo that shows what the bug does; otherwise it shows the first failing input, the
   expected and the actual value.

The result is a plain dict (the API's JSON): ``passed``, ``tests`` (name/passed/message),
``mistake`` (id or None), ``message``, plus ``seconds``, ``demo`` and ``drill``.
"""

from __future__ import annotations

import atexit
import math
import threading
from dataclasses import dataclass
from functools import lru_cache

import torch

from kit.drills import drive as drives
from kit.drills.allowlist import MAX_CODE_BYTES, RefusedCode, check_source
from kit.drills.catalog import all_drills
from kit.drills.harness import run_case, well_formed_case
from kit.drills.pool import Outcome, WorkerPool
from kit.drills.spec import Drill

SLOTS = 1  # gradings at once: each is a process on one of the two cores
QUEUE_CAP = 8  # gradings allowed to wait for the slot; the next is refused as busy
QUEUE_WAIT_S = 60.0  # the longest a queued grading waits for the slot
GRADE_CPU_S = 3.0  # CPU seconds a grading may use in its worker (the cases take milliseconds)
GRADE_WALL_S = 6.0  # wall-clock limit of a grading in its worker
DRIVE_CPU_S = 20.0  # a drive includes a 60-step training run (about a second of CPU)
DRIVE_WALL_S = 40.0
SHOWN_NUMBERS = 6  # values shown of an expected / actual tensor
MALFORMED = "the sandbox's answer was malformed"  # a reply no honest worker sends


class GraderBusy(Exception):
    """Every grading slot is taken and the queue is full; ``position`` is where this one
    would have stood."""

    def __init__(self, position: int):
        super().__init__(f"grading is busy: you would be number {position} in the queue")
        self.position = position


class UnknownDrill(ValueError):
    """No drill by that id."""


@dataclass
class _Capacity:
    slot: threading.BoundedSemaphore
    lock: threading.Lock
    waiting: int = 0


def get_drill(drill_id) -> Drill:
    """The drill called ``drill_id`` (``UnknownDrill`` for any other value)."""
    drills = all_drills()
    if not isinstance(drill_id, str) or drill_id not in drills:
        shown = str(drill_id)[:40]
        raise UnknownDrill(f"there is no drill {shown!r}; the drills are {', '.join(drills)}")
    return drills[drill_id]


# ---- expected results (trusted code, in this process) --------------------------------------


def _run_here(fn, drill: Drill) -> list[dict]:
    with torch.random.fork_rng():  # the harness seeds the global RNG: keep the server's own
        return [run_case(fn, c.runner, c.args) for c in drill.cases]


@lru_cache(maxsize=64)
def expected_results(drill_id: str) -> list[dict]:
    """The reference solution's result on every hidden case."""
    drill = get_drill(drill_id)
    return _run_here(drill.reference, drill)


@lru_cache(maxsize=256)
def variant_results(drill_id: str, mistake_id: str) -> list[dict]:
    """A named wrong variant's result on every hidden case."""
    drill = get_drill(drill_id)
    mistake = next(m for m in drill.mistakes if m.id == mistake_id)
    return _run_here(mistake.variant, drill)


@lru_cache(maxsize=16)
def reference_drive(drill_id: str) -> list[dict]:
    """The reference solution's results on the drill's drive cases (cached)."""
    drill = get_drill(drill_id)
    return drives.run_here(drill.reference, drill.drive, drill.id)


# ---- comparison ----------------------------------------------------------------------------


def _close(a: dict, b: dict, rtol: float, atol: float) -> bool:
    """Two encoded values (see ``kit.drills.harness.encode``) equal within tolerance."""
    if "error" in a or "error" in b:
        return a.get("error") == b.get("error")
    if "none" in a or "none" in b:
        return "none" in a and "none" in b
    if "items" in a or "items" in b:
        ia, ib = a.get("items"), b.get("items")
        return (
            ia is not None
            and ib is not None
            and len(ia) == len(ib)
            and all(_close(x, y, rtol, atol) for x, y in zip(ia, ib, strict=True))
        )
    if a.get("shape") != b.get("shape"):
        return False
    try:  # the worker's half is data from an untrusted process: malformed means different
        ta = torch.tensor(a["data"], dtype=torch.float64)
        tb = torch.tensor(b["data"], dtype=torch.float64)
        return ta.shape == tb.shape and bool(
            torch.allclose(ta, tb, rtol=rtol, atol=atol, equal_nan=True)
        )
    except (KeyError, TypeError, ValueError, RuntimeError):
        return False


def first_difference(got: dict, expected: dict, rtol: float, atol: float) -> str | None:
    """The name of the first result field of a case that differs, or None when all agree."""
    for key in expected:
        if key not in got or not _close(got[key], expected[key], rtol, atol):
            return key
    extra = set(got) - set(expected)
    return min(extra) if extra else None


def _same_everywhere(got: list[dict], other: list[dict], rtol: float, atol: float) -> bool:
    return len(got) == len(other) and all(
        first_difference(g, o, rtol, atol) is None for g, o in zip(got, other, strict=True)
    )


def field_label(key: str) -> str:
    """What a result field means, in words, for the learner."""
    if key == "out":
        return "the result"
    if key.startswith("grad_"):
        return f"d sum(result) / d {key[5:]}"
    if key == "reproducible":
        return "same samples from two calls with equal generator seeds (1 = yes)"
    if key.startswith("loss_"):
        return f"the loss returned by step {key[5:]}"
    if key.startswith("params_"):
        return f"each parameter tensor's sum after step {key[7:]}"
    return key


def show_value(v: dict | None) -> str:
    """An encoded value as a learner reads it: shape and the first few numbers."""
    if v is None:
        return "nothing"
    if "error" in v:
        return f"an error: {v['error']}: {v.get('message', '')}".rstrip(": ")
    if "none" in v:
        return "None (no gradient reaches it)"
    if "items" in v:
        return "(" + ", ".join(show_value(x) for x in v["items"]) + ")"
    data, shape = v.get("data", []), v.get("shape", [])
    nums = ", ".join(_num(x) for x in data[:SHOWN_NUMBERS])
    more = ", …" if len(data) > SHOWN_NUMBERS else ""
    if not shape:
        return nums
    return f"shape ({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''}) [{nums}{more}]"


def _num(x) -> str:
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.5g}"


def _case_input(case) -> str:
    return case.shows or case.name


def grade_results(drill: Drill, results: list[dict], seconds: float) -> dict:
    """Compare a worker's results with the reference; name the mistake if one matches."""
    expected = expected_results(drill.id)
    tests, first_fail = [], None
    for case, got, exp in zip(drill.cases, results, expected, strict=True):
        key = first_difference(got, exp, drill.rtol, drill.atol)
        if key is None:
            tests.append({"name": case.name, "passed": True, "message": "passed"})
            continue
        msg = (f"for {_case_input(case)}: {field_label(key)}: expected {show_value(exp.get(key))}, "
               f"got {show_value(got.get(key))}")  # fmt: skip
        tests.append({"name": case.name, "passed": False, "message": msg})
        first_fail = first_fail or msg
    passed = first_fail is None
    result = {"drill": drill.id, "passed": passed, "tests": tests, "mistake": None,
              "seconds": round(seconds, 3), "demo": None}  # fmt: skip
    if passed:
        result["message"] = f"All {len(tests)} tests passed in {seconds:.2f} s."
        return result
    for mistake in drill.mistakes:
        if _same_everywhere(results, variant_results(drill.id, mistake.id), drill.rtol, drill.atol):
            result["mistake"] = mistake.id
            result["message"] = mistake.message
            result["demo"] = {"id": mistake.demo, "note": mistake.demo_note} if (
                mistake.demo or mistake.demo_note) else None  # fmt: skip
            return result
    n_bad = sum(not t["passed"] for t in tests)
    result["message"] = f"{n_bad} of {len(tests)} tests failed. First: {first_fail}."
    return result


def _refusal(drill_id: str, message: str, seconds: float = 0.0) -> dict:
    return {"drill": drill_id, "passed": False, "tests": [], "mistake": None,
            "message": f"Not run: {message}.", "seconds": round(seconds, 3), "demo": None,
            "refused": True}  # fmt: skip


def _outcome_message(outcome: Outcome, wall: float, cpu: float) -> str:
    if outcome.status == "timeout":
        return (f"your code ran for more than {wall:g} s and was stopped (an endless loop, or "
                "far too much work)")  # fmt: skip
    if outcome.status == "cpu":
        return f"your code used more than {cpu:g} s of CPU and was stopped"
    if outcome.status == "too_large":
        return "your code's output was far too large and the run was stopped"
    return (f"the sandbox stopped without an answer (exit status {outcome.exit_code}); "
            "too much memory, or too deep a recursion")  # fmt: skip


# ---- the grader ------------------------------------------------------------------------------


class Grader:
    """Serves gradings and drives through a warm ``WorkerPool``, one at a time."""

    def __init__(self, pool: WorkerPool | None = None, queue_cap: int = QUEUE_CAP):
        self.pool = pool or WorkerPool(spares=SLOTS)
        self.queue_cap = queue_cap
        self._cap = _Capacity(threading.BoundedSemaphore(SLOTS), threading.Lock())

    def warm(self) -> None:
        """Start the worker pool's forker (and, once it is warm, its spares)."""
        self.pool.warm()

    def close(self) -> None:
        """Kill the worker pool's spares and its forker."""
        self.pool.close()

    def _admit(self) -> None:
        with self._cap.lock:
            if self._cap.waiting >= SLOTS + self.queue_cap:
                raise GraderBusy(self._cap.waiting + 1)
            self._cap.waiting += 1
        if not self._cap.slot.acquire(timeout=QUEUE_WAIT_S):
            with self._cap.lock:
                self._cap.waiting -= 1
                position = self._cap.waiting + 1
            raise GraderBusy(position)

    def _release(self) -> None:
        self._cap.slot.release()
        with self._cap.lock:
            self._cap.waiting -= 1

    def _run(self, drill: Drill, code: str, extra_cases: list[dict], cpu: float, wall: float):
        job = make_job(drill, code, extra_cases, cpu)
        self._admit()
        try:
            return self.pool.run(job, wall)
        finally:
            self._release()

    def grade(self, drill_id, code) -> dict:
        """Grade ``code`` for drill ``drill_id`` (see the module docstring)."""
        drill = get_drill(drill_id)
        refused = _precheck(drill, code)
        if refused:
            return _refusal(drill.id, refused)
        expected_results(drill.id)  # computed (once) before the slot is taken
        outcome = self._run(drill, code, [], GRADE_CPU_S, GRADE_WALL_S)
        return self._result(drill, outcome, len(drill.cases), GRADE_WALL_S, GRADE_CPU_S)[0]

    def drive(self, drill_id, code) -> tuple[dict, drives.DriveView | None]:
        """Grade ``code`` and run it in its drill's live demo in the same worker."""
        drill = get_drill(drill_id)
        if drill.drive is None:
            raise UnknownDrill(f"the drill {drill.id!r} has no live demo to drive")
        refused = _precheck(drill, code)
        if refused:
            return _refusal(drill.id, refused), None
        expected_results(drill.id)
        reference = reference_drive(drill.id)
        cases = drives.job_cases(drill.drive, drill.id)
        outcome = self._run(drill, code, cases, DRIVE_CPU_S, DRIVE_WALL_S)
        result, extra = self._result(drill, outcome, len(drill.cases), DRIVE_WALL_S, DRIVE_CPU_S)
        if extra is None:
            return result, None
        if not drives.well_formed(drill.drive, extra, len(cases)):
            return _refusal(drill.id, MALFORMED, outcome.seconds), None
        return result, drives.render(drill.drive, drill.id, extra, reference)

    def _result(self, drill: Drill, outcome: Outcome, n: int, wall: float, cpu: float):
        if outcome.status != "ok":
            return _refusal(drill.id, _outcome_message(outcome, wall, cpu), outcome.seconds), None
        reply = outcome.reply
        if "refused" in reply:
            return _refusal(drill.id, str(reply["refused"])[:300], outcome.seconds), None
        if "crashed" in reply:
            err = reply["crashed"] if isinstance(reply["crashed"], dict) else {}
            msg = f"defining your function raised {err.get('error')}: {err.get('message')}"
            return _refusal(drill.id, msg[:300], outcome.seconds), None
        results = reply.get("results")
        if (
            not isinstance(results, list)
            or len(results) < n
            or not all(well_formed_case(r) for r in results[:n])
        ):
            return _refusal(drill.id, MALFORMED, outcome.seconds), None
        return grade_results(drill, results[:n], outcome.seconds), results[n:]


def make_job(drill: Drill, code: str, extra_cases: list[dict] = (), cpu: float = GRADE_CPU_S):
    """The JSON job a worker runs: the code, its signature, the hidden cases (and a drive's)."""
    cases = [{"runner": c.runner, "args": c.args} for c in drill.cases] + list(extra_cases)
    return {"name": drill.id, "params": list(drill.params), "code": code, "cpu_seconds": cpu,
            "cases": cases}  # fmt: skip


def _precheck(drill: Drill, code) -> str | None:
    """The allowlist's refusal of ``code`` (size cap first), or None when it may run."""
    if not isinstance(code, str):
        return "the code must be text"
    if len(code.encode("utf-8", errors="replace")) > MAX_CODE_BYTES:
        return f"the code is longer than {MAX_CODE_BYTES // 1024} KB"
    try:
        check_source(code, drill.signature)
    except RefusedCode as err:
        return str(err)
    return None


_shared: Grader | None = None
_shared_lock = threading.Lock()


def shared_grader() -> Grader:
    """The server's one grader (a shared resource like the model cache; no per-user state)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Grader()
            atexit.register(_shared.close)  # no spare outlives the server
        return _shared
