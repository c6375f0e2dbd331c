"""Teaching truth for questions/system-design/: the numbers behind the three design answers.

Anomaly scores and drift tests are measured on VAE-2 and the bundled test digits (with a
permutation test, not a threshold read from anywhere); the bits-back accounting is checked
exactly by enumeration on a small discrete latent-variable model; token arithmetic directly.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from kit.demos.common import get_model
from kit.losses import bce_reconstruction
from kit.models import MODELS_DIR

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _neg_elbo(model, x, g, s=16):
    with torch.no_grad():
        post = model.encode(x)
        z = post.sample(g, n=s)
        rec = bce_reconstruction(
            model.decode_logits(z.reshape(-1, 2)), x.expand(s, *x.shape).reshape(-1, 1, 28, 28)
        )
        return rec.view(s, -1).mean(0) + post.kl()


def _auroc(negatives: torch.Tensor, positives: torch.Tensor) -> float:
    """P(score of a positive > score of a negative), by ranks (no ties in continuous scores)."""
    scores = torch.cat([negatives, positives])
    ranks = torch.empty_like(scores)
    ranks[scores.argsort()] = torch.arange(1, len(scores) + 1, dtype=scores.dtype)
    n, m = len(negatives), len(positives)
    return float((ranks[n:].sum() - m * (m + 1) / 2) / (n * m))


def _mmd2(a, b, c=4.0):
    def k(p, q):
        return c / (c + torch.cdist(p, q).pow(2))

    n, m = len(a), len(b)
    kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
    return float(
        (kaa.sum() - kaa.diagonal().sum()) / (n * (n - 1))
        + (kbb.sum() - kbb.diagonal().sum()) / (m * (m - 1))
        - 2 * kab.mean()
    )


def _permutation_p(a, b, g, n_perm=100):
    observed, both = _mmd2(a, b), torch.cat([a, b])
    hits = 0
    for _ in range(n_perm):
        p = torch.randperm(len(both), generator=g)
        hits += _mmd2(both[p[: len(a)]], both[p[len(a) :]]) >= observed
    return (hits + 1) / (n_perm + 1)


# ---- design-anomaly-detection ---------------------------------------------------------------


@pytest.mark.claim("design-anomaly-detection")
def test_noise_is_easy_to_flag_but_a_blank_scan_looks_normal(test_digits):
    model, x = get_model("vae-2"), test_digits.as_float(slice(0, 1000))
    g = torch.Generator().manual_seed(0)
    noisy = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    clean_score, noisy_score = _neg_elbo(model, x, g), _neg_elbo(model, noisy, g)
    assert round(_auroc(clean_score, noisy_score), 3) == 0.999
    blank = float(_neg_elbo(model, torch.zeros(1, 1, 28, 28), g, s=4096))
    assert float((clean_score > blank).float().mean()) > 0.9  # most real digits look "worse"


@pytest.mark.claim("design-anomaly-detection")
def test_embedding_drift_between_mnist_test_halves_is_detected(test_digits):
    with torch.no_grad():
        mu = get_model("vae-2").encode(test_digits.as_float()).mu.double()
    labels = test_digits.labels
    g = torch.Generator().manual_seed(0)
    first = torch.randperm(5000, generator=g)
    reference, same = mu[first[:600]], mu[first[600:900]]
    other = mu[5000 + torch.randperm(5000, generator=g)[:300]]
    unused = first[600:]
    ones, rest = unused[labels[unused] == 1], unused[labels[unused] != 1]
    skewed = mu[torch.cat([ones[:150], rest[:150]])]  # half "1"s (11% in the data)
    assert _mmd2(same, reference) == pytest.approx(0.0001, abs=0.0002)
    assert _mmd2(other, reference) == pytest.approx(0.013, abs=0.001)
    assert _mmd2(skewed, reference) == pytest.approx(0.086, abs=0.002)
    assert _permutation_p(same, reference, g) > 0.05  # no alarm without a shift
    assert _permutation_p(other, reference, g) < 0.02  # the other half: a real shift
    assert _permutation_p(skewed, reference, g) < 0.02


# ---- design-bits-back-compression -----------------------------------------------------------


@pytest.mark.claim("design-bits-back-compression")
def test_bits_back_code_length_is_the_negative_elbo_by_enumeration():
    g = torch.Generator().manual_seed(0)
    p_z = torch.softmax(torch.randn(4, generator=g, dtype=torch.float64), 0)  # (4,)
    p_x_given_z = torch.softmax(torch.randn(4, 8, generator=g, dtype=torch.float64), 1)  # (4, 8)
    p_joint = p_z[:, None] * p_x_given_z
    p_x = p_joint.sum(0)
    posterior = p_joint / p_x  # columns: p(z | x)
    q = torch.softmax(torch.randn(4, 8, generator=g, dtype=torch.float64), 0)  # some q(z | x)
    for x in range(8):
        # net bits per step, for each z: -log q (bits back) is *subtracted*, p(x|z), p(z) added
        net = -torch.log2(p_x_given_z[:, x]) - torch.log2(p_z) + torch.log2(q[:, x])
        expected = float((q[:, x] * net).sum())
        elbo_bits = float((q[:, x] * (torch.log2(p_joint[:, x]) - torch.log2(q[:, x]))).sum())
        assert expected == pytest.approx(-elbo_bits, abs=1e-12)
        assert expected >= float(-torch.log2(p_x[x])) - 1e-12  # never below -log2 p(x)
        exact = float(
            (
                posterior[:, x]
                * (-torch.log2(p_x_given_z[:, x]) - torch.log2(p_z) + torch.log2(posterior[:, x]))
            ).sum()
        )
        assert exact == pytest.approx(float(-torch.log2(p_x[x])), abs=1e-12)
    neg_elbo = json.loads((MODELS_DIR / "vae-2" / "metrics.json").read_text())["test"]["neg_elbo"]
    assert round(neg_elbo / math.log(2), 1) == 202.1
    assert round(neg_elbo / math.log(2) / 784, 3) == 0.258


# ---- design-choosing-tokenizer --------------------------------------------------------------


@pytest.mark.claim("design-choosing-tokenizer")
def test_token_counts_and_the_compression_casualty(test_digits):
    assert ((1024 // 8) // 2) ** 2 == 4096 and ((1024 // 16) // 2) ** 2 == 1024
    assert (4096 / 1024) ** 2 == 16  # attention cost ratio
    x = test_digits.as_float(slice(8, 9))
    with torch.no_grad():
        sse = {
            n: float((get_model(n).decode(get_model(n).encode(x)) - x).pow(2).sum())
            for n in ("ae-32", "ae-2")
        }
    assert round(sse["ae-32"], 2) == 5.49 and round(sse["ae-2"], 1) == 87.7
