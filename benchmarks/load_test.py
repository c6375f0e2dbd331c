"""Load test: N concurrent clients against every model endpoint, over Gradio's queue HTTP API.

    python benchmarks/load_test.py [--clients 20 50] [--duration 20] [--url http://127.0.0.1:7860]
                                   [--only API_NAME ...] [--no-plots] [--skip-train]
                                   [--vary] [--abuse [--others 10]]
                                   [--vary --before REF [--rounds 2]]

Starts its own ``python app.py`` on a free loopback port (or uses ``--url``, which must be a
loopback address), warms every endpoint once, then for each client count runs that many
closed-loop clients (one thread each: send a request, wait for its result, send the next) for
``--duration`` seconds or ``--max-requests`` requests per client, whichever comes first. Each
client walks the public endpoints round-robin (every registered api_name except train_live) with
their default inputs, from its own starting point. A request is ``POST /gradio_api/call/<name>``
followed by reading the event stream to its ``complete`` or ``error`` event; its latency is the
whole round trip, queueing included.

Reported per endpoint and overall: requests, p50 and p95 latency of the successful ones, errors
(error events, malformed outputs, timeouts, broken streams, other refused POSTs), queue-full
refusals (HTTP 503 "Queue is full") and HTTP 5xx other than those. Targets, each PASS/FAIL:

- 20 clients: p95 <= 1.5 s and no error, refusal or 5xx at all;
- 50 clients: no error event and no 5xx; queue-full refusals are allowed (that is the queue
  doing its job);
- train_live: two calls sent together run one after the other (its concurrency group of 1).

``--vary`` sends random valid inputs instead of the defaults (every slider, number and choice
drawn from its range, from /config; a few different digit images), so the server's caches miss
as they would with real visitors.

``--before REF`` (with ``--vary``) also serves the code at git ref REF (a temporary worktree,
its own ``python app.py``) and, for each client count, alternates ``--rounds`` runs of
``--duration`` seconds against the old and the new app; it prints both sides' requests/s, p95
and errors and the throughput ratio. Target at 20 clients: >= 10x the old requests/s, p95 <=
1.5 s, zero errors (issue 10, measured against the commit before the speed work, 053fca3^).

``--abuse`` replaces the client-count runs with the attack suite: for ``--duration`` seconds,
``--others`` ordinary clients (own sessions, varied inputs) use the app while, at the same time,
one client floods the queue from one session (re-joining every endpoint as fast as it is
refused), one sends 20 MB request bodies, and one sends an 8000x8000 PNG as a drawing. Reported
for the ordinary clients: p50/p95, throughput and errors; for the attackers, how they were
answered; and the server's RSS before and after. Targets: the others' p95 <= 3 s with no error
or refusal; RSS after the suite within 10% of before.

Timings depend on what else the machine is doing: the clients share its cores with the server.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import threading
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]

from kit.testing.server import (  # noqa: E402
    CallResult,
    call,
    default_inputs,
    endpoint_parameters,
    endpoint_returns,
    git_worktree,
    output_problems,
    running_app,
    start_app,
    uploaded,
)
from kit.ui import EXTRA_PUBLIC_API  # noqa: E402

TRAIN = "train_live"
P95_TARGET_S = 1.5
ABUSE_P95_TARGET_S = 3.0
RSS_TOLERANCE = 0.10
THROUGHPUT_RATIO_TARGET = 10.0
TRAIN_STEPS = 15  # each of the two train_live calls: a few seconds of CPU


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


@dataclass
class Workload:
    """What the clients send: the endpoints and a valid input list for each."""

    url: str
    endpoints: list[str]
    inputs: dict[str, list]
    returns: dict[str, list[str]]
    """Each endpoint's output component types, to check every response's shape."""
    components: dict[str, list[dict]] | None = None
    """Each endpoint's input components (type and props, from /config): set for ``--vary``."""
    images: list[dict] | None = None
    """Uploaded digit images to pick from (``--vary``)."""

    @classmethod
    def discover(cls, url: str, vary: bool = False) -> Workload:
        with httpx.Client(timeout=60) as client:
            params = endpoint_parameters(client, url)
            inputs = default_inputs(client, url, params)
            returns = endpoint_returns(client, url)
            components = images = None
            if vary:
                components = _input_components(client, url)
                images = [uploaded(client, url, f"d{i}.png", _digit_png(i)) for i in range(6)]
        # the demos' endpoints: not Train live (one at a time) nor the drill grader (its own
        # group, its own worker processes; benchmarks/drills_latency.py measures it)
        names = sorted(n for n in params if n != TRAIN and n not in EXTRA_PUBLIC_API)
        return cls(url, names, inputs, returns, components, images)

    def only(self, names: list[str] | None = None, plots: bool = True) -> Workload:
        """The same workload restricted to ``names`` and/or to endpoints without a plot."""
        keep = [
            e
            for e in self.endpoints
            if (names is None or e in names) and (plots or "Plot" not in self.returns[e])
        ]
        return Workload(self.url, keep, self.inputs, self.returns, self.components, self.images)

    def data(self, api: str, rng: random.Random) -> list:
        """The inputs of one request: the defaults, or random valid ones with ``--vary``."""
        if self.components is None or api not in self.components:
            return self.inputs[api]
        return [
            _random_value(c, default, rng, self.images or [])
            for c, default in zip(self.components[api], self.inputs[api], strict=True)
        ]


def _input_components(client: httpx.Client, url: str) -> dict[str, list[dict]]:
    config = client.get(f"{url}/config", timeout=30).json()
    by_id = {c["id"]: c for c in config["components"]}
    return {
        d["api_name"]: [by_id[i] for i in d["inputs"]]
        for d in config["dependencies"]
        if isinstance(d.get("api_name"), str)
    }


def _digit_png(seed: int) -> bytes:
    """A "1" or a "7"-like stroke at a seeded place, dark on white, 280x280."""
    import numpy as np
    from PIL import Image

    g = np.random.default_rng(seed)
    canvas = np.full((280, 280), 255, np.uint8)
    x, w = int(g.integers(60, 180)), int(g.integers(14, 30))
    canvas[40:240, x : x + w] = 0
    if seed % 2:
        canvas[40 : 40 + w, max(0, x - 80) : x + w] = 0
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, format="PNG")
    return buf.getvalue()


def _random_value(component: dict, default, rng: random.Random, images: list[dict]):
    kind, props = component["type"], component.get("props", {})
    if kind in ("slider", "number"):
        lo, hi, step = props.get("minimum"), props.get("maximum"), props.get("step") or 1
        if lo is None:
            return default
        if hi is None:
            hi = lo + 10_000 * step
        value = lo + step * rng.randint(0, round((hi - lo) / step))
        return (
            round(value) if float(step).is_integer() and float(lo).is_integer() else round(value, 6)
        )
    if kind in ("dropdown", "radio"):
        choices = [c[1] if isinstance(c, (list, tuple)) else c for c in props.get("choices") or []]
        return rng.choice(choices) if choices and not props.get("multiselect") else default
    if kind == "file" and images:
        return rng.choice(images)
    if kind == "imageeditor" and images:
        return {"background": None, "layers": [], "composite": rng.choice(images)}
    return default


def run_clients(
    work: Workload,
    clients: int,
    requests_per_client: int,
    duration: float | None = None,
    timeout: float = 60.0,
    sessions: bool = True,
) -> list[CallResult]:
    """``clients`` closed-loop clients, each sending up to ``requests_per_client`` requests
    (stopping early after ``duration`` seconds); every client starts at the same moment.

    With ``sessions`` each client keeps one Gradio session for all its calls, as a browser tab
    or ``gradio_client.Client`` does; without, every call is a new session on the server.
    """
    results: list[CallResult] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client_loop(i: int) -> None:
        mine = []
        first = i * len(work.endpoints) // clients  # starting points spread over the endpoints
        session = uuid.uuid4().hex if sessions else None
        rng = random.Random(i)
        with httpx.Client(timeout=timeout) as client:
            start.wait()
            stop_at = time.monotonic() + (duration or float("inf"))
            for k in range(requests_per_client):
                if time.monotonic() > stop_at:
                    break
                api = work.endpoints[(first + k) % len(work.endpoints)]
                r = call(client, work.url, api, work.data(api, rng), timeout, session)
                if r.ok and (problems := output_problems(r.data, work.returns[api])):
                    r.event, r.data = "malformed", problems
                mine.append(r)
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    hard_deadline = time.monotonic() + (duration or 0) + timeout * 2 + 30
    for t in threads:
        t.join(max(0.0, hard_deadline - time.monotonic()))
    return results


@dataclass
class Stats:
    n: int
    ok: int
    errors: int  # error events, timeouts, broken streams, other refused POSTs
    refusals: int  # queue full, or the session's share of the queue taken (HTTP 429)
    http_5xx: int  # 5xx other than the queue-full 503
    p50: float
    p95: float


def stats(results: list[CallResult]) -> Stats:
    ok = [r.seconds for r in results if r.ok]
    return Stats(
        n=len(results),
        ok=len(ok),
        errors=sum(not r.ok and r.event not in ("queue_full", "refused") for r in results),
        refusals=sum(r.event in ("queue_full", "refused") for r in results),
        http_5xx=sum(r.server_error for r in results),
        p50=percentile(ok, 50),
        p95=percentile(ok, 95),
    )


def report(results: list[CallResult], title: str) -> Stats:
    by_api = defaultdict(list)
    for r in results:
        by_api[r.api_name].append(r)
    print(f"\n{title}")
    print(
        f"{'endpoint':26} {'n':>5} {'ok':>5} {'p50 s':>7} {'p95 s':>7} {'err':>4} {'full':>5} {'5xx':>4}"
    )
    for api in sorted(by_api):
        s = stats(by_api[api])
        print(
            f"{api:26} {s.n:5d} {s.ok:5d} {s.p50:7.3f} {s.p95:7.3f} "
            f"{s.errors:4d} {s.refusals:5d} {s.http_5xx:4d}"
        )
    total = stats(results)
    print(
        f"{'ALL':26} {total.n:5d} {total.ok:5d} {total.p50:7.3f} {total.p95:7.3f} "
        f"{total.errors:4d} {total.refusals:5d} {total.http_5xx:4d}"
    )
    for r in [r for r in results if not r.ok and r.event not in ("queue_full", "refused")][:5]:
        print(f"  e.g. {r.api_name}: {r.event} HTTP {r.status} {str(r.data)[:160]}")
    return total


def check(name: str, passed: bool, detail: str) -> bool:
    print(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}")
    return passed


def train_live_is_one_at_a_time(url: str, inputs: list) -> tuple[bool, str]:
    """Send two short train_live runs together; they must not overlap in time."""
    data = [*inputs[:-1], TRAIN_STEPS]
    out: list[CallResult] = []
    start = threading.Barrier(2)

    def one():
        with httpx.Client(timeout=300) as client:
            start.wait()
            out.append(call(client, url, TRAIN, data, timeout=300))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(400)
    if len(out) != 2 or not all(r.ok for r in out):
        return False, "; ".join(f"{r.event} {str(r.data)[:120]}" for r in out)
    first, second = sorted(out, key=lambda r: r.finished)
    began = second.update_times[0] if second.update_times else second.finished
    gap = began - first.finished
    return gap >= -0.05, (
        f"run 1 took {first.seconds:.1f} s; run 2 sent at the same moment, first update "
        f"{gap:+.2f} s after run 1 finished, done after {second.seconds:.1f} s"
    )


@dataclass
class AttackCounts:
    """How the server answered one attacker: HTTP status -> count."""

    name: str
    statuses: dict[int, int]
    sent: int = 0

    def line(self) -> str:
        parts = ", ".join(f"{n} x HTTP {code}" for code, n in sorted(self.statuses.items()))
        return f"{self.name}: {self.sent} requests ({parts})"


def _flooder(url: str, stop: threading.Event, out: AttackCounts, endpoints, work) -> None:
    """One session joining every endpoint again and again, never reading a result."""
    session = uuid.uuid4().hex
    with httpx.Client(timeout=30) as client:
        config = client.get(f"{url}/config").json()
        index = {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")}
        rng = random.Random(99)
        while not stop.is_set():
            for api in endpoints:
                body = {
                    "data": work.data(api, rng),
                    "fn_index": index[api],
                    "session_hash": session,
                    "event_data": None,
                    "trigger_id": None,
                }
                try:
                    code = client.post(f"{url}/gradio_api/queue/join", json=body).status_code
                except httpx.HTTPError:
                    code = 0
                out.sent += 1
                out.statuses[code] = out.statuses.get(code, 0) + 1
            time.sleep(0.02)


def _body_bomber(url: str, stop: threading.Event, out: AttackCounts) -> None:
    big = b'{"data": [' + b"1," * (10 * 2**20) + b'1], "fn_index": 0, "session_hash": "b"}'
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            try:
                code = client.post(
                    f"{url}/gradio_api/queue/join",
                    content=big,
                    headers={"content-type": "application/json"},
                ).status_code
            except httpx.HTTPError:
                code = 0
            out.sent += 1
            out.statuses[code] = out.statuses.get(code, 0) + 1
            time.sleep(0.2)


def _image_bomber(url: str, stop: threading.Event, out: AttackCounts) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (8000, 8000), 255).save(buf, format="PNG")
    with httpx.Client(timeout=60) as client:
        ref = uploaded(client, url, "bomb.png", buf.getvalue())
        sketch = {"background": None, "layers": [], "composite": ref}
        while not stop.is_set():
            r = call(client, url, "reconstruct_drawing", [sketch, 0.0], 60)
            code = 200 if r.event == "error" and "pixels" in str(r.data) else -1
            out.sent += 1
            out.statuses[code] = out.statuses.get(code, 0) + 1


ATTACKS = ("flood", "bodies", "images")


def abuse(
    work: Workload,
    others: int,
    duration: float,
    timeout: float,
    server,
    which: tuple[str, ...] = ATTACKS,
) -> list[bool]:
    """The attack suite against ``others`` ordinary clients; returns the verdicts.

    First the ordinary clients alone for ``duration`` (their baseline, and the caches filled to
    their steady size by varied inputs), then the same with the attackers; RSS is compared
    between the end of the baseline and the end of the attack.
    """
    t0 = time.monotonic()
    calm = run_clients(work, others, 10_000, duration, timeout, sessions=True)
    wall = time.monotonic() - t0
    base = report(calm, f"baseline: {others} ordinary clients alone, {wall:.1f} s")
    print(f"throughput of the ordinary clients: {base.ok / wall:.2f} successful requests/s")
    rss_before = server.rss_kib() if server is not None else None
    stop = threading.Event()
    attacks = [
        AttackCounts("flooding session (queue/join, HTTP 200 = admitted)", {}),
        AttackCounts("20 MB bodies", {}),
        AttackCounts("8000x8000 PNG drawings (200 = refused with the pixel message)", {}),
    ]
    threads = [
        threading.Thread(target=_flooder, args=(work.url, stop, attacks[0], work.endpoints, work)),
        threading.Thread(target=_body_bomber, args=(work.url, stop, attacks[1])),
        threading.Thread(target=_image_bomber, args=(work.url, stop, attacks[2])),
    ]
    chosen = [i for i, name in enumerate(ATTACKS) if name in which]
    attacks = [attacks[i] for i in chosen]
    threads = [threads[i] for i in chosen]
    for t in threads:
        t.daemon = True
        t.start()
    time.sleep(1.0)  # the flood is on before the others start
    t0 = time.monotonic()
    results = run_clients(work, others, 10_000, duration, timeout, sessions=True)
    wall = time.monotonic() - t0
    stop.set()
    for t in threads:
        t.join(timeout + 10)
    total = report(results, f"{others} ordinary clients under attack, {wall:.1f} s")
    print(f"throughput of the ordinary clients: {total.ok / wall:.2f} successful requests/s")
    for a in attacks:
        print("  " + a.line())
    verdicts = [
        check(
            f"under attack: the {others} others' p95 <= {ABUSE_P95_TARGET_S} s, no error or refusal",
            total.p95 <= ABUSE_P95_TARGET_S
            and total.errors == total.refusals == 0
            and total.ok > 0,
            f"p50 {total.p50:.3f} s, p95 {total.p95:.3f} s, {total.errors} errors, "
            f"{total.refusals} refusals, {total.n} requests",
        )
    ]
    if rss_before is not None:
        time.sleep(5.0)  # the flooder's admitted events finish
        after = server.rss_kib()
        change = (after - rss_before) / rss_before
        verdicts.append(
            check(
                f"RSS after the suite within {RSS_TOLERANCE:.0%} of before",
                abs(change) <= RSS_TOLERANCE,
                f"{rss_before / 1024:.0f} MiB -> {after / 1024:.0f} MiB ({change:+.1%})",
            )
        )
    return verdicts


@contextmanager
def old_app(ref: str):
    """``python app.py`` served from a temporary git worktree of ``ref`` (removed afterwards)."""
    with git_worktree(ref) as path, running_app(root=path, timeout=300) as server:
        yield server


def compare(new: Workload, old: Workload, clients: list[int], args) -> list[bool]:
    """Alternate runs against the old and the new app; their throughput ratio, per level."""
    verdicts = []
    for n in clients:
        side: dict[str, list[CallResult]] = {"old": [], "new": []}
        wall = {"old": 0.0, "new": 0.0}
        for _ in range(args.rounds):
            for name, work in (("old", old), ("new", new)):
                t0 = time.monotonic()
                side[name] += run_clients(work, n, args.max_requests, args.duration, args.timeout)
                wall[name] += time.monotonic() - t0
        rates = {}
        for name in ("old", "new"):
            rates[name] = sum(r.ok for r in side[name]) / wall[name]
            report(side[name], f"{name} app, {n} clients, {args.rounds} x {args.duration:.0f} s, "
                               f"{rates[name]:.1f} completed req/s")  # fmt: skip
        total = stats(side["new"])
        ratio = rates["new"] / rates["old"] if rates["old"] else float("inf")
        detail = (
            f"old {rates['old']:.2f} req/s (p95 {stats(side['old']).p95:.2f} s), new "
            f"{rates['new']:.2f} req/s (p95 {total.p95:.2f} s): {ratio:.1f}x; new errors "
            f"{total.errors}, queue-full {total.refusals}, 5xx {total.http_5xx}"
        )
        if n <= 20:
            passed = (
                ratio >= THROUGHPUT_RATIO_TARGET
                and total.p95 <= P95_TARGET_S
                and total.errors == total.refusals == total.http_5xx == 0
            )
            target = f">= {THROUGHPUT_RATIO_TARGET:g}x the old throughput, p95 <= {P95_TARGET_S} s"
            verdicts.append(check(f"{n} clients: {target}, zero errors", passed, detail))
        else:
            print(f"{n} clients: {detail}")
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per client count")
    parser.add_argument("--max-requests", type=int, default=200, help="per client and level")
    parser.add_argument("--timeout", type=float, default=60.0, help="per request, seconds")
    parser.add_argument("--url", help="a running app on a loopback address (default: start one)")
    parser.add_argument("--skip-train", action="store_true", help="skip the train_live check")
    parser.add_argument("--only", nargs="+", metavar="API_NAME", help="just these endpoints")
    parser.add_argument(
        "--no-plots", action="store_true", help="leave out the endpoints that return a plot"
    )
    parser.add_argument("--vary", action="store_true", help="random valid inputs (caches miss)")
    parser.add_argument("--abuse", action="store_true", help="the attack suite (see above)")
    parser.add_argument("--others", type=int, default=10, help="ordinary clients in --abuse")
    parser.add_argument(
        "--attacks", nargs="*", choices=ATTACKS, default=list(ATTACKS), help="with --abuse"
    )
    parser.add_argument(
        "--no-sessions",
        action="store_true",
        help="a new Gradio session per call (bare HTTP callers) instead of one per client",
    )
    parser.add_argument("--before", metavar="REF", help="compare throughput with git ref REF")
    parser.add_argument("--rounds", type=int, default=2, help="alternations with --before")
    args = parser.parse_args(argv)
    if args.before and (args.abuse or args.url or not args.vary):
        parser.error("--before goes with --vary, and without --abuse or --url")

    server = None
    if args.url:
        host = urlparse(args.url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            parser.error("--url must be a loopback address: this tool only loads your own machine")
        url = args.url.rstrip("/")
    else:
        server = start_app()
        url = server.url
        print(f"started python app.py at {url} (log: {server.log_path})")
    try:
        vary = args.vary or args.abuse
        work = Workload.discover(url, vary=vary).only(args.only, plots=not args.no_plots)
        print(f"{len(work.endpoints)} model endpoints: {', '.join(work.endpoints)}")
        print("inputs: " + ("random valid values (--vary)" if vary else "each endpoint's defaults"))
        warm = run_clients(work, 1, len(work.endpoints), timeout=args.timeout)
        report(warm, "warm-up: every endpoint once, one client (cold caches)")

        verdicts = []
        if args.before:
            with old_app(args.before) as before:
                print(f"started the app at {args.before} on {before.url}")
                old = Workload.discover(before.url, vary=True).only(args.only, not args.no_plots)
                run_clients(old, 1, len(old.endpoints), timeout=args.timeout)  # its warm-up
                verdicts += compare(work, old, args.clients, args)
            return 0 if all(verdicts) else 1
        if args.abuse:
            verdicts += abuse(
                work, args.others, args.duration, args.timeout, server, tuple(args.attacks)
            )
        for n in [] if args.abuse else args.clients:
            t0 = time.monotonic()
            results = run_clients(
                work, n, args.max_requests, args.duration, args.timeout, not args.no_sessions
            )
            wall = time.monotonic() - t0
            total = report(results, f"{n} clients, {wall:.1f} s, {len(results) / wall:.1f} req/s")
            detail = (
                f"p50 {total.p50:.3f} s, p95 {total.p95:.3f} s, {total.errors} errors, "
                f"{total.refusals} queue-full, {total.http_5xx} HTTP 5xx, {total.n} requests"
            )
            if n <= 20:
                passed = (
                    total.p95 <= P95_TARGET_S
                    and total.errors == total.refusals == total.http_5xx == 0
                )
                verdicts.append(
                    check(f"{n} clients: p95 <= {P95_TARGET_S} s, zero errors", passed, detail)
                )
            else:
                passed = total.errors == 0 and total.http_5xx == 0 and total.ok > 0
                verdicts.append(
                    check(f"{n} clients: only queue refusals, never a 5xx", passed, detail)
                )
        if not args.skip_train and not args.abuse:
            passed, detail = train_live_is_one_at_a_time(url, work.inputs[TRAIN])
            verdicts.append(check("train_live: one run at a time", passed, detail))
        if server is not None:
            print(f"server RSS at the end: {server.rss_kib() / 1024:.0f} MiB")
        return 0 if all(verdicts) else 1
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
