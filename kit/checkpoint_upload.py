"""Read a visitor's checkpoint (a folder or a zip of ``config.json`` + ``model.safetensors``) safely.

Nothing in an upload is executed or trusted. In order, before any weight is read:

1. sizes: each file and the total at most ``MAX_TOTAL_BYTES`` (from ``os.stat``, so a 100 MB
   file is refused without reading it); ``config.json`` at most ``MAX_CONFIG_BYTES``;
2. a zip is never extracted by ``extractall``: its directory is read first (at most
   ``MAX_ZIP_ENTRIES`` entries, no encrypted ones, declared sizes under the caps, and each
   entry's ratio uncompressed / compressed at most ``MAX_ZIP_RATIO``, the zip-bomb signature),
   then only the two wanted members are copied out, at most cap + 1 bytes each, so a header
   that lies about the size is caught too;
3. ``config.json``: a JSON object with only ``ModelConfig``'s keys, each of the right type,
   an architecture within ``LIMITS`` (so the model built from it is bounded in memory);
4. ``model.safetensors``: the first bytes are checked for the signatures of a pickle
   (``0x80`` protocol byte) or a ``torch.save`` zip (``PK``), refused with a sentence; then the
   safetensors header (``safe_open``, which reads JSON, never code) must list exactly the
   tensors of the architecture, each with its exact shape and a float dtype;
5. only then are the weights read, with ``safetensors.torch.load_file``, and loaded with
   ``load_state_dict(strict=True)``.

Every refusal is a ``CheckpointRefused`` (a ``DemoInputError``) whose message names only the
uploaded file's own name, never a server path.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from kit.demos.errors import DemoInputError
from kit.models import ModelConfig, build_model

MAX_TOTAL_BYTES = 50 * 2**20  # config.json + model.safetensors together (a kit MLP is ~2 MB)
MAX_CONFIG_BYTES = 16 * 1024  # a config.json is ~150 bytes
MAX_ZIP_ENTRIES = 16  # a checkpoint folder holds 2-4 files
MAX_ZIP_RATIO = 20  # uncompressed / compressed; float weights compress ~1.1x, a bomb ~1000x
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
KINDS_WITH_ENCODER = ("ae", "vae", "cvae")  # the GAN has no encoder: nothing to diagnose
FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")


@dataclass(frozen=True)
class Limits:
    """The architectures an upload may describe (the kit's MLPs, bounded)."""

    max_latent: int = 64
    """Largest latent size d."""
    max_layers: int = 4
    """Most hidden layers."""
    max_width: int = 2048
    """Widest hidden layer."""
    image_size: int = 28
    """MNIST only: the test digits are 28 x 28."""
    num_classes: int = 10
    """MNIST only: ten digit classes."""


LIMITS = Limits()


class CheckpointRefused(DemoInputError):
    """An uploaded checkpoint that is refused; the message says why, in a sentence."""


@dataclass
class UploadedCheckpoint:
    """A validated upload: its config and its model with the weights loaded, in eval mode."""

    name: str
    """What the visitor uploaded (a file or folder name, never a server path)."""
    config: ModelConfig
    """The validated architecture."""
    model: torch.nn.Module
    """The model built from ``config`` with the uploaded weights (strict), eval mode."""


# ---- 1. sizes and where the two files are ---------------------------------------------------


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        raise CheckpointRefused(f"{path.name} could not be read; upload it again") from None


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _check_total(sizes: dict[str, int]) -> None:
    for name, size in sizes.items():
        if size > MAX_TOTAL_BYTES:
            raise CheckpointRefused(
                f"{name} is {_mib(size)}; a checkpoint may be at most "
                f"{MAX_TOTAL_BYTES // 2**20} MiB in all"
            )
    total = sum(sizes.values())
    if total > MAX_TOTAL_BYTES:
        raise CheckpointRefused(
            f"the checkpoint is {_mib(total)} in all; at most {MAX_TOTAL_BYTES // 2**20} MiB "
            "is accepted"
        )


def _pick(paths: Iterable[Path]) -> dict[str, Path]:
    """The config and weights among uploaded files, by file name (other files are ignored)."""
    found: dict[str, Path] = {}
    for p in paths:
        if p.name in (CONFIG_NAME, WEIGHTS_NAME):
            if p.name in found:
                raise CheckpointRefused(f"the upload holds two files called {p.name}")
            found[p.name] = p
    return found


def _require_both(found: dict, where: str) -> None:
    missing = [n for n in (CONFIG_NAME, WEIGHTS_NAME) if n not in found]
    if missing:
        raise CheckpointRefused(
            f"{where} has no {' and no '.join(missing)}; a checkpoint is a folder (or a zip) "
            f"holding {CONFIG_NAME} and {WEIGHTS_NAME}"
        )


# ---- 2. a zip, read without trusting it -------------------------------------------------------


def _copy_bounded(src, dst_path: Path, limit: int, name: str) -> int:
    """Copy at most ``limit`` bytes; a member that holds more is refused (a lying header)."""
    written = 0
    with open(dst_path, "wb") as dst:
        while chunk := src.read(1 << 16):
            written += len(chunk)
            if written > limit:
                raise CheckpointRefused(
                    f"{name} expands beyond {_mib(limit)}; the zip is refused (a zip bomb?)"
                )
            dst.write(chunk)
    return written


def _unzip(zip_path: Path, into: Path) -> dict[str, Path]:
    """The two wanted members of ``zip_path`` copied into ``into`` after every check."""
    label = zip_path.name
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError):
        raise CheckpointRefused(f"{label} is not a readable zip file") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise CheckpointRefused(
                f"{label} holds {len(infos)} entries; a checkpoint zip may hold at most "
                f"{MAX_ZIP_ENTRIES}"
            )
        wanted: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.is_dir():
                continue
            base = info.filename.replace("\\", "/").rsplit("/", 1)[-1]
            if base not in (CONFIG_NAME, WEIGHTS_NAME):
                continue
            if info.flag_bits & 0x1:
                raise CheckpointRefused(f"{label}: {base} is encrypted; upload it unencrypted")
            if base in wanted:
                raise CheckpointRefused(f"{label} holds two files called {base}")
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > MAX_ZIP_RATIO:
                raise CheckpointRefused(
                    f"{label}: {base} expands {ratio:.0f}-fold when unzipped (at most "
                    f"{MAX_ZIP_RATIO}-fold is accepted); the zip is refused (a zip bomb?)"
                )
            wanted[base] = info
        _require_both(wanted, label)
        _check_total({n: i.file_size for n, i in wanted.items()})
        out: dict[str, Path] = {}
        budget = MAX_TOTAL_BYTES
        for base, info in wanted.items():
            limit = MAX_CONFIG_BYTES if base == CONFIG_NAME else budget
            try:
                with zf.open(info) as src:
                    budget -= _copy_bounded(src, into / base, limit, f"{label}: {base}")
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
                raise CheckpointRefused(
                    f"{label}: {base} is damaged and could not be read"
                ) from None
            out[base] = into / base
        return out


# ---- 3. the config ---------------------------------------------------------------------------

_TYPES = {"kind": str, "latent_dim": int, "hidden": list, "beta": (int, float)}
_TYPES.update({"num_classes": int, "image_size": int})


def read_upload_config(path: Path, limits: Limits = LIMITS) -> ModelConfig:
    """``config.json`` as a ``ModelConfig`` of a kit architecture within ``limits``."""
    if _size(path) > MAX_CONFIG_BYTES:
        raise CheckpointRefused(
            f"{CONFIG_NAME} is {_size(path):,} bytes; at most {MAX_CONFIG_BYTES:,} are accepted"
        )
    try:
        raw = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise CheckpointRefused(f"{CONFIG_NAME} is not valid JSON ({err})") from None
    if not isinstance(raw, dict):
        raise CheckpointRefused(f"{CONFIG_NAME} must hold a JSON object of model settings")
    known = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise CheckpointRefused(
            f"{CONFIG_NAME} has unknown settings {', '.join(map(repr, unknown))[:120]}; "
            f"a kit model config has only {', '.join(sorted(known))}"
        )
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, _TYPES[key]):
            raise CheckpointRefused(f"{CONFIG_NAME}: {key} has the wrong type ({value!r:.40})")
    hidden = raw.get("hidden", [256, 128])
    if not all(isinstance(h, int) and not isinstance(h, bool) for h in hidden):
        raise CheckpointRefused(f"{CONFIG_NAME}: hidden must be a list of whole numbers")
    kind = raw.get("kind", "vae")
    if kind not in KINDS_WITH_ENCODER:
        raise CheckpointRefused(
            f"{CONFIG_NAME}: kind {kind!r:.20} can't be diagnosed; upload one of "
            f"{', '.join(KINDS_WITH_ENCODER)} (the GAN has no encoder)"
        )
    if not 1 <= raw.get("latent_dim", 2) <= limits.max_latent:
        raise CheckpointRefused(f"{CONFIG_NAME}: latent_dim must be from 1 to {limits.max_latent}")
    if not 1 <= len(hidden) <= limits.max_layers or not all(
        1 <= h <= limits.max_width for h in hidden
    ):
        raise CheckpointRefused(
            f"{CONFIG_NAME}: hidden must be 1 to {limits.max_layers} widths, each from 1 to "
            f"{limits.max_width}"
        )
    if raw.get("image_size", 28) != limits.image_size:
        raise CheckpointRefused(f"{CONFIG_NAME}: image_size must be {limits.image_size} (MNIST)")
    if raw.get("num_classes", 10) != limits.num_classes:
        raise CheckpointRefused(f"{CONFIG_NAME}: num_classes must be {limits.num_classes}")
    beta = raw.get("beta", 1.0)
    if not 0 <= beta <= 1e6:
        raise CheckpointRefused(f"{CONFIG_NAME}: beta must be a number from 0 to 1e6")
    return ModelConfig(**raw)


# ---- 4. and 5. the weights --------------------------------------------------------------------


def _refuse_pickles(path: Path) -> None:
    with open(path, "rb") as f:
        head = f.read(16)
    if head[:1] == b"\x80" or head[:2] == b"PK":
        raise CheckpointRefused(
            f"{WEIGHTS_NAME} is a Python pickle (torch.save output), not safetensors; pickles "
            "can run code when loaded, so they are never opened here. Convert it with "
            "safetensors.torch.save_file(model.state_dict(), 'model.safetensors')"
        )
    if len(head) < 8:
        raise CheckpointRefused(f"{WEIGHTS_NAME} is too short to be a safetensors file")
    (header_len,) = struct.unpack("<Q", head[:8])
    if header_len > 1_000_000 or 8 + header_len > _size(path) or head[8:9] != b"{":
        raise CheckpointRefused(f"{WEIGHTS_NAME} is not a safetensors file (its header is wrong)")


def _expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):  # shapes only: no memory for the weights
        model = build_model(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _check_header(path: Path, config: ModelConfig) -> None:
    expected = _expected_shapes(config)
    try:
        with safe_open(str(path), framework="pt") as f:  # reads the JSON header only
            keys = set(f.keys())
            found = {k: tuple(f.get_slice(k).get_shape()) for k in keys}
            dtypes = {k: f.get_slice(k).get_dtype() for k in keys}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointRefused(
            f"{WEIGHTS_NAME} is not a readable safetensors file ({err})"
        ) from None
    missing, extra = sorted(expected.keys() - keys), sorted(keys - expected.keys())
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}")
        if extra:
            parts.append(f"unexpected {', '.join(extra[:3])}")
        raise CheckpointRefused(
            f"{WEIGHTS_NAME} does not match the {config.kind} in {CONFIG_NAME} "
            f"({'; '.join(parts)})"[:300]
        )
    for key, shape in expected.items():
        if found[key] != shape:
            raise CheckpointRefused(
                f"{WEIGHTS_NAME}: {key} has shape {list(found[key])}, but the {config.kind} in "
                f"{CONFIG_NAME} needs {list(shape)}"
            )
        if dtypes[key] not in FLOAT_DTYPES:
            raise CheckpointRefused(f"{WEIGHTS_NAME}: {key} is {dtypes[key]}, not a float tensor")


def _load(found: dict[str, Path], name: str) -> UploadedCheckpoint:
    config = read_upload_config(found[CONFIG_NAME])
    weights = found[WEIGHTS_NAME]
    _refuse_pickles(weights)
    _check_header(weights, config)
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointRefused(f"{WEIGHTS_NAME} could not be read ({err})") from None
    model = build_model(config)
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    for p in model.parameters():
        p.requires_grad_(False)
    if not all(torch.isfinite(p).all() for p in model.parameters()):
        raise CheckpointRefused(f"{WEIGHTS_NAME} holds NaN or infinite weights")
    return UploadedCheckpoint(name=name, config=config, model=model.eval())


def read_checkpoint(upload: str | os.PathLike | Iterable[str | os.PathLike]) -> UploadedCheckpoint:
    """A validated, loaded checkpoint from a folder, a ``.zip``, or a list of uploaded files.

    ``upload``: a directory path (the CLI), a zip file's path, or the paths Gradio gives for a
    folder or several files (the two files are found by name; a single zip in the list works
    too). Raises ``CheckpointRefused`` with a sentence for anything refused.
    """
    if upload is None or (isinstance(upload, (list, tuple)) and not upload):
        raise CheckpointRefused(
            f"upload a checkpoint first: a folder or a zip with {CONFIG_NAME} and {WEIGHTS_NAME}"
        )
    single = isinstance(upload, (str, os.PathLike))
    paths = [Path(upload)] if single else [Path(p) for p in upload]
    if len(paths) == 1 and not paths[0].exists():
        raise CheckpointRefused(f"{paths[0].name} does not exist; give a folder or a .zip")
    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0]
        paths = [p for p in folder.iterdir() if p.is_file()]
        label = folder.name
    else:
        label = paths[0].name if len(paths) == 1 else "the upload"
    zips = [p for p in paths if p.suffix.lower() == ".zip"]
    if len(paths) == 1 and zips:
        _check_total({zips[0].name: _size(zips[0])})
        with tempfile.TemporaryDirectory(prefix="latent-lab-ckpt-") as tmp:
            found = _unzip(zips[0], Path(tmp))
            return _load(found, zips[0].name)
    found = _pick(paths)
    _require_both(found, label)
    _check_total({n: _size(p) for n, p in found.items()})
    with tempfile.TemporaryDirectory(prefix="latent-lab-ckpt-") as tmp:
        # copy first: what is checked is what is loaded, even if the upload changes meanwhile
        local = {n: Path(shutil.copyfile(p, Path(tmp) / n)) for n, p in found.items()}
        _check_total({n: _size(p) for n, p in local.items()})
        return _load(local, label)
