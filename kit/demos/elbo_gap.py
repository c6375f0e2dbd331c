"""ELBO vs log-likelihood: the ELBO is a lower bound, and importance sampling tightens it.

For one test digit x and the VAE-2 posterior q(z|x) = N(mu, diag(sigma^2)):

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z))  =  -(reconstruction + KL)  <=  log p(x)

and the gap is exactly KL(q(z|x) || p(z|x)), how far the encoder's Gaussian is from the true
posterior. The importance-weighted bound (IWAE, Burda et al. 2016) with K samples z_k ~ q(z|x),

    L_K(x) = E[ log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x) ],

equals the ELBO at K = 1, never decreases with K, and tends to log p(x) as K -> infinity, but
how fast depends on how well q covers the true posterior: where the encoder puts q far from
p(z|x), even K = 1000 stays tens or hundreds of nats below. With a 2-D latent the truth is
computable: log p(x) = log ∫ p(x|z) p(z) dz by quadrature on a fine grid
(``kit.evaluate.exact_log_px``, within 0.01 nats), drawn as a horizontal line, so the chart
shows the true gap log p(x) - ELBO = KL(q(z|x) || p(z|x)) and how much of it K = 1000 closes.
Each L_K is estimated by averaging many independent draws, so the curve shows the expected bound
rather than one noisy draw. All draws come from one pool of ``POOL`` samples z_m ~ q(z|x),
decoded once: for each K the pool is split into POOL // K disjoint groups of K, each group one
independent draw of L_K (draws for different K share samples, which the chart does not need
independent). The same pool gives the reconstruction term, E_q[-log p(x|z)] ≈ mean_m of
-log p(x|z_m).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from kit.demos.common import as_int, get_model, load_test_digit, to_display
from kit.demos.render import BLACK, TAB, Canvas, Panel
from kit.evaluate import exact_log_px
from kit.exact_table import exact_table
from kit.losses import bce_reconstruction, standard_normal_log_prob

MODEL = "vae-2"
K_VALUES = (1, 2, 5, 10, 50, 100, 500, 1000)
POOL = 1000  # samples z ~ q(z|x), decoded once: POOL // K draws of L_K for each K (<= POOL)
MAX_SEED = 2**31 - 1


@dataclass
class BoundCurve:
    """Named output of ``elbo_and_bounds`` for one digit, all in nats."""

    recon: float
    """E_q[-log p(x|z)], Monte Carlo over the ``POOL`` samples."""
    kl: float
    """KL(q(z|x) || N(0, I)), closed form."""
    elbo: float
    """-(recon + kl)."""
    k: tuple[int, ...]
    """The K values."""
    bound_mean: np.ndarray
    """(len(k),) mean of the independent draws of the K-sample bound."""
    bound_std: np.ndarray
    """(len(k),) spread (std) of one draw of the bound (0 where only one draw fits the budget)."""
    draws: np.ndarray
    """(len(k),) how many independent draws were averaged for each K (POOL // K)."""
    exact: float
    """log p(x) by quadrature over the 2-D latent plane (``kit.evaluate.exact_log_px``)."""

    @property
    def bound_se(self) -> np.ndarray:
        """(len(k),) standard error of each mean, std / sqrt(draws)."""
        return self.bound_std / np.sqrt(self.draws)


@torch.no_grad()
def elbo_and_bounds(x: torch.Tensor, seed: int = 0, exact: float | None = None) -> BoundCurve:
    """The ELBO terms and the importance-weighted bound for each K, for one digit (1, 1, 28, 28).

    ``exact``: its log p(x) when already known (the shipped table), else computed by quadrature.
    """
    model = get_model(MODEL)
    g = torch.Generator().manual_seed(seed)
    post = model.encode(x)  # q(z|x): mu, logvar each (1, d)
    kl = float(post.kl()[0])  # KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)
    z = post.sample(g, n=POOL)  # (M, 1, d), z_m ~ q(z|x)
    logits = model.decode_logits(z[:, 0])  # (M, d) -> (M, 1, 28, 28), one batched decode
    log_px_z = -bce_reconstruction(logits, x.expand_as(logits))  # (M,) log p(x|z_m)
    recon = float(-log_px_z.mean())  # E_q[-log p(x|z)]
    # log w_m = log p(x|z_m) + log p(z_m) - log q(z_m|x)
    log_w = log_px_z + standard_normal_log_prob(z[:, 0]) - post.log_prob(z)[:, 0]  # (M,)

    means, stds, draws = [], [], []
    for k in K_VALUES:
        reps = POOL // k  # disjoint groups of K samples: independent draws of L_K
        groups = log_w[: reps * k].view(reps, k)  # (R, K)
        bounds = torch.logsumexp(groups, dim=1) - math.log(k)  # log (1/K) sum_k w_k, (R,)
        means.append(float(bounds.mean()))
        stds.append(float(bounds.std()) if reps > 1 else 0.0)
        draws.append(reps)
    return BoundCurve(
        recon=recon,
        kl=kl,
        elbo=-(recon + kl),
        k=K_VALUES,
        bound_mean=np.array(means),
        bound_std=np.array(stds),
        draws=np.array(draws),
        exact=float(exact_log_px(model, x)[0]) if exact is None else exact,  # log ∫ p(x|z) p(z) dz
    )


CHART_SIZE = (760, 460)  # pixels of the bounds chart (the legend sits under the axes)


def _chart(curve: BoundCurve) -> np.ndarray:
    """The bounds against K (log x axis) with the ELBO and exact log p(x) as lines: (H, W, 3)."""
    canvas = Canvas(*CHART_SIZE)
    ks = np.array(curve.k, dtype=float)
    lo_err, hi_err = curve.bound_mean - curve.bound_se, curve.bound_mean + curve.bound_se
    values = [curve.exact, curve.elbo, *lo_err, *hi_err]
    pad = max(1.0, 0.08 * (max(values) - min(values)))
    panel = Panel(
        box=(86, 34, CHART_SIZE[0] - 20, CHART_SIZE[1] - 118),
        xlim=(0.8, ks[-1] * 1.25),
        ylim=(min(values) - pad, max(values) + pad),
        xlog=True,
    )
    canvas.axes(
        panel,
        xlabel="K, importance samples per estimate (log scale)",
        ylabel="nats (log-likelihood scale)",
        title=f"{MODEL}: lower bounds on log p(x) for one digit",
        xticks=[1, 10, 100, 1000],
    )
    left, _, right, _ = panel.box
    for value, colour, dash in ((curve.exact, BLACK, 0), (curve.elbo, TAB["red"], 0)):
        y = float(panel.row(value))
        canvas.line([(left, y), (right, y)], color=colour, width=2, dash=dash)
    best_y = float(panel.row(curve.bound_mean[-1]))
    canvas.line([(left, best_y), (right, best_y)], color=TAB["blue"], width=1, dash=3)
    xs, ys = panel.col(ks), panel.row(curve.bound_mean)
    for x, lo, hi in zip(xs, panel.row(lo_err), panel.row(hi_err), strict=True):
        canvas.line([(x, lo), (x, hi)], color=TAB["blue"], width=1)  # +- one standard error
        canvas.line([(x - 4, lo), (x + 4, lo)], color=TAB["blue"], width=1)
        canvas.line([(x - 4, hi), (x + 4, hi)], color=TAB["blue"], width=1)
    canvas.line(list(zip(xs, ys, strict=True)), color=TAB["blue"], width=2)
    for x, y in zip(xs, ys, strict=True):
        canvas.dot((x, y), 4, fill=TAB["blue"])
    gap_note = (
        f"true gap = {curve.exact - curve.elbo:.2f} nats; K = {curve.k[-1]} leaves "
        f"{curve.exact - curve.bound_mean[-1]:.2f}"
    )
    canvas.text(
        (right - 8, (panel.row(curve.exact) + panel.row(curve.elbo)) / 2), gap_note, 12, anchor="rm"
    )
    canvas.legend(
        [
            (f"exact log p(x) = {curve.exact:.2f}", BLACK, "line"),
            (f"ELBO = {curve.elbo:.2f}", TAB["red"], "line"),
            ("importance-weighted bound L_K (± std. error)", TAB["blue"], "dot"),
        ],
        (left, panel.box[3] + 50),
        anchor="left",
    )
    return canvas.array()


def _md_row(head: str, cells) -> str:
    return f"| {head} | " + " | ".join(str(c) for c in cells) + " |\n"


def elbo_vs_iwae(index: int = 0, seed: int = 0) -> dict:
    """For test digit ``index``: reconstruction, KL, ELBO, and the K-sample bound against K."""
    x, label = load_test_digit(index)
    seed = as_int(seed, "the seed", 0, MAX_SEED)
    table = exact_table()  # every test digit's log p(x), computed once by quadrature
    known = None if table is None else float(table[int(float(index))])
    curve = elbo_and_bounds(x, seed, exact=known)
    best = float(curve.bound_mean[-1])
    spreads = [  # a spread needs a few draws to mean anything
        f"{v:.2f}" if n >= 10 else "–" for v, n in zip(curve.bound_std, curve.draws, strict=True)
    ]
    table = _md_row("K", curve.k) + "|---" * (len(curve.k) + 1) + "|\n"
    table += _md_row("mean bound", [f"{m:.2f}" for m in curve.bound_mean])
    table += _md_row("spread of one draw", spreads)
    table += _md_row("draws averaged", curve.draws)
    summary = (
        f"**Test digit {int(float(index))}, labelled {label}, through {MODEL}** (all in nats):\n\n"
        f"- reconstruction $\\mathbb{{E}}_q[-\\log p(x\\mid z)]$ = **{curve.recon:.2f}**\n"
        f"- KL$(q(z\\mid x)\\,\\|\\,p(z))$ = **{curve.kl:.2f}**\n"
        f"- ELBO = −(reconstruction + KL) = **{curve.elbo:.2f}**\n"
        f"- importance-weighted bound at K = {curve.k[-1]}: **{best:.2f}** (a lower bound)\n"
        f"- exact log p(x), by quadrature over the latent plane: **{curve.exact:.2f}**\n\n"
        f"The ELBO sits **{curve.exact - curve.elbo:.2f} nats** below the exact log p(x): "
        "that gap is KL(q(z|x) ‖ p(z|x)), what the encoder's Gaussian misses of the true "
        f"posterior. K = {curve.k[-1]} samples from q close {best - curve.elbo:.2f} nats of it "
        f"and leave **{curve.exact - best:.2f}**: importance sampling can only reweight where "
        "q puts its samples, so when the encoder's Gaussian sits away from the true posterior "
        "the bound stays far below for any practical K. A bigger K also makes one draw of the "
        "bound less noisy.\n\n" + table
    )
    return {
        "input": to_display(x),
        "figure": _chart(curve),
        "summary": summary,
        "numbers": {
            "recon": curve.recon,
            "kl": curve.kl,
            "elbo": curve.elbo,
            "bound_by_k": {
                str(k): float(m) for k, m in zip(curve.k, curve.bound_mean, strict=True)
            },
            "log_px_estimate": best,
            "gap": best - curve.elbo,
            "exact_log_px": curve.exact,
            "gap_exact_to_elbo": curve.exact - curve.elbo,
            "gap_exact_to_iwae": curve.exact - best,
        },
    }
