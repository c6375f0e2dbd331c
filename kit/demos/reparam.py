"""The reparameterization trick: two ways to estimate a gradient through a random sample.

We want the gradient with respect to mu of an expectation over z ~ N(mu, sigma^2):

    g(mu) = d/dmu E_{z ~ N(mu, sigma^2)} [f(z)]

Pathwise (reparameterized) estimator: write z = mu + sigma * eps with eps ~ N(0, 1), so the
randomness no longer depends on mu and the derivative moves inside the expectation:

    g = E_eps[f'(mu + sigma * eps)]  ~=  (1/N) sum_n f'(mu + sigma * eps_n)

Score-function (REINFORCE) estimator: differentiate the density instead of the sample,
d/dmu log N(z; mu, sigma^2) = (z - mu) / sigma^2, so

    g = E_z[f(z) (z - mu) / sigma^2]  ~=  (1/N) sum_n f(z_n) (z_n - mu) / sigma^2

Both are unbiased; the pathwise one uses f's slope at each sample and usually has far lower
variance, which is why a VAE samples z = mu + sigma * eps instead of z ~ q(z|x). The score
function needs no f' at all, so it also works where f is flat or not differentiable (a step).

``no_gradient_path`` shows the other half of the trick: a sample drawn without it has no path
back to mu, so backward either raises or (``torch.normal``) silently returns a zero gradient.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.distributions import Normal

from kit.demos.common import as_choice, as_float, as_int
from kit.demos.render import BLACK, TAB, Canvas, Panel

MU_RANGE = (-3.0, 3.0)
SIGMA_RANGE = (0.1, 3.0)
MAX_SAMPLES = 1000  # N, samples per estimate
MAX_REPEATS = 2000  # M, estimates per histogram
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class TestFunction:
    """One choice of f with its exact gradient d/dmu E[f(z)], z ~ N(mu, sigma^2)."""

    f: Callable[[Tensor], Tensor]
    """f(z), elementwise; autograd differentiates it for the pathwise estimator."""
    true_grad: Callable[[float, float], float]
    """(mu, sigma) -> the exact gradient."""
    formula: str
    """The exact gradient as LaTeX."""


FUNCTIONS: dict[str, TestFunction] = {
    # E[z^2] = mu^2 + sigma^2  ->  2 mu
    "z^2": TestFunction(lambda z: z**2, lambda m, s: 2 * m, r"2\mu"),
    # E[sin z] = sin(mu) exp(-sigma^2 / 2)  ->  cos(mu) exp(-sigma^2 / 2)
    "sin(z)": TestFunction(
        torch.sin, lambda m, s: math.cos(m) * math.exp(-(s**2) / 2), r"\cos\mu\, e^{-\sigma^2/2}"
    ),
    # E[e^z] = exp(mu + sigma^2 / 2)  ->  the same
    "exp(z)": TestFunction(torch.exp, lambda m, s: math.exp(m + s**2 / 2), r"e^{\mu+\sigma^2/2}"),
    # E[1{z > 0}] = Phi(mu / sigma)  ->  phi(mu / sigma) / sigma; f' = 0 wherever it exists,
    # so the pathwise estimator sees no slope at all (it returns 0, a biased answer).
    "step 1[z>0]": TestFunction(
        lambda z: (torch.sign(z) + 1) / 2,  # autograd: d sign/dz = 0
        lambda m, s: math.exp(-0.5 * (m / s) ** 2) / (s * math.sqrt(2 * math.pi)),
        r"\varphi(\mu/\sigma)/\sigma",
    ),
}


@dataclass
class GradientEstimates:
    """Named output of ``estimate_gradients``: M estimates from each estimator."""

    true: float
    """The exact gradient d/dmu E[f(z)]."""
    pathwise: np.ndarray
    """(M,) pathwise estimates, each the mean of N values of f'(mu + sigma * eps)."""
    score: np.ndarray
    """(M,) score-function estimates, each the mean of N values of f(z) (z - mu) / sigma^2."""


def estimate_gradients(
    f_name: str, mu: float, sigma: float, n: int, m: int, seed: int
) -> GradientEstimates:
    """M independent estimates of each kind, N samples each; the same eps feed both."""
    fn = FUNCTIONS[f_name]
    g = torch.Generator().manual_seed(seed)
    eps = torch.randn(m, n, generator=g, dtype=torch.float64)  # (M, N), eps ~ N(0, 1)

    # Pathwise: one copy of mu per repeat so autograd returns each repeat's estimate separately.
    mu_rep = torch.full((m, 1), mu, dtype=torch.float64, requires_grad=True)  # (M, 1)
    z = mu_rep + sigma * eps  # (M, N), z = mu + sigma * eps: a differentiable function of mu
    fn.f(z).mean(dim=1).sum().backward()  # d/dmu_m of (1/N) sum_n f(z_mn)
    pathwise = mu_rep.grad[:, 0]  # (M,)

    # Score function: no derivative of f, only of log N(z; mu, sigma^2).
    with torch.no_grad():
        z = mu + sigma * eps  # the same samples, now just numbers
        score = (fn.f(z) * (z - mu) / sigma**2).mean(dim=1)  # (M,) mean of f(z) d/dmu log q(z)
    return GradientEstimates(
        true=fn.true_grad(mu, sigma), pathwise=pathwise.numpy(), score=score.numpy()
    )


HIST_SIZE = (820, 380)  # pixels of the histogram picture
HIST_BINS = 60


def _bins(est: GradientEstimates) -> np.ndarray:
    """60 equal bins over the 0.5-99.5 percentiles of all 2M estimates, holding the truth."""
    both = np.concatenate([est.pathwise, est.score])
    lo, hi = np.percentile(both, [0.5, 99.5])  # clip the score estimator's long tails
    lo, hi = min(lo, est.true), max(hi, est.true)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, HIST_BINS + 1)


def bin_counts(est: GradientEstimates) -> np.ndarray:
    """(2, 60) counts of the score-function and pathwise estimates; outliers in the edge bins."""
    bins = _bins(est)
    lo, hi = bins[0], bins[-1]
    return np.stack(
        [np.histogram(np.clip(v, lo, hi), bins=bins)[0] for v in (est.score, est.pathwise)]
    )


def histogram_panel(est: GradientEstimates) -> Panel:
    """Where ``histogram_image`` draws: x over the bins, y from 0 to 1.08 x the largest count."""
    bins = _bins(est)
    top = float(bin_counts(est).max())
    box = (78, 34, HIST_SIZE[0] - 16, HIST_SIZE[1] - 62)
    return Panel(box, (float(bins[0]), float(bins[-1])), (0.0, top * 1.08 or 1.0))


def histogram_image(est: GradientEstimates, f_name: str, n: int) -> np.ndarray:
    """Both estimators' histograms and the true gradient as (380, 820, 3) uint8.

    Bins: 60 equal ones over the 0.5-99.5 percentiles of all 2M estimates (widened to hold
    the true value); estimates outside are piled into the edge bins.
    """
    bins, counts, panel = _bins(est), bin_counts(est), histogram_panel(est)
    series = (
        ("score function (REINFORCE)", TAB["orange"]),
        ("pathwise (reparameterized)", TAB["blue"]),
    )
    canvas = Canvas(*HIST_SIZE)
    canvas.axes(
        panel,
        xlabel=f"estimate of d/dμ E[f(z)], f(z) = {f_name}, {n} samples each",
        ylabel=f"count (of {len(est.pathwise)} repeats)",
        title="estimates beyond the 0.5–99.5 percentiles are piled at the edges",
    )
    cols, base = panel.col(bins), panel.row(0.0)
    for c, (_, colour) in zip(counts, series, strict=True):
        rows = panel.row(c)  # (60,) top of each bar
        for k in np.flatnonzero(c):  # filled bars at 60% opacity, as overlapping stairs
            canvas.rect((cols[k], rows[k], cols[k + 1], base), fill=(*colour, 153))
    true_col = float(panel.col(est.true))
    canvas.line([(true_col, panel.box[1]), (true_col, base)], color=BLACK, width=3)
    canvas.legend(
        [
            (series[0][0], (*TAB["orange"], 153), "patch"),
            (series[1][0], (*TAB["blue"], 153), "patch"),
            (f"true gradient = {est.true:.3f}", BLACK, "line"),
        ],
        (panel.box[2] - 8, panel.box[1] + 8),
    )
    return canvas.array()


def reparam_gradients(
    f: str = "z^2",
    mu: float = 1.0,
    sigma: float = 1.0,
    n_samples: int = 10,
    repeats: int = 500,
    seed: int = 0,
) -> dict:
    """Histograms of M pathwise and M score-function estimates of d/dmu E[f(z)]."""
    f_name = as_choice(f, "f", FUNCTIONS)
    mu = as_float(mu, "mu", *MU_RANGE)
    sigma = as_float(sigma, "sigma", *SIGMA_RANGE)
    n = as_int(n_samples, "the number of samples per estimate N", 1, MAX_SAMPLES)
    m = as_int(repeats, "the number of repeats M", 10, MAX_REPEATS)
    seed = as_int(seed, "the seed", 0, MAX_SEED)

    est = estimate_gradients(f_name, mu, sigma, n, m, seed)
    stats = {
        "true_gradient": est.true,
        "pathwise_mean": float(est.pathwise.mean()),
        "pathwise_variance": float(est.pathwise.var()),
        "score_mean": float(est.score.mean()),
        "score_variance": float(est.score.var()),
    }
    # standard error of each mean over M repeats, to judge "close to the truth"
    se_path = math.sqrt(stats["pathwise_variance"] / m)
    se_score = math.sqrt(stats["score_variance"] / m)
    pv, sv = stats["pathwise_variance"], stats["score_variance"]
    if pv > 0 and sv > 0:
        ratio = sv / pv
        verdict = (
            f"The score-function estimates vary **{ratio:,.1f}×** as much as the pathwise ones."
            if ratio >= 1
            else f"Here the pathwise estimates vary more (×{1 / ratio:,.1f}): the gap is "
            "usual, not guaranteed."
        )
    else:
        verdict = "One estimator returned the same value every time (variance 0)."
    if f_name.startswith("step"):
        verdict += (
            " The step's slope is 0 wherever it exists, so the pathwise estimator returns **0 "
            "every time** (biased): it needs a differentiable f, the score function does not."
        )
    fn = FUNCTIONS[f_name]
    summary = (
        f"True gradient $\\frac{{d}}{{d\\mu}}\\mathbb{{E}}[f(z)] = {fn.formula}$ "
        f"= **{est.true:.4f}** (μ = {mu:g}, σ = {sigma:g}).\n\n"
        "| estimator | mean of the M estimates | variance | std. error of the mean |\n"
        "|---|---|---|---|\n"
        f"| pathwise, mean of f′(μ + σε) | {stats['pathwise_mean']:.4f} | {pv:.4g} | {se_path:.3g} |\n"
        f"| score function, mean of f(z)(z − μ)/σ² | {stats['score_mean']:.4f} | {sv:.4g} "
        f"| {se_score:.3g} |\n\n" + verdict
    )
    return {
        "figure": histogram_image(est, f_name, n),
        "summary": summary,
        "numbers": stats,
    }


# ---- a sample with no gradient path ---------------------------------------------------------

#: how z is drawn -> the line of code shown to the learner
SAMPLERS = {
    "Normal(mu, sigma).sample()": "z = torch.distributions.Normal(mu, sigma).sample()",
    "torch.normal(mu, sigma)": "z = torch.normal(mu, sigma)",
    "(mu + sigma * eps).detach()": "z = (mu + sigma * torch.randn(())).detach()",
    "Normal(mu, sigma).rsample()": "z = torch.distributions.Normal(mu, sigma).rsample()",
    "mu + sigma * eps": "z = mu + sigma * torch.randn(())  # eps ~ N(0, 1)",
}

# torch.distributions draws from the global RNG and takes no generator. To make the shown value
# reproducible without disturbing anyone else's stream, those two draws run on a forked copy of
# the global RNG (restored afterwards), one request at a time.
_GLOBAL_RNG_LOCK = threading.Lock()


def _draw(method: str, mu: Tensor, sigma: Tensor, g: torch.Generator, seed: int) -> Tensor:
    if method in ("Normal(mu, sigma).sample()", "Normal(mu, sigma).rsample()"):
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            dist = Normal(mu, sigma)
            return dist.sample() if method.endswith(".sample()") else dist.rsample()
    if method == "torch.normal(mu, sigma)":
        return torch.normal(mu, sigma, generator=g)  # differentiable op, but d z/d mu := 0
    eps = torch.randn((), generator=g, dtype=mu.dtype)  # eps ~ N(0, 1), scalar
    z = mu + sigma * eps  # z = mu + sigma * eps
    return z.detach() if method.endswith(".detach()") else z


@dataclass
class BackwardOutcome:
    """What ``loss.backward()`` did for one way of drawing z."""

    z: float
    """The sample drawn."""
    grad: float | None
    """mu.grad after backward, or None when backward raised or left it unset."""
    error: str | None
    """The exception message when backward raised, else None."""


def backward_through_sample(method: str, mu: float, sigma: float, seed: int) -> BackwardOutcome:
    """Draw z by ``method``, take loss = z^2 and call backward; report mu.grad or the error."""
    mu_t = torch.tensor(mu, requires_grad=True)
    sigma_t = torch.tensor(sigma)
    z = _draw(method, mu_t, sigma_t, torch.Generator().manual_seed(seed), seed)
    loss = z**2  # f(z) = z^2, so d loss/d mu = 2 z through z = mu + sigma * eps
    try:
        loss.backward()
    except RuntimeError as err:
        return BackwardOutcome(z=float(z.detach()), grad=None, error=str(err).splitlines()[0])
    grad = None if mu_t.grad is None else float(mu_t.grad)
    return BackwardOutcome(z=float(z.detach()), grad=grad, error=None)


def no_gradient_path(
    method: str = "Normal(mu, sigma).sample()", mu: float = 1.0, sigma: float = 1.0, seed: int = 0
) -> dict:
    """Call backward through one sample drawn by ``method`` and show what reaches mu.grad."""
    method = as_choice(method, "the sampling method", SAMPLERS)
    mu = as_float(mu, "mu", *MU_RANGE)
    sigma = as_float(sigma, "sigma", *SIGMA_RANGE)
    seed = as_int(seed, "the seed", 0, MAX_SEED)

    out = backward_through_sample(method, mu, sigma, seed)
    expected = 2 * out.z  # the one-sample pathwise gradient of z^2: 2 z * dz/dmu, dz/dmu = 1
    code = (
        "```python\n"
        f"mu = torch.tensor({mu!r}, requires_grad=True)\n"
        f"sigma = torch.tensor({sigma!r})\n"
        f"{SAMPLERS[method]}\n"
        "loss = z ** 2\n"
        "loss.backward()\n"
        "print(mu.grad)\n"
        "```\n\n"
    )
    if out.error is not None:
        verdict = (
            f"**backward() failed:** `RuntimeError: {out.error}`\n\n"
            "The sample was made outside autograd, so `loss` has no graph leading back to `mu`: "
            "no gradient can reach the encoder. In a VAE this would stop the KL and "
            "reconstruction terms from training μ and σ through z."
        )
        works = False
    elif out.grad is None or abs(out.grad) < 1e-12:
        verdict = (
            f"**No error, but `mu.grad` = {out.grad}.** `torch.normal` is recorded by autograd "
            "but defines dz/dμ = 0, so training would silently learn nothing through z "
            f"(the pathwise gradient here is 2z = {expected:.4f})."
        )
        works = False
    else:
        verdict = (
            f"**backward() worked:** z = {out.z:.4f}, `mu.grad` = **{out.grad:.4f}** = 2z "
            "(dz/dμ = 1 because z = μ + σε). The randomness sits in ε, which needs no gradient."
        )
        works = True
    return {
        "summary": code + verdict,
        "numbers": {"z": out.z, "mu_grad": out.grad, "error": out.error, "gradient_flows": works},
    }
