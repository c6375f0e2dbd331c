"""Exact log p(x) for a VAE with a 2-D latent, by quadrature on an adaptive grid.

With z in R^2, log p(x) = log ∫ p(x|z) p(z) dz is a 2-D integral that a grid computes to any
accuracy: split the plane into square cells of side h centred at z_c and sum (midpoint rule)

    log p(x) ≈ logsumexp_c [ log p(x|z_c) + log p(z_c) + log h^2 ].

Two passes. A coarse pass (side COARSE_STEP) over [-R, R]^2, R covering the prior and every
encoder posterior to 8 sigma, finds where the integrand lives: the cells within MASS_WINDOW nats
of its largest value, and their neighbours. If any kept cell touches the edge, R doubles. A
fine pass then splits only those cells into s x s sub-cells, for s = 2, 4, 8, ... until
halving the step changes log p(x) by less than ``tol`` nats. For smooth integrands the midpoint
rule converges fast (for a Gaussian of width sigma the relative error is about
2 exp(-2 pi^2 sigma^2 / h^2)), so a few halvings suffice; each cell left out holds less than
e^-MASS_WINDOW of the largest one. The encoder is never trusted to say where the mass is: it
only widens the first grid.

Cost: the fine pass works block by block (BLOCK x BLOCK coarse cells), decoding a block's
sub-cells once for every image with mass there, so a whole test set shares its decodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from kit.models import CVAE

COARSE_STEP = 0.05  # side of a coarse cell
PRIOR_RADIUS = 6.0  # smallest half-width of the coarse grid (p(|z| > 6) = e^-18 under N(0, I))
MAX_RADIUS = 48.0  # the coarse grid stops widening here
MASS_WINDOW = 25.0  # nats below the largest coarse cell that are still refined
FIRST_SPLIT = 2  # sub-cells per coarse cell side in the first fine pass
MAX_SPLIT = 64  # the finest split tried
BLOCK = 8  # coarse cells per side of a block of the fine pass
POINT_CHUNK = 16384  # decoded points held at once in the coarse pass
IMAGE_CHUNK = 256  # images per coarse pass


@dataclass
class Quadrature:
    """Named output of ``quadrature_log_px``."""

    log_px: torch.Tensor
    """(B,) log p(x) in nats at the finest split reached (float64)."""
    by_split: dict[int, torch.Tensor]
    """{s: (B,) log p(x) with coarse cells split s x s}, each split computed (nan for an image that
    had converged before it and was not recomputed)."""
    step: torch.Tensor
    """(B,) grid step of ``log_px`` (COARSE_STEP / s)."""
    change: torch.Tensor
    """(B,) |log p(x) at this step - at twice the step|: the convergence check, < tol."""
    radius: torch.Tensor
    """(B,) half-width of the coarse grid that held all of the mass."""
    cells: torch.Tensor
    """(B,) how many coarse cells were refined."""


def _log_prior(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * z.pow(2).sum(-1) - math.log(2 * math.pi)  # log N(z; 0, I), d = 2: (N, 2) -> (N,)


def _log_joint(decode_logits, x: torch.Tensor, z: torch.Tensor, log_area: float) -> torch.Tensor:
    """(B, N): log p(x|z_n) + log p(z_n) + log cell area, for every image and point (x's dtype).

    Bernoulli decoder: log p(x|z) = sum_i [x_i l_i - softplus(l_i)] = x . l - sum_i softplus(l_i).
    """
    out = []
    for start in range(0, z.shape[0], POINT_CHUNK):
        zc = z[start : start + POINT_CHUNK]
        logits = decode_logits(zc.float()).flatten(1)  # (n, 2) -> (n, D), float32
        softplus_sum = F.softplus(logits).to(x.dtype).sum(1)  # summed in x's dtype
        log_pxz = x @ logits.to(x.dtype).T - softplus_sum  # (B, D) @ (D, n) -> (B, n)
        out.append(log_pxz + _log_prior(zc).to(x.dtype) + log_area)
    return torch.cat(out, dim=1)


def _axis(radius: float) -> torch.Tensor:
    """(n,) centres of the coarse cells along one axis of [-radius, radius]."""
    n = round(2 * radius / COARSE_STEP)
    return (torch.arange(n, dtype=torch.float64) + 0.5) * COARSE_STEP - radius


def _coarse_pass(decode_logits, x: torch.Tensor, radius: float):
    """Per image: the kept coarse cells (flat indices into the n x n grid) and whether any of
    them touches the grid's edge (then the grid must widen)."""
    axis = _axis(radius)
    n = axis.numel()
    centres = torch.cartesian_prod(axis, axis)  # (n*n, 2), row-major
    ring = torch.zeros(n, n, dtype=torch.bool)
    ring[[0, -1], :] = True
    ring[:, [0, -1]] = True
    ring = ring.flatten()
    kept, at_edge = [], []
    for start in range(0, x.shape[0], IMAGE_CHUNK):
        xc = x[start : start + IMAGE_CHUNK].float()  # locating only: float32 is plenty
        lj = _log_joint(decode_logits, xc, centres, 2 * math.log(COARSE_STEP))  # (b, n*n)
        keep = lj > lj.max(dim=1, keepdim=True).values - MASS_WINDOW
        grid = keep.view(-1, 1, n, n).float()
        keep = F.max_pool2d(grid, 3, stride=1, padding=1).view(-1, n * n) > 0  # and neighbours
        at_edge.append((keep & ring).any(dim=1))
        kept.extend(k.nonzero().squeeze(1) for k in keep)
    return kept, torch.cat(at_edge)


def _fine_pass(decode_logits, x, radius: float, kept: list[torch.Tensor], split: int):
    """(B,) log p(x) over each image's kept coarse cells, each split into split x split cells.

    Block by block: a block's sub-cell centres are decoded once and scored for every image
    with a kept cell in it, then masked to that image's own cells.
    """
    axis = _axis(radius)
    n = axis.numel()
    h = COARSE_STEP / split
    offs = (torch.arange(split, dtype=torch.float64) + 0.5) * h - COARSE_STEP / 2  # (s,)
    sub = torch.cartesian_prod(offs, offs)  # (s*s, 2)
    image = torch.cat([torch.full((k.numel(),), i) for i, k in enumerate(kept)])  # (P,)
    cell = torch.cat(kept)  # (P,) flat cell index
    row, col = cell // n, cell % n
    nb = -(-n // BLOCK)
    block = (row // BLOCK) * nb + col // BLOCK  # (P,)
    local = (row % BLOCK) * BLOCK + col % BLOCK  # (P,) cell within its block
    br, bc = torch.meshgrid(torch.arange(BLOCK), torch.arange(BLOCK), indexing="ij")
    total = torch.full((x.shape[0],), -math.inf, dtype=torch.float64)
    for b in block.unique().tolist():
        here = block == b
        imgs, inverse = image[here].unique(return_inverse=True)  # images with mass in block b
        mask = torch.zeros(imgs.numel(), BLOCK * BLOCK, dtype=torch.bool)
        mask[inverse, local[here]] = True  # (m, BLOCK^2): which cells each image keeps
        r0, c0 = (b // nb) * BLOCK, (b % nb) * BLOCK
        used = mask.any(dim=0)  # (BLOCK^2,) cells some image keeps: only those are decoded
        rr, cc = (r0 + br).flatten()[used], (c0 + bc).flatten()[used]
        centres = torch.stack([axis[rr], axis[cc]], dim=1)  # (u, 2)
        z = (centres[:, None, :] + sub[None]).reshape(-1, 2)  # (u * s^2, 2)
        lj = _log_joint(decode_logits, x[imgs], z, 2 * math.log(h))  # (m, u * s^2)
        lj = lj.masked_fill(~mask[:, used].repeat_interleave(split * split, dim=1), -math.inf)
        total[imgs] = torch.logaddexp(total[imgs], torch.logsumexp(lj, dim=1))
    return total


def _encoder_radius(model, x: torch.Tensor, y) -> float:
    """A half-width that holds every encoder posterior to 8 sigma (PRIOR_RADIUS at least)."""
    if not hasattr(model, "encode"):
        return PRIOR_RADIUS
    post = model.encode(x, y) if y is not None else model.encode(x)
    reach = float((post.mu.abs() + 8 * post.std).max())
    return max(PRIOR_RADIUS, math.ceil(reach / COARSE_STEP) * COARSE_STEP)


@torch.no_grad()
def _quadrature_one_decoder(model, decode_logits, x, y, tol: float, first_split: int) -> Quadrature:
    b = x.shape[0]
    xd = x.flatten(1).double()  # (B, D)
    radius = torch.full((b,), _encoder_radius(model, x, y), dtype=torch.float64)
    kept: list = [None] * b
    todo = torch.arange(b)
    while todo.numel():  # coarse pass; widen the grid for images whose mass meets its edge
        r = float(radius[todo[0]])
        group = todo[radius[todo] == r]
        cells, at_edge = _coarse_pass(decode_logits, xd[group], r)
        for i, c in zip(group.tolist(), cells, strict=True):
            kept[i] = c
        widen = group[at_edge] if r * 2 <= MAX_RADIUS else group[:0]
        radius[widen] = r * 2
        todo = torch.cat([todo[~torch.isin(todo, group)], widen])
    by_split: dict[int, torch.Tensor] = {}
    final = torch.full((b,), math.nan, dtype=torch.float64)
    step = torch.full((b,), math.nan, dtype=torch.float64)
    change = torch.full((b,), math.nan, dtype=torch.float64)
    active = torch.arange(b)
    split, previous = first_split, None
    while active.numel():
        values = torch.full((b,), math.nan, dtype=torch.float64)
        for r in radius[active].unique().tolist():
            group = active[radius[active] == r]
            kept_g = [kept[i] for i in group.tolist()]
            values[group] = _fine_pass(decode_logits, xd[group], r, kept_g, split)
        by_split[split] = values
        final[active] = values[active]
        step[active] = COARSE_STEP / split
        if previous is not None:
            change[active] = (values[active] - previous[active]).abs()
            done = change[active] < tol
            if split >= MAX_SPLIT:
                done[:] = True
            active = active[~done]
        previous, split = values, split * 2
    cells = torch.tensor([c.numel() for c in kept])
    return Quadrature(final, by_split, step, change, radius, cells)


def quadrature_log_px(
    model,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    tol: float = 0.01,
    first_split: int = FIRST_SPLIT,
) -> Quadrature:
    """log p(x) by quadrature for a VAE with a 2-D latent, with its convergence record.

    ``model`` needs ``decode_logits(z)`` ((N, 2) -> Bernoulli logits), or ``decode_logits(z, y)``
    for a CVAE with labels ``y``; an ``encode`` method, if any, only widens the first grid.
    ``first_split`` sets the first fine step, COARSE_STEP / first_split (a power of two).
    """
    if isinstance(model, CVAE) != (y is not None):
        raise ValueError("pass the labels y for a CVAE, and only for a CVAE")
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        if y is None:
            return _quadrature_one_decoder(model, model.decode_logits, x, None, tol, first_split)
        parts = {}
        for label in y.unique().tolist():
            rows = (y == label).nonzero().squeeze(1)
            labels = y[rows]

            def decode(z, labels=labels):
                return model.decode_logits(z, labels[:1].expand(z.shape[0]))

            parts[label] = (
                rows,
                _quadrature_one_decoder(model, decode, x[rows], labels, tol, first_split),
            )
        return _merge(parts, x.shape[0])
    finally:
        if hasattr(model, "train"):
            model.train(was_training)


def _merge(parts: dict, b: int) -> Quadrature:
    def gather(get):
        out = None
        for rows, q in parts.values():
            v = get(q)
            if out is None:
                out = (
                    torch.full((b,), math.nan, dtype=v.dtype)
                    if v.is_floating_point()
                    else (torch.zeros(b, dtype=v.dtype))
                )
            out[rows] = v
        return out

    splits = sorted({s for _, q in parts.values() for s in q.by_split})
    by_split = {}
    for s in splits:
        v = torch.full((b,), math.nan, dtype=torch.float64)
        for rows, q in parts.values():
            if s in q.by_split:
                v[rows] = q.by_split[s]
        by_split[s] = v
    return Quadrature(
        log_px=gather(lambda q: q.log_px),
        by_split=by_split,
        step=gather(lambda q: q.step),
        change=gather(lambda q: q.change),
        radius=gather(lambda q: q.radius),
        cells=gather(lambda q: q.cells),
    )


def exact_log_px(model, x: torch.Tensor, y: torch.Tensor | None = None, tol: float = 0.01):
    """(B,) log p(x) in nats (float64) for a 2-D-latent VAE, or a CVAE with labels ``y``.

    Quadrature on a grid refined until halving its step moves the answer by < ``tol`` nats
    (see ``quadrature_log_px``): ground truth for the ELBO and importance-weighted bounds.
    """
    return quadrature_log_px(model, x, y, tol).log_px
