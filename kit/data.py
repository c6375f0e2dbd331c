"""MNIST as whole tensors: the torchvision files for training, a bundled copy of the test set.

Training keeps the dataset as one uint8 tensor (N, 28, 28) and indexes batches out of it, so no
per-sample Python transform ever runs. ``bundled_test_set`` reads the 10,000 test digits shipped
in ``kit/assets/mnist_test.npz`` and ``bundled_train_subset`` the 20,000 training digits (2,000 of
each class) in ``kit/assets/mnist_train_20k.npz``, which let the app (Train live included) and
the tests run with no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

ASSETS = Path(__file__).resolve().parent / "assets"
BUNDLED_TEST = ASSETS / "mnist_test.npz"
BUNDLED_TRAIN = ASSETS / "mnist_train_20k.npz"
TRAIN_SUBSET_PER_CLASS = 2000  # 10 classes x 2,000 = 20,000 training digits
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class DataUnavailableError(RuntimeError):
    """MNIST could be neither found on disk nor downloaded."""


@dataclass
class Digits:
    """A labelled set of MNIST digits held as whole tensors."""

    images: Tensor
    """uint8 pixels, shape (N, 28, 28), 0 = background, 255 = ink."""
    labels: Tensor
    """int64 digit classes, shape (N,)."""

    def __len__(self) -> int:
        return self.labels.shape[0]

    def as_float(self, index: Tensor | slice | None = None) -> Tensor:
        """Images (or a subset) as float (B, 1, 28, 28) in [0, 1]."""
        imgs = self.images if index is None else self.images[index]
        return imgs.unsqueeze(1).float().div_(255.0)

    def to(self, device: torch.device | str) -> Digits:
        """The same digits with both tensors on ``device``."""
        return Digits(self.images.to(device), self.labels.to(device))


def load_mnist(data_dir: str | Path = "data", train: bool = True, download: bool = True) -> Digits:
    """MNIST from ``data_dir`` in torchvision's layout (``<data_dir>/MNIST/raw/*-ubyte``).

    Downloads there first when the files are missing and ``download`` is set. Raises
    ``DataUnavailableError`` with a one-line explanation when neither works.
    """
    from torchvision.datasets import MNIST

    root = Path(data_dir)
    try:
        ds = MNIST(root=str(root), train=train, download=False)
    except RuntimeError:
        if not download:
            raise DataUnavailableError(_missing_message(root, "downloading is off")) from None
        try:
            ds = MNIST(root=str(root), train=train, download=True)
        except Exception as err:  # network errors come in many types (URLError, HTTPError, OSError)
            reason = f"download failed: {type(err).__name__}: {str(err).splitlines()[0][:120]}"
            raise DataUnavailableError(_missing_message(root, reason)) from None
    return Digits(images=ds.data.contiguous(), labels=ds.targets.long())


def _missing_message(root: Path, reason: str) -> str:
    raw = root / "MNIST" / "raw"
    return (
        f"MNIST not found in {raw} ({reason}); put the four IDX files "
        f"({', '.join(IDX_FILES)}) there, or run on a machine that can reach the MNIST mirrors"
    )


def _read_npz(path: Path) -> Digits:
    with np.load(path) as npz:
        images, labels = npz["images"], npz["labels"]
    return Digits(
        images=torch.from_numpy(images.copy()), labels=torch.from_numpy(labels.astype(np.int64))
    )


@lru_cache(maxsize=1)
def bundled_test_set() -> Digits:
    """The 10,000 MNIST test digits shipped with the repo (read once, then cached)."""
    return _read_npz(BUNDLED_TEST)


@lru_cache(maxsize=1)
def bundled_train_subset() -> Digits:
    """20,000 MNIST training digits (2,000 per class) shipped with the repo (read once).

    Disjoint from the test set, so a model trained on them is evaluated on held-out digits.
    """
    return _read_npz(BUNDLED_TRAIN)


def write_bundled_test_set(data_dir: str | Path, path: Path = BUNDLED_TEST) -> Path:
    """Build ``kit/assets/mnist_test.npz`` from the torchvision files in ``data_dir``."""
    test = load_mnist(data_dir, train=False, download=False)
    np.savez_compressed(
        path, images=test.images.numpy(), labels=test.labels.numpy().astype(np.uint8)
    )
    return path


def write_bundled_train_subset(
    data_dir: str | Path, path: Path = BUNDLED_TRAIN, per_class: int = TRAIN_SUBSET_PER_CLASS
) -> Path:
    """Build ``kit/assets/mnist_train_20k.npz`` from the torchvision files in ``data_dir``.

    The first ``per_class`` digits of each class in the training set's own order, kept in that
    order (classes interleaved as in the original), so the subset is reproducible exactly.
    """
    train = load_mnist(data_dir, train=True, download=False)
    labels = train.labels.numpy()
    keep = np.sort(np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(10)]))
    np.savez_compressed(
        path,
        images=train.images.numpy()[keep],
        labels=labels[keep].astype(np.uint8),
        source_index=keep.astype(np.uint16),  # position of each digit in the 60k training set
    )
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m kit.data``: rebuild a bundled file; returns the exit status.

    Writes the test set, or with ``--train-subset`` the 20,000 training digits.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m kit.data",
        description="Rebuild kit/assets/mnist_test.npz from the MNIST test IDX files, or "
        "with --train-subset kit/assets/mnist_train_20k.npz from the training IDX files.",
    )
    parser.add_argument(
        "--data-dir", default="data", help="MNIST root in torchvision's layout (<dir>/MNIST/raw)"
    )
    parser.add_argument("--out", type=Path, help="where the .npz goes (default: kit/assets/)")
    parser.add_argument(
        "--train-subset",
        action="store_true",
        help=f"write the {10 * TRAIN_SUBSET_PER_CLASS:,}-digit training subset instead",
    )
    args = parser.parse_args(argv)
    try:
        if args.train_subset:
            path = write_bundled_train_subset(args.data_dir, args.out or BUNDLED_TRAIN)
        else:
            path = write_bundled_test_set(args.data_dir, args.out or BUNDLED_TEST)
    except DataUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
