"""Run one function on one hidden case and encode what came out as plain JSON.

The same code runs in two places: in the server with a reference solution or a named wrong
variant (trusted code) and in the worker with a learner's submission. Both build the case's
arguments from the same JSON description and encode results the same way, so a submission is
compared with the reference like for like.

Argument descriptions (``build_value``):

- a JSON number, bool or string is passed as is;
- ``{"tensor": [[...]]}``: a float32 tensor of those values;
- ``{"randn": [shape], "seed": s, "scale": a, "shift": b}``: ``shift + scale * N(0, 1)`` drawn
  from a generator seeded with s (the same numbers in every process);
- ``{"uniform": [shape], "seed": s, "low": a, "high": b}`` and ``{"bernoulli": [shape], "seed":
  s}``: likewise;
- ``{"generator": s}``: a fresh ``torch.Generator`` seeded with s;
- ``{"decoder": "tanh", "latent_dim": d, "out": k, "seed": s}``: a small fixed decoder
  z (n, d) -> tanh(z W + b) (n, k), with its ``latent_dim``.

A result is encoded as ``{"shape": [...], "data": [numbers]}`` (a tensor or a number), a list of
those (a tuple), ``{"none": true}``, or ``{"error": "TypeError", "message": "..."}``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

MAX_OUTPUT_NUMBERS = 200_000  # more than any drill returns; a bigger result is refused
MAX_MESSAGE = 300  # characters of an exception's message that come back
MAX_ITEMS = 8  # values of a returned tuple or list that are encoded
MAX_DEPTH = 4  # tuples inside tuples: deeper is reported as a wrong type, never encoded


class TanhDecoder:
    """A fixed decoder for the sampling drill's tests: z (n, d) -> tanh(z W + b), (n, k)."""

    def __init__(self, latent_dim: int, out: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.latent_dim = latent_dim
        self.weight = torch.randn(latent_dim, out, generator=g)
        self.bias = torch.randn(out, generator=g)

    def __call__(self, z):
        """tanh(z W + b) of ``z``, (n, d) -> (n, k)."""
        return torch.tanh(z @ self.weight + self.bias)  # (n, d) -> (n, k)


class TinyVAE(nn.Module):
    """The training-step drill's model: x (B, D) -> (mu, logvar) (B, d); z -> logits (B, D)."""

    def __init__(self, pixels: int, hidden: int, latent_dim: int, seed: int):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.enc = nn.Linear(pixels, hidden)
            self.mu_head = nn.Linear(hidden, latent_dim)
            self.logvar_head = nn.Linear(hidden, latent_dim)
            self.dec = nn.Sequential(
                nn.Linear(latent_dim, hidden), nn.Tanh(), nn.Linear(hidden, pixels)
            )

    def encode(self, x):
        """The posterior's (mu, logvar) of ``x``, (B, D) -> (B, d) each."""
        h = torch.tanh(self.enc(x))  # (B, D) -> (B, hidden)
        return self.mu_head(h), self.logvar_head(h)  # (B, d) each

    def decode(self, z):
        """The decoder's logits for ``z``, (B, d) -> (B, D)."""
        return self.dec(z)  # (B, d) -> (B, D) logits


class PlainSGD:
    """The training-step drill's optimizer: p <- p - lr * grad, with ``zero_grad`` and ``step``.

    Not ``torch.optim.SGD``: creating any torch optimizer imports ``torch._dynamo``, seconds of
    import in every fresh worker, for one line of arithmetic.
    """

    def __init__(self, params, lr: float):
        self.params = list(params)
        self.lr = lr

    def zero_grad(self) -> None:
        """Clear every parameter's gradient."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One SGD update of every parameter that has a gradient."""
        for p in self.params:
            if p.grad is not None:
                p -= self.lr * p.grad  # p <- p - lr * dL/dp


def _generator(seed) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def build_value(spec):
    """One argument from its JSON description (see the module docstring)."""
    if not isinstance(spec, dict):
        return spec
    if "tensor" in spec:
        return torch.tensor(spec["tensor"], dtype=torch.float32)
    if "randn" in spec:
        x = torch.randn(spec["randn"], generator=_generator(spec.get("seed", 0)))
        shift, scale = (
            torch.as_tensor(spec.get(k, d)) for k, d in (("shift", 0.0), ("scale", 1.0))
        )
        return shift + scale * x  # per-column scale and shift when they are lists
    if "uniform" in spec:
        lo, hi = spec.get("low", 0.0), spec.get("high", 1.0)
        return lo + (hi - lo) * torch.rand(spec["uniform"], generator=_generator(spec["seed"]))
    if "bernoulli" in spec:
        p = torch.rand(spec["bernoulli"], generator=_generator(spec["seed"]))
        return (p < 0.5).float()
    if "generator" in spec:
        return _generator(spec["generator"])
    if spec.get("decoder") == "tanh":
        return TanhDecoder(spec["latent_dim"], spec["out"], spec["seed"])
    raise ValueError(f"unknown argument description {sorted(spec)}")


def encode(value, depth: int = 0):
    """A function's result as JSON: tensors and numbers as shape + flat data."""
    if value is None:
        return {"none": True}
    if isinstance(value, (bool, int, float)):
        return {"shape": [], "data": [float(value)]}
    if isinstance(value, torch.Tensor):
        if value.numel() > MAX_OUTPUT_NUMBERS:
            return _error_record("OutputTooLarge", f"{value.numel()} numbers came back")
        v = value.detach().to(torch.float64)
        return {"shape": list(v.shape), "data": v.flatten().tolist()}
    if isinstance(value, (tuple, list)) and len(value) <= MAX_ITEMS:
        if depth >= MAX_DEPTH:
            return _error_record("WrongType", f"the function returned tuples {depth + 1} deep")
        return {"items": [encode(v, depth + 1) for v in value]}
    return _error_record("WrongType", f"the function returned a {type(value).__name__}")


def is_number(x) -> bool:
    """A JSON number (an int or a float, not a bool)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def well_formed(value, depth: int = 0) -> bool:
    """Whether ``value`` has the shape ``encode`` (or ``error_of``) gives a result. The server
    checks a worker's reply with this before it reads it: an escaped worker may send any JSON,
    and what is not an encoded value is refused, never compared or shown."""
    if not isinstance(value, dict):
        return False
    if "error" in value:
        return isinstance(value["error"], str) and isinstance(value.get("message", ""), str)
    if "none" in value:
        return True
    if "items" in value:
        items = value["items"]
        return (
            depth < MAX_DEPTH
            and isinstance(items, list)
            and len(items) <= MAX_ITEMS
            and all(well_formed(v, depth + 1) for v in items)
        )
    shape, data = value.get("shape"), value.get("data")
    return (
        isinstance(shape, list)
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        and isinstance(data, list)
        and len(data) == math.prod(shape)
        and all(is_number(x) for x in data)
    )


def well_formed_case(record) -> bool:
    """Whether ``record`` is one case's named results (see ``RUNNERS``): names to encoded
    values."""
    return (
        isinstance(record, dict)
        and bool(record)
        and all(isinstance(k, str) and well_formed(v) for k, v in record.items())
    )


def _error_record(kind: str, message: str) -> dict:
    return {"error": kind, "message": message[:MAX_MESSAGE]}


def error_of(err: BaseException) -> dict:
    """An exception the function raised, as JSON (its type name and the start of its message)."""
    return _error_record(type(err).__name__, str(err))


def _call(fn, args: dict, seed: int = 0):
    torch.manual_seed(seed)  # for torch.randn_like inside a submission; the server forks the RNG
    try:
        return fn(**args), None
    except Exception as err:  # the learner's code may raise anything: it is reported, by name
        return None, error_of(err)


# ---- runners: how a case calls the function -----------------------------------------------


def run_value(fn, spec: dict) -> dict:
    """Call ``fn(**args)`` and encode the result."""
    args = {k: build_value(v) for k, v in spec.items()}
    out, err = _call(fn, args)
    return {"out": err or encode(out)}


def run_value_grad(fn, spec: dict) -> dict:
    """Like ``run_value``, plus d(sum of the result)/d(each tensor argument), or none when the
    result is cut off from that argument (a ``.detach()``)."""
    args = {k: build_value(v) for k, v in spec.items()}
    for v in args.values():
        if isinstance(v, torch.Tensor):
            v.requires_grad_(True)
    out, err = _call(fn, args)
    if err:
        return {"out": err}
    record = {"out": encode(out)}
    for name, v in args.items():
        if not isinstance(v, torch.Tensor):
            continue
        grad = None
        if isinstance(out, torch.Tensor) and out.requires_grad:
            try:
                (grad,) = torch.autograd.grad(out.sum(), v, allow_unused=True, retain_graph=True)
            except RuntimeError as e:
                record[f"grad_{name}"] = error_of(e)
                continue
        record[f"grad_{name}"] = encode(grad)
    return record


def run_sampler(fn, spec: dict) -> dict:
    """Call ``fn`` twice with generators of the same seed but different global RNG states: a
    function that uses its generator returns the same samples both times."""
    first, err = _call(fn, {k: build_value(v) for k, v in spec.items()}, seed=1)
    if err:
        return {"out": err}
    second, err = _call(fn, {k: build_value(v) for k, v in spec.items()}, seed=2)
    same = (
        err is None
        and isinstance(first, torch.Tensor)
        and isinstance(second, torch.Tensor)
        and first.shape == second.shape
        and bool(torch.equal(first, second))
    )
    return {"out": encode(first), "reproducible": encode(bool(same))}


def _param_sums(model: nn.Module) -> list[float]:
    return [float(p.detach().double().sum()) for p in model.parameters()]


def run_training_step(fn, spec: dict) -> dict:
    """Two calls of ``fn(model, x, optimizer, beta)`` on a seeded ``TinyVAE`` with plain SGD:
    the losses it returned and each parameter tensor's sum after each step."""
    pixels, latent = int(spec.get("pixels", 16)), int(spec.get("latent_dim", 2))
    model = TinyVAE(pixels, int(spec.get("hidden", 8)), latent, int(spec["seed"]))
    optimizer = PlainSGD(model.parameters(), lr=float(spec.get("lr", 0.05)))
    x = build_value({"bernoulli": [int(spec.get("batch", 4)), pixels], "seed": spec["seed"]})
    record = {}
    for step in (1, 2):
        loss, err = _call(fn, {"model": model, "x": x, "optimizer": optimizer,
                               "beta": float(spec["beta"])}, seed=step)  # fmt: skip
        if err:
            return {**record, f"loss_{step}": err}
        record[f"loss_{step}"] = encode(loss)
        record[f"params_{step}"] = encode(torch.tensor(_param_sums(model), dtype=torch.float64))
    return record


RUNNERS = {
    "value": run_value,
    "value_grad": run_value_grad,
    "sampler": run_sampler,
    "training_step": run_training_step,
}


def run_case(fn, runner: str, args: dict) -> dict:
    """The named results of one case (see ``RUNNERS``)."""
    return RUNNERS[runner](fn, args)


def finite_or_none(x: float) -> float | None:
    """A float for JSON that a browser can read (NaN and infinities become None)."""
    return x if math.isfinite(x) else None
