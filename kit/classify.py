"""Train (or check) the digit classifier that the claim tests measure samples with.

    python -m kit.classify train --data-dir /path/to/mnist   # -> models/classifier/
    python -m kit.classify accuracy                          # test accuracy of the shipped one

Adam 1e-3 decayed to 0 on a cosine, batch 128, ``EPOCHS`` epochs over the 60k MNIST training
digits, seed 0; the test accuracy on the bundled 10k test digits goes into ``metrics.json``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

from kit.data import DataUnavailableError, bundled_test_set, load_mnist
from kit.models.classifier import CLASSIFIER_DIR, DigitClassifier, load_classifier

EPOCHS = 3
BATCH = 128
LR = 1e-3


def accuracy(model: DigitClassifier) -> float:
    """Fraction of the 10k bundled test digits ``model`` labels correctly."""
    test = bundled_test_set()
    return float((model.predict(test.as_float()) == test.labels).float().mean())


def train(data_dir: str, out: Path, epochs: int = EPOCHS, seed: int = 0) -> dict:
    """Train a fresh classifier on MNIST's 60k training digits, save it to ``out``, return its
    metrics (the test accuracy among them)."""
    torch.manual_seed(seed)
    train_set = load_mnist(data_dir, train=True, download=False)
    model = DigitClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    n = len(train_set)
    steps, step = epochs * math.ceil(n / BATCH), 0
    g = torch.Generator().manual_seed(seed)
    start = time.time()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=g)
        for i in range(0, n, BATCH):
            idx = order[i : i + BATCH]
            for group in opt.param_groups:  # cosine from LR to 0
                group["lr"] = LR * 0.5 * (1 + math.cos(math.pi * step / steps))
            loss = model.loss(train_set.as_float(idx), train_set.labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        model.eval()
        acc = accuracy(model)
        model.train()
        print(f"epoch {epoch + 1}: test accuracy {acc:.4f}", file=sys.stderr)
    model.eval()
    metrics = {
        "test_accuracy": accuracy(model),
        "n_test": len(bundled_test_set()),
        "epochs": epochs,
        "batch_size": BATCH,
        "lr": LR,
        "schedule": "cosine",
        "seed": seed,
        "train_seconds": round(time.time() - start, 1),
        "data": "MNIST training set (60k); accuracy on the 10k test set",
    }
    model.save(out, metrics)
    return metrics


def main(argv: list[str] | None = None) -> int:
    """The CLI: ``train`` or ``accuracy``; returns the exit code (1: no data, 2: bad args)."""
    parser = argparse.ArgumentParser(prog="python -m kit.classify")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the classifier into models/classifier/")
    t.add_argument("--data-dir", default="data", help="MNIST in torchvision layout")
    t.add_argument("--out", type=Path, default=CLASSIFIER_DIR)
    t.add_argument("--epochs", type=int, default=EPOCHS)
    sub.add_parser("accuracy", help="test accuracy of the shipped classifier")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.command == "train":
        if args.epochs < 1:
            print("error: --epochs must be at least 1", file=sys.stderr)
            return 2
        try:
            metrics = train(args.data_dir, args.out, args.epochs)
        except DataUnavailableError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(f"test accuracy {metrics['test_accuracy']:.4f}; saved to {args.out}")
    else:
        print(f"test accuracy {accuracy(load_classifier()):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
