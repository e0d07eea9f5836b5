"""Seeding, devices, progress reporting and the library versions a result depends on."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from museforge.errors import MuseforgeError
from museforge.hashing import sha256_bytes as sha256_bytes  # re-exported: tests/test_work.py imports it here

if TYPE_CHECKING:  # torch and numpy load on first use, so light commands start fast
    import numpy as np
    import torch

Progress = Callable[[str, float], None]
"""``progress(stage, fraction)``: fraction in [0, 1] of the named stage."""

TRACKED_LIBRARIES = ("museforge", "torch", "numpy", "pillow", "mido", "music21", "pypinyin")


def no_progress(stage: str, fraction: float) -> None:
    """The default progress callback: says nothing."""


MAX_SEED = 2**53 - 1
"""The largest seed: every seed a record holds stays exact in JSON readers and web pages."""


def check_seed(seed: int) -> int:
    """``seed`` when it lies in 0..MAX_SEED, else a one-line error.

    >>> check_seed(2**53)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    museforge.errors.MuseforgeError: seed 9007199254740992 is out of range: ... 0 to 9007199254740991
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise MuseforgeError(f"seed {seed} is out of range: use a whole number from 0 to {MAX_SEED}")
    return seed


def resolve_seed(seed: int | None) -> int:
    """The seed asked for (checked), or a fresh random one (recorded, so it can be replayed)."""
    return check_seed(seed) if seed is not None else secrets.randbelow(2**31)


def make_generator(seed: int) -> torch.Generator:
    """One seed becomes one CPU ``torch.Generator``, threaded through every random step."""
    import torch

    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    return gen


def derive_seed(seed: int, name: str) -> int:
    """A 63-bit seed for one named part of a job, stable whatever other parts exist.

    >>> derive_seed(7, "image") == derive_seed(7, "image")
    True
    >>> derive_seed(7, "image") != derive_seed(7, "music")
    True
    """
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def numpy_rng(generator: torch.Generator) -> np.random.Generator:
    """A numpy generator drawn from (and advancing) the torch generator, for numpy-side code."""
    import numpy as np
    import torch

    seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
    return np.random.default_rng(seed)


DEVICES = "cpu, cuda, cuda:N, mps or auto"


def choose_device(requested: str | None = None) -> torch.device:
    """CPU unless asked otherwise; ``"auto"`` picks CUDA when present. A one-line error for a
    device that is unknown or absent here (CUDA asked for on a machine without it)."""
    import torch

    if requested in (None, "", "cpu"):
        return torch.device("cpu")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    kind, colon, index = requested.partition(":")
    numbered = kind == "cuda" and index.isascii() and index.isdigit()
    if kind not in ("cuda", "mps") or (colon and not numbered):
        raise MuseforgeError(f"unknown device {requested[:40]!r}; use {DEVICES}")
    if kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise MuseforgeError("device 'mps' asked for but Apple's Metal is not available; "
                                 "use --device cpu")
        return torch.device("mps")
    if not torch.cuda.is_available():
        raise MuseforgeError(f"device {requested!r} asked for but CUDA is not available; use --device cpu")
    count = torch.cuda.device_count()
    if colon and int(index) >= count:
        raise MuseforgeError(f"device {requested!r} asked for but this machine has {count} CUDA device(s): "
                             f"cuda:0 to cuda:{count - 1}")
    return torch.device(requested)


def check_device(requested: str | None = None) -> str:
    """The device a job runs on and records, checked: ``"cpu"`` without importing torch, any
    other through :func:`choose_device` (``"auto"`` becomes ``"cuda"`` or ``"cpu"``).

    >>> check_device("cpu")
    'cpu'
    """
    if requested in (None, "", "cpu"):
        return "cpu"
    return str(choose_device(requested))


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour decides the bytes of an artifact."""
    versions = {"python": platform.python_version()}
    for name in TRACKED_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def models_root() -> Path:
    """Where shipped models live: ``$MUSEFORGE_MODELS``, else the ``models/`` folder of this checkout."""
    env = os.environ.get("MUSEFORGE_MODELS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "models"

