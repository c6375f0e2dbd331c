"""Code drills: grading time (worker start included) and the grader's memory over 100 gradings.

    python benchmarks/drills_latency.py [--n 100] [--think 2.0] [--burst 20]

0. Cold start: the first grading after the pool starts, which waits for the forker's torch
   import (once per server; every later worker is a fork of the warm forker).
A ``kit.drills.grader.Grader`` in this process (the server's role) grades learner-style
submissions (tests/drills_submissions.py: every drill's right answer and every named mistake,
in turn) through real worker processes.

1. Learner-paced: ``--n`` gradings, each after ``--think`` seconds (a learner reading the
   result and editing), so the spare worker started after one grading may or may not be warm
   by the next: whatever is left of its start-up is in the measured time. p50 / p95 of the
   ``grade()`` call's wall time, against the target p95 <= 1.5 s; this process's RSS (VmRSS)
   after 10 warm-up gradings and after the ``--n`` more.
   With ``--ready`` there is no fixed pause: each grading starts once the spare has said it is
   ready, so the time is the grading itself with the worker start off the learner's path (a
   learner who reads the result for longer than a worker start takes).
2. Back to back: ``--burst`` gradings with no pause, the worker start included: each takes
   the spare forked while the one before ran (or forks one then), never waits for an import.
3. Memory: resident (RSS), proportional (PSS) and private (USS) memory of the forker and of
   one spare, from ``/proc/<pid>/smaps_rollup``: a spare shares the forker's pages until it
   writes them, so its private memory is what one more spare costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TARGET_P95_S = 1.5


def rss_kib() -> int:
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def memory_kib(pid: int) -> dict[str, int] | None:
    """Rss, Pss and private (USS) memory of a process, in KiB; None when it cannot be read (a
    worker is not dumpable: only root reads its memory map)."""
    out = {"rss": 0, "pss": 0, "uss": 0}
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except PermissionError:
        return None
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            out[key.lower()] = int(rest.split()[0])
        elif key in ("Private_Clean", "Private_Dirty"):
            out["uss"] += int(rest.split()[0])
    return out


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def timed(grader, codes, n: int, think: float, ready: bool = False) -> list[float]:
    out = []
    for i in range(n):
        if think:
            time.sleep(think)
        if ready and not grader.pool.wait_ready():
            raise SystemExit("the spare worker never became ready")
        drill_id, code, want = codes[i % len(codes)]
        t0 = time.monotonic()
        result = grader.grade(drill_id, code)
        out.append(time.monotonic() - t0)
        if result["mistake"] != want and not (want is None and result["passed"]):
            raise SystemExit(f"unexpected grade for {drill_id}: {result}")
    return out


def main() -> None:
    import torch

    torch.set_num_threads(1)
    from kit.drills.grader import Grader
    from tests.drills_submissions import CORRECT, WRONG

    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--think", type=float, default=2.0)
    p.add_argument("--burst", type=int, default=20)
    p.add_argument("--ready", action="store_true", help="start each grading on a ready spare")
    args = p.parse_args()
    codes = [(d, c, None) for d, c in CORRECT.items()]
    codes += [(k[0], c, k[1]) for k, c in WRONG.items()]
    codes.sort(key=lambda c: hash(c[1]) % 97)  # interleave drills, right and wrong answers

    grader = Grader()
    try:
        t0 = time.monotonic()
        first = grader.grade(*codes[0][:2])
        cold = time.monotonic() - t0
        assert first["passed"] or first["mistake"], first
        if not grader.pool.wait_ready():
            raise SystemExit("the spare worker never became ready")
        memory = {"forker": memory_kib(grader.pool.forker_pid())}
        memory["spare"] = memory_kib(grader.pool.worker_pids()[0])
        ready = grader.pool._idle[0].ready
        timed(grader, codes, 10, args.think)  # warm every cache the grader keeps
        before = rss_kib()
        paced = timed(grader, codes, args.n, 0.0 if args.ready else args.think, args.ready)
        after = rss_kib()
        burst = timed(grader, codes, args.burst, 0.0) if args.burst else []
    finally:
        grader.close()
    print(f"cold start (the forker imports torch): first grading {cold:.2f} s")
    print(f"a spare says: {ready}")
    for name, m in memory.items():
        if m is None:
            print(f"{name}: memory map not readable (not dumpable; run as root to see it)")
            continue
        print(f"{name}: RSS {m['rss']} KiB, PSS {m['pss']} KiB, private (USS) {m['uss']} KiB")
    p95 = percentile(paced, 0.95)
    pace = "each on a ready spare" if args.ready else f"{args.think:g} s apart"
    print(f"learner-paced ({args.n} gradings, {pace}): "
          f"p50 {statistics.median(paced):.3f} s, p95 {p95:.3f} s, max {max(paced):.3f} s "
          f"(target p95 <= {TARGET_P95_S} s: {'PASS' if p95 <= TARGET_P95_S else 'FAIL'})")  # fmt: skip
    print(f"grader process RSS: {before} KiB before, {after} KiB after {args.n} gradings "
          f"({after - before:+d} KiB)")  # fmt: skip
    if burst:
        print(f"back to back ({args.burst} gradings): p50 {statistics.median(burst):.3f} s, "
              f"p95 {percentile(burst, 0.95):.3f} s")  # fmt: skip
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
