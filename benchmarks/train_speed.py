"""Training speed: the tutorial's plain recipe vs the kit's trainer on vae-2, in one process.

    python benchmarks/train_speed.py --data-dir ../shared/mnist [--epochs 3] [--full]

1. Epoch time. Interleaved epochs (plain, kit, plain, kit, ...) of the same VAE architecture,
   batch 128, Adam 1e-3. The plain recipe is the tutorial's: a DataLoader over
   torchvision's MNIST with ``ToTensor`` (one PIL image converted per sample), sigmoid outputs and
   ``F.binary_cross_entropy``. The kit's trainer keeps the whole set as one uint8 tensor and
   gathers batches from it. Printed: median epoch time of each and their ratio (optimisation
   only; the kit's per-epoch test evaluation is excluded).
2. Time to quality. The wall time the kit's trainer (its ``fast`` recipe below, test
   evaluation after every epoch included) needs to reach the plain recipe's 20-epoch test
   negative ELBO, 143.6 nats, against the time of the plain recipe's 20 epochs. Without
   ``--full`` that time is 20 x the plain epoch time measured in step 1; with ``--full`` the
   plain recipe really runs 20 epochs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from kit.data import bundled_test_set, load_mnist
from kit.models import VAE, ModelConfig
from kit.recipes import TrainConfig
from kit.train import train_model

TARGET_NATS = 143.6  # the plain recipe's test negative ELBO after 20 epochs (measured)
PLAIN_EPOCHS = 20
#: the kit's default recipe for reaching the target quickly (same model and Adam; override with
#: --fast-epochs / --fast-batch / --fast-lr)
FAST = TrainConfig(epochs=10, batch_size=64, lr=3e-3)  # cosine schedule (TrainConfig's default)


def plain_epoch(model: VAE, loader, opt) -> float:
    """One epoch of the tutorial's loop; returns seconds."""
    start = time.perf_counter()
    model.train()
    for data, _ in loader:
        opt.zero_grad()
        post = model.encode(data)
        recon = model.decode(post.sample())  # sigmoid outputs
        rec = F.binary_cross_entropy(recon.view(-1, 784), data.view(-1, 784), reduction="sum")
        kl = -0.5 * torch.sum(1 + post.logvar - post.mu.pow(2) - post.logvar.exp())
        (rec + kl).backward()
        opt.step()
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data-dir", default="data")
    ap.add_argument("--epochs", type=int, default=3, help="interleaved epochs of each (step 1)")
    ap.add_argument("--full", action="store_true", help="run the plain recipe's 20 epochs for real")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--fast-epochs", type=int, default=FAST.epochs, help="cosine length of the kit run"
    )
    ap.add_argument("--fast-batch", type=int, default=FAST.batch_size)
    ap.add_argument("--fast-lr", type=float, default=FAST.lr)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    plain_set = datasets.MNIST(
        args.data_dir, train=True, download=False, transform=transforms.ToTensor()
    )
    loader = DataLoader(plain_set, batch_size=128, shuffle=True)
    train_set, test_set = load_mnist(args.data_dir, train=True, download=False), bundled_test_set()
    cfg = ModelConfig(kind="vae", latent_dim=2)

    torch.manual_seed(0)
    plain_model = VAE(cfg)
    plain_opt = torch.optim.Adam(plain_model.parameters(), lr=1e-3)
    same = TrainConfig(epochs=1, batch_size=128, lr=1e-3, schedule="constant")
    plain_times, kit_times = [], []
    for i in range(args.epochs):
        plain_times.append(plain_epoch(plain_model, loader, plain_opt))
        run = train_model(cfg, same, train_set, test_set, progress=False)
        kit_times.append(run.history[-1]["fit_seconds"])
        print(
            f"epoch {i + 1}: plain {plain_times[-1]:.2f} s, kit {kit_times[-1]:.2f} s", flush=True
        )
    p, k = statistics.median(plain_times), statistics.median(kit_times)
    print(
        f"\nepoch time (batch 128, Adam 1e-3): plain {p:.2f} s, kit {k:.2f} s -> ratio {p / k:.2f}x"
    )

    reached: dict = {}

    def stop_when_good(record: dict) -> None:
        if record["test_neg_elbo"] <= TARGET_NATS and not reached:
            reached.update(record)

    fast_cfg = TrainConfig(
        epochs=args.fast_epochs, batch_size=args.fast_batch, lr=args.fast_lr, seed=args.seed
    )
    print(f"\nkit run to {TARGET_NATS} nats: {fast_cfg}")
    fast = train_model(
        cfg,
        fast_cfg,
        train_set,
        test_set,
        progress=False,
        on_epoch=stop_when_good,
        should_stop=lambda: bool(reached),
    )
    for r in fast.history:
        print(
            f"  kit fast recipe: epoch {r['epoch']:.0f}  test -ELBO {r['test_neg_elbo']:.2f}  "
            f"at {r['seconds']:.1f} s"
        )
    if not reached:
        print(f"kit fast recipe never reached {TARGET_NATS} nats in {fast_cfg.epochs} epochs")
        return 1
    if args.full:
        for _ in range(PLAIN_EPOCHS - args.epochs):
            plain_times.append(plain_epoch(plain_model, loader, plain_opt))
        plain_total = sum(plain_times)
        how = "measured"
    else:
        plain_total = PLAIN_EPOCHS * p
        how = f"estimated as {PLAIN_EPOCHS} x the median plain epoch"
    kit_total = reached["seconds"]
    print(
        f"\ntime to {TARGET_NATS} nats: plain recipe {PLAIN_EPOCHS} epochs {plain_total:.1f} s ({how}); "
        f"kit {kit_total:.1f} s at epoch {reached['epoch']:.0f} (test -ELBO "
        f"{reached['test_neg_elbo']:.2f}) -> ratio {plain_total / kit_total:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
