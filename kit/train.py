"""Train a model (or rebuild every shipped checkpoint) on MNIST.

    python -m kit.train --model vae-2                   # one shipped recipe -> models/vae-2/
    python -m kit.train --model vae --latent-dim 8 --beta 2 --name my-vae --epochs 10
    python -m kit.train --all                           # rebuild every shipped checkpoint
    python -m kit.train --model vae-2 --dry-run         # a few batches, into a temporary folder

The whole training set lives on the device as one uint8 tensor; each step gathers a shuffled
batch of rows from it and scales to [0, 1]. The same code path runs on CPU and GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from kit.data import DataUnavailableError, Digits, bundled_test_set, load_mnist
from kit.evaluate import evaluate
from kit.losses import kl_warmup
from kit.models import GAN, MODELS_DIR, SHIPPED, build_model
from kit.models.config import MODEL_KINDS, ModelConfig
from kit.recipes import RECIPES, Recipe, TrainConfig

DRY_RUN_STEPS = 5


@dataclass
class TrainResult:
    """Named output of ``train_model``."""

    model: torch.nn.Module
    """The trained model, in eval mode."""
    history: list[dict] = field(default_factory=list)
    """One record per finished epoch: train and test losses, KL per dimension, lr, and the
    elapsed ``seconds`` (wall) and ``fit_seconds`` (optimisation steps only)."""
    metrics: dict = field(default_factory=dict)
    """Test metrics after the last epoch (``kit.evaluate.evaluate``)."""
    seconds: float = 0.0
    """Wall-clock training time, evaluation included."""
    stopped: bool = False
    """True when ``should_stop`` ended the run early."""


def _lr_factor(schedule: str, step: int, total: int) -> float:
    if schedule == "constant":
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))  # cosine from 1 to 0


def train_model(
    model_config: ModelConfig,
    train_config: TrainConfig,
    train_set: Digits,
    test_set: Digits,
    device: str | torch.device = "cpu",
    max_steps: int | None = None,
    progress: bool = True,
    on_epoch: Callable[[dict], None] | None = None,
    on_step: Callable[[int, int, dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train a fresh model and evaluate it on ``test_set`` after every epoch.

    ``max_steps`` cuts the run short (dry runs); ``on_epoch(record)`` and ``on_step(step,
    total, losses)`` report progress; ``should_stop()`` is polled every step.
    """
    tc, device = train_config, torch.device(device)
    with torch.random.fork_rng(devices=[]):  # seed the initialisation, leave the global RNG alone
        torch.manual_seed(tc.seed)
        model = build_model(model_config).to(device).train()
    gen = torch.Generator(device=device).manual_seed(tc.seed)
    images, labels = train_set.images.to(device), train_set.labels.to(device)  # (N, 28, 28) uint8
    test_set = test_set.to(device)
    n = images.shape[0]
    steps_per_epoch = math.ceil(n / tc.batch_size)
    total = (
        tc.epochs * steps_per_epoch
        if max_steps is None
        else min(max_steps, tc.epochs * steps_per_epoch)
    )
    warmup_steps = int(tc.kl_warmup_epochs * steps_per_epoch)

    betas = tuple(tc.adam_betas)
    if isinstance(model, GAN):  # two players, two optimisers, stepped in turn
        opt_g = torch.optim.Adam(model.generator.parameters(), lr=tc.lr, betas=betas)
        opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=tc.lr, betas=betas)
        optimizers = [opt_g, opt_d]
    else:
        optimizers = [torch.optim.Adam(model.parameters(), lr=tc.lr, betas=betas)]

    def fit_step(x: torch.Tensor, y: torch.Tensor, step: int) -> dict:
        """One optimiser step on the model's own objective; returns the logged batch means."""
        weight = kl_warmup(step, warmup_steps, model_config.beta)  # beta, annealed
        out = model.loss(x, y, generator=gen, kl_weight=weight, free_bits=tc.free_bits)
        optimizers[0].zero_grad(set_to_none=True)
        out.total.backward()
        optimizers[0].step()
        return out.means()

    def gan_step(x: torch.Tensor, y: torch.Tensor, step: int) -> dict:
        """One discriminator step, then one generator step against the updated D."""
        fake = model(x.shape[0], generator=gen).images
        d_loss = model.discriminator_loss(x, fake)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = model.generator_loss(fake)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

    step_fn = gan_step if isinstance(model, GAN) else fit_step

    result = TrainResult(model=model)
    start, step, fit_seconds = time.perf_counter(), 0, 0.0
    bar = tqdm(
        total=total,
        desc=f"{model_config.kind} d={model_config.latent_dim}",
        disable=not progress,
        unit="step",
        dynamic_ncols=True,
    )
    for epoch in range(1, tc.epochs + 1):
        perm = torch.randperm(n, generator=gen, device=device)
        sums: dict[str, float] = {}
        seen = 0
        epoch_start = time.perf_counter()
        for i in range(0, n, tc.batch_size):
            if step >= total or (should_stop is not None and should_stop()):
                break
            lr = tc.lr * _lr_factor(tc.schedule, step, total)
            for opt in optimizers:
                for g in opt.param_groups:
                    g["lr"] = lr
            idx = perm[i : i + tc.batch_size]
            x = images[idx].unsqueeze(1).float().div_(255.0)  # (B, 28, 28) uint8 -> (B, 1, 28, 28)
            parts = step_fn(x, labels[idx], step)
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v * idx.numel()
            seen += idx.numel()
            step += 1
            bar.update(1)
            if step % 20 == 0:
                bar.set_postfix({k: f"{v:.4g}" for k, v in parts.items()}, refresh=False)
            if on_step is not None:
                on_step(step, total, parts)
        if seen == 0:
            break
        fit_seconds += time.perf_counter() - epoch_start
        model.eval()
        test = evaluate(model, test_set)
        model.train()
        record = {
            "epoch": epoch if seen == n else epoch - 1 + seen / n,
            "steps": step,
            "lr": lr,
            "seconds": time.perf_counter() - start,
            "fit_seconds": fit_seconds,  # optimisation steps only, evaluation excluded
        }
        record.update({f"train_{k}": v / seen for k, v in sums.items()})
        record.update({f"test_{k}": v for k, v in test.items() if k != "n_images"})
        result.history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if step >= total or (should_stop is not None and should_stop()):
            result.stopped = step < total
            break
    bar.close()
    model.eval()
    result.seconds = time.perf_counter() - start
    result.metrics = evaluate(model, test_set)
    return result


def save_checkpoint(result: TrainResult, folder: Path, recipe: Recipe, data_note: str) -> Path:
    """Write config.json + model.safetensors (via the Hub mixin), metrics.json, history.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = result.model.to("cpu")
    model.save_pretrained(folder)
    # the mixin writes a generic model card; models/README.md is the real one
    (folder / "README.md").unlink(missing_ok=True)
    metrics = {
        "test": result.metrics,
        "train_config": recipe.train.to_dict(),
        "model_config": asdict(recipe.model),
        "parameters": model.num_parameters(),
        "train_seconds": round(result.seconds, 1),
        "epochs_run": result.history[-1]["epoch"] if result.history else 0,
        "data": data_note,
        "torch": torch.__version__,
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    (folder / "history.json").write_text(
        json.dumps(result.history, indent=1) + "\n", encoding="utf-8"
    )
    return folder


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m kit.train`` (its --help text)."""
    p = argparse.ArgumentParser(
        prog="python -m kit.train",
        description="Train Latent Lab's models on MNIST and write checkpoint folders "
        "(config.json, model.safetensors, metrics.json, history.json).",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--model",
        help=f"a shipped recipe ({', '.join(SHIPPED)}) or a bare kind "
        f"({', '.join(MODEL_KINDS)}) to train with your own settings",
    )
    what.add_argument("--all", action="store_true", help="rebuild every shipped checkpoint in turn")
    p.add_argument("--epochs", type=int, help="passes over the training set (recipe default)")
    p.add_argument("--beta", type=float, help="KL weight for VAE kinds (1 = plain ELBO)")
    p.add_argument("--latent-dim", type=int, help="size of the latent code z")
    p.add_argument("--batch-size", type=int, help="images per step (default 128)")
    p.add_argument("--lr", type=float, help="Adam learning rate at the start of the run")
    p.add_argument("--schedule", choices=["cosine", "constant"], help="learning-rate schedule")
    p.add_argument(
        "--kl-warmup-epochs", type=float, help="epochs of linear KL annealing (default 0)"
    )
    p.add_argument(
        "--free-bits", type=float, help="free-bits floor in nats per latent dim (default 0)"
    )
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument(
        "--data-dir",
        default="data",
        help="MNIST root in torchvision's layout "
        "(<dir>/MNIST/raw); downloaded there if missing (default ./data)",
    )
    p.add_argument("--no-download", action="store_true", help="never try to download MNIST")
    p.add_argument(
        "--bundled",
        action="store_true",
        help="train on the 10k bundled test digits "
        "instead of the training set (offline demos only; the test numbers are then not held out)",
    )
    p.add_argument(
        "--out-dir",
        default=None,
        help="where checkpoint folders go (default models/; a temporary folder with --dry-run)",
    )
    p.add_argument("--name", help="checkpoint folder name (default: the --model value)")
    p.add_argument(
        "--device", default="auto", help="cpu, cuda, cuda:1, ... (default: cuda if present)"
    )
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help=f"run {DRY_RUN_STEPS} batches only, to check the setup",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _recipe_from_args(name: str, args: argparse.Namespace) -> Recipe:
    if name in RECIPES:
        base = RECIPES[name]
    elif name in MODEL_KINDS:
        base = Recipe(ModelConfig(kind=name), TrainConfig())
    else:
        raise ValueError(
            f"unknown --model {name!r}; choose one of {', '.join(SHIPPED + MODEL_KINDS)}"
        )
    model_over = {
        k: v for k, v in {"beta": args.beta, "latent_dim": args.latent_dim}.items() if v is not None
    }
    train_over = {
        k: v
        for k, v in {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "schedule": args.schedule,
            "kl_warmup_epochs": args.kl_warmup_epochs,
            "free_bits": args.free_bits,
            "seed": args.seed,
        }.items()
        if v is not None
    }
    return Recipe(replace(base.model, **model_over), replace(base.train, **train_over))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 done, 2 bad arguments or data, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = (
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    names = list(SHIPPED) if args.all else [args.model]
    try:
        recipes = {
            (args.name or n if not args.all else n): _recipe_from_args(n, args) for n in names
        }
        torch.device(device)
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    test_set = bundled_test_set()
    if args.bundled:
        train_set, data_note = (
            test_set,
            "bundled MNIST test digits (10k; test metrics are not held out)",
        )
    else:
        try:
            train_set = load_mnist(args.data_dir, train=True, download=not args.no_download)
        except DataUnavailableError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        data_note = "MNIST training set (60k); metrics on the 10k test set"
    tmp = None
    if args.out_dir is not None:
        out_dir = Path(args.out_dir)
    elif args.dry_run:
        out_dir = Path(tmp := tempfile.mkdtemp(prefix="kit-dry-run-"))
    else:
        out_dir = MODELS_DIR
    max_steps = DRY_RUN_STEPS if args.dry_run else None
    for name, recipe in recipes.items():
        try:
            result = train_model(
                recipe.model,
                recipe.train,
                train_set,
                Digits(test_set.images[:1000], test_set.labels[:1000])
                if args.dry_run
                else test_set,
                device=device,
                max_steps=max_steps,
                progress=not args.quiet,
            )
        except KeyboardInterrupt:
            print(f"interrupted: {name} not saved", file=sys.stderr)
            return 130
        folder = save_checkpoint(result, out_dir / name, recipe, data_note)
        summary = {k: round(v, 4) for k, v in result.metrics.items() if isinstance(v, float)}
        print(f"{name}: {summary} in {result.seconds:.1f}s -> {folder}")
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"dry run finished; the temporary checkpoint folder {tmp} was removed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
