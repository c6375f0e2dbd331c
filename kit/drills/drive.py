"""Your code drives the model: the live demos a submission runs in.

- ``reconstruct`` (reparameterize): the shipped VAE-2 encodes a test digit into (mu, logvar) in
  the server; the worker samples 8 codes z = f(mu, logvar, eps) with the learner's function; the
  server decodes them. A right answer gives 8 plausible variations of the digit; exp(logvar)
  for sigma gives wilder ones, no noise gives 8 copies of the mean.
- ``interpolate`` (lerp, slerp): the codes of two test digits, the learner's path between them
  at 10 values of t, decoded in the server.
- ``sample`` (sample_with_temperature): the learner's function samples the shipped VAE-2's
  decoder (in the worker) at T = 0.5, 1 and 2.
- ``train`` (gaussian_kl, negative_elbo, training_step): ``TRAIN_STEPS`` Adam steps of a
  fresh VAE with VAE-2's architecture on the bundled test digits, with the learner's KL, loss or
  whole step; every few steps trusted code measures the true negative ELBO and KL on held-out
  digits, so a flipped sign shows as a KL that climbs while "your loss" falls. The reference
  solution's run (same seed, same batches) is drawn beside it.

The worker runs ``RUNNERS`` (with the learner's function); the server runs the same ones with
the reference, then ``render`` turns both into a picture, a plot and a summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch

from kit.drills import harness
from kit.drills.harness import encode

TRAIN_STEPS = 60
TRAIN_BATCH = 64
TRAIN_LR = 1e-3
EVAL_EVERY = 5
HELD_OUT = slice(9000, 9256)  # 256 test digits never trained on, for the true ELBO
SHOWN = slice(9000, 9008)  # 8 of them, reconstructed after training
DRIVE_MODEL = "vae-2"
RECONSTRUCT_INDEX = 0  # test digit 0 (a 7)
INTERPOLATE_INDICES = (2, 0)  # as latent.interpolate's default: a 1 and a 7
SAMPLE_TEMPERATURES = (0.5, 1.0, 2.0)
SAMPLE_N = 8


@lru_cache(maxsize=1)
def _digits() -> torch.Tensor:
    from kit.data import bundled_test_set

    return bundled_test_set().as_float().flatten(1)  # (10000, 784) in [0, 1]


def _vae():
    from kit.demos.common import get_model

    return get_model(DRIVE_MODEL)


def preload() -> None:
    """Load the shipped VAE and the digits now (the worker does this before locking down)."""
    _digits()
    _vae()


class ShippedDecoder:
    """VAE-2's decoder as the sampling drill sees it: z (n, 2) -> images (n, 784) in [0, 1]."""

    def __init__(self):
        self.latent_dim = _vae().config.latent_dim

    def __call__(self, z):
        """The decoded images of ``z``, (n, 2) -> (n, 784) in [0, 1]."""
        with torch.no_grad():
            return _vae().decode(z).flatten(1)  # (n, d) -> (n, 784)


class PlainAdam:
    """Adam (Kingma and Ba, 2015) in a few lines; ``torch.optim`` would import torch._dynamo.

    m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
    p <- p - lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t).
    """

    def __init__(self, params, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = list(params)
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        """Clear every parameter's gradient."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One Adam update of every parameter that has a gradient."""
        b1, b2 = self.betas
        self.t += 1
        for p, m, v in zip(self.params, self.m, self.v, strict=True):
            if p.grad is None:
                continue
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            m_hat, v_hat = m / (1 - b1**self.t), v / (1 - b2**self.t)
            p -= self.lr * m_hat / (v_hat.sqrt() + self.eps)


class DriveModel:
    """The training-step drill's view of a VAE: encode -> (mu, logvar), decode -> logits."""

    def __init__(self, vae):
        self.vae = vae

    def encode(self, x):
        """The posterior's (mu, logvar) of ``x``, (B, 784) -> (B, d) each."""
        post = self.vae.encode(x)  # (B, 784) -> (B, d) each
        return post.mu, post.logvar

    def decode(self, z):
        """The decoder's logits for ``z``, (B, d) -> (B, 784)."""
        return self.vae.decode_logits(z).flatten(1)  # (B, d) -> (B, 784)


def _fresh_vae(seed: int):
    from kit.models import ModelConfig, build_model

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build_model(ModelConfig(kind="vae", latent_dim=2, hidden=[256, 128]))


@torch.no_grad()
def _true_loss(vae) -> dict:
    """The negative ELBO and KL on the held-out digits, by the kit's trusted losses."""
    from kit.losses import bce_reconstruction

    x = _digits()[HELD_OUT]
    post = vae.encode(x)
    z = post.sample(generator=torch.Generator().manual_seed(0))
    recon = bce_reconstruction(vae.decode_logits(z), x.view(-1, 1, 28, 28)).mean()
    kl = post.kl().mean()
    return {"neg_elbo": float(recon + kl), "kl": float(kl)}


def _learner_loss(fn, kind: str, vae, x):
    """One batch's loss with the learner's KL or negative ELBO (their function, our model)."""
    from kit.losses import bce_reconstruction

    post = vae.encode(x)
    z = post.sample()  # reparameterised: z = mu + sigma * eps
    logits = vae.decode_logits(z)  # (B, 1, 28, 28)
    if kind == "gaussian_kl":
        kl = fn(post.mu, post.logvar)
        kl_term = kl.sum() / x.shape[0] if kl.dim() > 0 else kl  # per image (or per dim), averaged
        return bce_reconstruction(logits, x.view(-1, 1, 28, 28)).mean() + kl_term
    loss = fn(logits.flatten(1), x, post.mu, post.logvar, 1.0)
    return loss.mean() if loss.dim() > 0 else loss


def run_train(fn, spec: dict) -> dict:
    """A short training run with the learner's function; see the module docstring."""
    kind, seed = spec["kind"], int(spec.get("seed", 0))
    steps = int(spec.get("steps", TRAIN_STEPS))
    vae = _fresh_vae(seed)
    optimizer = PlainAdam(vae.parameters(), lr=TRAIN_LR)
    digits = _digits()
    theirs, evals, record = [], [], {}
    for step in range(steps):
        x = digits[step * TRAIN_BATCH : (step + 1) * TRAIN_BATCH]  # (64, 784)
        torch.manual_seed(seed * 1000 + step)
        try:
            if kind == "training_step":
                loss = fn(DriveModel(vae), x, optimizer, 1.0)
            else:
                optimizer.zero_grad()
                loss = _learner_loss(fn, kind, vae, x)
                loss.backward()
                optimizer.step()
            theirs.append(float(loss.detach() if isinstance(loss, torch.Tensor) else loss))
        except Exception as err:  # the learner's code failed mid-run: report where
            record["error"] = {"step": step, "type": type(err).__name__, "message": str(err)[:200]}
            break
        if (step + 1) % EVAL_EVERY == 0:
            evals.append({"step": step + 1, **_true_loss(vae)})
    with torch.no_grad():
        shown = vae.decode(vae.encode(digits[SHOWN]).mu).flatten(1)  # (8, 784)
    return {**record, "their_loss": theirs, "evals": evals, "after": encode(shown)}


def run_sample_model(fn, spec: dict) -> dict:
    """The learner's sampler on the shipped VAE-2 decoder."""
    gen = torch.Generator().manual_seed(int(spec["seed"]))
    torch.manual_seed(0)
    try:
        out = fn(ShippedDecoder(), int(spec["n"]), float(spec["T"]), gen)
    except Exception as err:
        return {"out": {"error": type(err).__name__, "message": str(err)[:200]}}
    return {"out": encode(out)}


RUNNERS = {"train": run_train, "sample_model": run_sample_model}


# ---- server side: the jobs and their pictures ---------------------------------------------


@dataclass
class DriveView:
    """What a drive shows."""

    image: object | None
    """A uint8 picture (numpy), rows: the original(s), your result, the reference's."""
    plot: object | None
    """A matplotlib Figure (the training drive), else None."""
    summary: str
    """Markdown: what was run and what to look for."""


def _as_list(t: torch.Tensor) -> dict:
    return {"tensor": t.tolist()}


def cases(drive: str) -> list[dict]:
    """The worker cases of one drive (inputs computed in the server with the shipped VAE)."""
    from kit.demos.common import load_test_digit as test_digit

    vae = _vae()
    if drive == "reconstruct":
        x, _ = test_digit(RECONSTRUCT_INDEX)
        with torch.no_grad():
            post = vae.encode(x)
        eps = torch.randn(SAMPLE_N, post.mu.shape[1], generator=torch.Generator().manual_seed(1))
        args = {"mu": _as_list(post.mu.expand(SAMPLE_N, -1)),
                "logvar": _as_list(post.logvar.expand(SAMPLE_N, -1)), "eps": _as_list(eps)}  # fmt: skip
        return [{"runner": "value", "args": args}]
    if drive == "interpolate":
        with torch.no_grad():
            za, zb = (vae.encode(test_digit(i)[0]).mu[0] for i in INTERPOLATE_INDICES)
        return [
            {"runner": "value", "args": {"z_a": _as_list(za), "z_b": _as_list(zb), "t": t / 9}}
            for t in range(10)
        ]
    if drive == "sample":
        return [
            {"runner": "sample_model", "args": {"n": SAMPLE_N, "T": t, "seed": 3}}
            for t in SAMPLE_TEMPERATURES
        ]
    raise ValueError(f"no cases for drive {drive!r}")


def train_cases(drill_id: str) -> list[dict]:
    """The train drive's one case: ``TRAIN_STEPS`` steps from seed 0 with ``drill_id``'s code."""
    return [{"runner": "train", "args": {"kind": drill_id, "seed": 0, "steps": TRAIN_STEPS}}]


def job_cases(drive: str, drill_id: str) -> list[dict]:
    """The cases ``drive`` runs for ``drill_id``."""
    return train_cases(drill_id) if drive == "train" else cases(drive)


def run_here(fn, drive: str, drill_id: str) -> list[dict]:
    """Run a drive's cases in this process (the reference solution, trusted)."""
    runners = {**harness.RUNNERS, **RUNNERS}
    with torch.random.fork_rng():  # the runners seed the global RNG: keep the server's intact
        return [runners[c["runner"]](fn, c["args"]) for c in job_cases(drive, drill_id)]


def well_formed(drive: str, records, count: int) -> bool:
    """Whether a worker's ``records`` are ``count`` results of ``drive``'s cases, shaped as the
    runners make them (checked before ``render`` reads a reply from an untrusted process)."""
    if not isinstance(records, list) or len(records) != count or count == 0:
        return False
    if drive != "train":
        return all(isinstance(r, dict) and harness.well_formed(r.get("out")) for r in records)
    (run,) = records
    if not isinstance(run, dict):
        return False
    evals, err = run.get("evals", []), run.get("error")
    evals_ok = isinstance(evals, list) and all(
        isinstance(e, dict)
        and isinstance(e.get("step"), int)
        and all(harness.is_number(e.get(k)) for k in ("neg_elbo", "kl"))
        for e in evals
    )
    err_ok = err is None or (
        isinstance(err, dict)
        and isinstance(err.get("step"), int)
        and all(isinstance(err.get(k), str) for k in ("type", "message"))
    )
    return evals_ok and err_ok and ("after" not in run or harness.well_formed(run["after"]))


def _tensor(record: dict, shape_tail: int) -> torch.Tensor | None:
    """A result record as a tensor whose rows have ``shape_tail`` numbers, if it is one."""
    out = record.get("out", record)
    if not isinstance(out, dict) or "data" not in out:
        return None
    t = torch.tensor(out["data"], dtype=torch.float32)
    if t.numel() == 0 or t.numel() % shape_tail or not torch.isfinite(t).all():
        return None
    return t.view(-1, shape_tail)


def _decode_rows(rows: list[torch.Tensor | None]) -> torch.Tensor:
    """Decode each row of codes with VAE-2 (a blank row where a result was unusable)."""
    vae = _vae()
    out = []
    for z in rows:
        with torch.no_grad():
            out.append(vae.decode(z).flatten(1) if z is not None else torch.zeros(SAMPLE_N, 784))
    return torch.cat(out)


def render(drive: str, drill_id: str, yours: list[dict], reference: list[dict]) -> DriveView:
    """The picture, plot and summary of one drive run."""
    from kit.demos.common import load_test_digit as test_digit

    d = _vae().config.latent_dim
    if drive == "reconstruct":
        z_yours, z_ref = _tensor(yours[0], d), _tensor(reference[0], d)
        usable = z_yours is not None and z_yours.shape[0] == SAMPLE_N
        original = test_digit(RECONSTRUCT_INDEX)[0].flatten(1)
        imgs = torch.cat([original, _decode_rows([z_yours if usable else None])[:SAMPLE_N],
                          original, _decode_rows([z_ref])[:SAMPLE_N]])  # fmt: skip
        note = "" if usable else " Your function's result was not 8 finite codes: row left blank."
        return DriveView(_grid(imgs, nrow=SAMPLE_N + 1), None,
                         "Test digit 0 (left) and 8 codes sampled with **your** reparameterize "
                         "(top row) and the reference's (bottom row), decoded by the shipped "
                         f"VAE-2, with the same ε.{note}")  # fmt: skip
    if drive == "interpolate":
        path_y = [_tensor(r, d) for r in yours]
        path_r = [_tensor(r, d) for r in reference]
        ok = all(z is not None and z.shape[0] == 1 for z in path_y)
        zy = torch.cat(path_y) if ok else None
        imgs = torch.cat([_decode_rows([zy])[:10] if ok else torch.zeros(10, 784),
                          _decode_rows([torch.cat(path_r)])[:10]])  # fmt: skip
        note = "" if ok else " Your function did not return one finite code per t: row left blank."
        return DriveView(_grid(imgs, nrow=10), None,
                         f"From test digit {INTERPOLATE_INDICES[0]} to digit "
                         f"{INTERPOLATE_INDICES[1]} through VAE-2's latent plane at t = 0, 1/9, …, "
                         f"1: **your** {drill_id} (top row), the reference's (bottom).{note}")  # fmt: skip
    if drive == "sample":
        rows = []
        for r in (*yours, *reference):
            t = _tensor(r, 784)
            rows.append(
                t if t is not None and t.shape[0] == SAMPLE_N else torch.zeros(SAMPLE_N, 784)
            )
        temps = ", ".join(f"{t:g}" for t in SAMPLE_TEMPERATURES)
        return DriveView(_grid(torch.cat(rows), nrow=SAMPLE_N), None,
                         f"VAE-2's decoder sampled at T = {temps} (one row each): **your** "
                         "sampler in the top three rows, the reference's in the bottom three "
                         "(same generator seed).")  # fmt: skip
    if drive == "train":
        return _render_train(drill_id, yours[0], reference[0])
    raise ValueError(f"no drive {drive!r}")


def _render_train(drill_id: str, yours: dict, reference: dict) -> DriveView:
    from kit.demos.common import new_figure

    fig = new_figure(figsize=(7, 3.2))
    ax_elbo, ax_kl = fig.subplots(1, 2)
    for run, label, style in ((yours, "your code", "-"), (reference, "reference", "--")):
        steps = [e["step"] for e in run.get("evals", [])]
        ax_elbo.plot(steps, [e["neg_elbo"] for e in run.get("evals", [])], style, label=label)
        ax_kl.plot(steps, [e["kl"] for e in run.get("evals", [])], style, label=label)
    ax_elbo.set(xlabel="step", ylabel="nats", title="true −ELBO (held-out)")
    ax_kl.set(xlabel="step", ylabel="nats", title="KL(q ‖ p) (held-out)")
    ax_elbo.legend()
    fig.tight_layout()
    after = [_tensor(r["after"], 784) if "after" in r else None for r in (yours, reference)]
    shown = [a if a is not None and a.shape[0] == 8 else torch.zeros(8, 784) for a in after]
    image = _grid(torch.cat([_digits()[SHOWN], *shown]), nrow=8)
    lines = [f"{TRAIN_STEPS} Adam steps of a fresh VAE (VAE-2's architecture) on the bundled "
             f"test digits, batch {TRAIN_BATCH}, with **your** `{drill_id}` and with the "
             "reference. The plots are measured by the kit's own loss on 256 held-out digits; "
             "the pictures: 8 held-out digits, then their reconstructions after your run, then "
             "after the reference run."]  # fmt: skip
    ev_y, ev_r = yours.get("evals") or [{}], reference.get("evals") or [{}]
    if "error" in yours:
        e = yours["error"]
        lines.append(f"Your code stopped at step {e['step']}: {e['type']}: {e['message']}")
    if ev_y[-1] and ev_r[-1]:
        lines.append(
            f"After {ev_y[-1]['step']} steps: true −ELBO {_fmt(ev_y[-1]['neg_elbo'])} nats "
            f"(reference {_fmt(ev_r[-1]['neg_elbo'])}), KL {_fmt(ev_y[-1]['kl'])} "
            f"(reference {_fmt(ev_r[-1]['kl'])})."
        )
    return DriveView(image, fig, "\n\n".join(lines))


def _grid(images: torch.Tensor, nrow: int):
    """Flat images (N, 784) -> one picture, ``nrow`` per row (cells 85 px: 28 x 3 + 1 pad)."""
    from kit.demos.common import grid_display

    return grid_display(images.reshape(-1, 28, 28), nrow=nrow)


def _fmt(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else str(x)
