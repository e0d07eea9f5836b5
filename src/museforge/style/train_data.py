"""Training data for the style networks, all offline: the photos bundled with scikit-image,
scikit-learn, matplotlib and Debian's opencv-doc and darknet (less a held-out set), paintings
rendered by museforge's own procedural engine, seeded augmentation, and a manifest (name, size,
pixel hash per image) whose hash goes into a model's metadata. Shared by
``recipes/style_adain.py``, ``recipes/style_fast.py`` and ``museforge train style``.
"""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from museforge.hashing import sha256_bytes
from museforge.style import io as sio

SKIMAGE_PHOTOS = (
    "camera", "chelsea", "coffee", "coins", "rocket", "hubble_deep_field", "immunohistochemistry",
    "moon", "page", "text", "brick", "grass", "gravel", "colorwheel", "retina",
)  # fmt: skip
"""scikit-image's sample photos used for training; the astronaut is held out (see HELD_OUT)."""
PHOTO_FOLDERS = {
    "opencv-doc": "usr/share/doc/opencv-doc/examples/data",
    "darknet": "usr/share/darknet/data",
}
"""Debian packages' sample photos, by package: folders under a root (``/`` when installed, or
where ``dpkg-deb -x`` unpacked the package)."""
HELD_OUT = (
    "skimage:astronaut",
    *(f"darknet:{n}.jpg" for n in ("dog", "eagle", "giraffe", "horses", "kite", "person")),
    "opencv-doc:baboon.jpg",
    "opencv-doc:fruits.jpg",
    "opencv-doc:butterfly.jpg",
    "opencv-doc:aero1.jpg",
    "opencv-doc:apple.jpg",
    "opencv-doc:orange.jpg",
    "opencv-doc:building.jpg",
    "opencv-doc:home.jpg",
    "opencv-doc:messi5.jpg",
    "opencv-doc:squirrel_cls.jpg",
    "opencv-doc:leuvenA.jpg",
    "opencv-doc:chicky_512.png",
    "opencv-doc:smarties.png",
    "opencv-doc:graf1.png",
    "opencv-doc:aloeL.jpg",
    "opencv-doc:rubberwhale1.png",
    "opencv-doc:left.jpg",
)
"""Photos no style network is trained on: the unseen-photo benchmark (``benchmarks/fast_quality.py``)."""
NEAR_DUPLICATES = frozenset(
    f"opencv-doc:{n}" for n in ("leuvenB.jpg", "aloeR.jpg", "rubberwhale2.png", "right.jpg", "graf3.png")
)
"""Second views of held-out scenes (stereo pairs, the same wall): never trained on either."""
NOT_CONTENT = re.compile(r"starry_night|scream|(left|right)\d\d")
"""The paintings (styles, not content) and camera-calibration chessboards among the packages' files."""
PROMPTS = ("a stormy sea at night", "flowers in a quiet garden", "a city of towers", "a mountain river")
MOODS = ("serene", "joyful", "tense", "mysterious")


def _package_photos(root: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """name -> file of the Debian packages' photos found under ``root``."""
    found: dict[str, Path] = {}
    for package, folder in PHOTO_FOLDERS.items():
        base = root / folder
        for p in sorted(base.iterdir()) if base.is_dir() else []:
            if p.suffix in suffixes and not NOT_CONTENT.fullmatch(p.stem):
                found[f"{package}:{p.name}"] = p
    return found


def _fit_all(photos: dict[str, Image.Image], max_edge: int) -> dict[str, Image.Image]:
    return {k: sio.fit(v, max_edge) if max(v.size) > max_edge else v for k, v in photos.items()}


def content_photos(max_edge: int = 512, root: Path = Path("/")) -> dict[str, Image.Image]:
    """Bundled photos that load offline, by name, less the held-out ones (:data:`HELD_OUT`) and
    their second views; absent packages and images that would need a download are skipped."""
    photos: dict[str, Image.Image] = {}
    try:
        from skimage import data
    except ImportError:
        data = None
    for name in SKIMAGE_PHOTOS if data is not None else ():
        try:
            arr = getattr(data, name)()
        except Exception:  # fetched by pooch: absent offline
            continue
        photos[f"skimage:{name}"] = Image.fromarray(np.asarray(arr)).convert("RGB")
    try:
        from sklearn.datasets import load_sample_images

        for i, arr in enumerate(load_sample_images().images):
            photos[f"sklearn:{('china', 'flower')[i]}"] = Image.fromarray(arr).convert("RGB")
    except ImportError:
        pass
    try:
        import matplotlib.cbook

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
            photos["matplotlib:grace_hopper"] = Image.open(f).convert("RGB")
    except (ImportError, OSError):
        pass
    for name, path in _package_photos(root, (".jpg",)).items():
        if name not in HELD_OUT and name not in NEAR_DUPLICATES:
            photos[name] = Image.open(path).convert("RGB")
    return _fit_all(photos, max_edge)


def held_out_photos(max_edge: int = 512, root: Path = Path("/")) -> dict[str, Image.Image]:
    """The :data:`HELD_OUT` photos found (scikit-image's astronaut; the Debian packages' photos
    under ``root``), in that order."""
    found: dict[str, Image.Image] = {}
    files = _package_photos(root, (".jpg", ".png"))
    for name in HELD_OUT:
        if name == "skimage:astronaut":
            try:
                from skimage import data
            except ImportError:
                continue
            found[name] = Image.fromarray(data.astronaut()).convert("RGB")
        elif name in files:
            found[name] = Image.open(files[name]).convert("RGB")
    return _fit_all(found, max_edge)


def procedural_painting(style: str, prompt: str, mood: str, seed: int, size: int) -> Image.Image:
    """One painting by museforge's procedural engine: deterministic for its arguments."""
    from museforge.emotion import Emotion
    from museforge.engines import Request
    from museforge.image.procedural import ProceduralPainting, ProceduralParams
    from museforge.runtime import make_generator

    req = Request(prompt, "en", Emotion(mood, 0.0, 0.0), seed, ProceduralParams(style=style, size=size))
    art = ProceduralPainting().run(req, make_generator(seed))
    return Image.open(io.BytesIO(art.files[0].data)).convert("RGB")


def procedural_paintings(count: int, seed: int, size: int = 320) -> dict[str, Image.Image]:
    """``count`` paintings per procedural style, prompts and moods cycling, seeds ``seed + i``."""
    from museforge.image.procedural import STYLES

    return {
        f"procedural:{style}:{i}": procedural_painting(
            style, PROMPTS[i % len(PROMPTS)], MOODS[i % len(MOODS)], seed + i, size
        )
        for i in range(count)
        for style in STYLES
    }


def manifest(images: dict[str, Image.Image]) -> tuple[str, list[dict[str, str]]]:
    """(hash of the whole set, one row per image: name, size, sha256 of its pixels)."""
    rows = [
        {"name": k, "size": f"{v.width}x{v.height}", "sha256": sha256_bytes(v.tobytes())[:16]}
        for k, v in sorted(images.items())
    ]
    return sha256_bytes(json.dumps(rows).encode()), rows


class Augment:
    """Random crop (6-100 % of the short side's area), flip and colour jitter, from a seeded
    generator."""

    def __init__(self, images: list[Image.Image], size: int, jitter: float, gen: torch.Generator) -> None:
        self.tensors = [sio.to_tensor(im) for im in images]
        self.size, self.jitter, self.gen = size, jitter, gen

    def _u(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=self.gen))

    def one(self) -> torch.Tensor:
        x = self.tensors[int(torch.randint(len(self.tensors), (), generator=self.gen))]
        h, w = x.shape[-2:]
        side = max(16, int(min(h, w) * math.sqrt(self._u(0.06, 1.0))))
        top = int(torch.randint(h - side + 1, (), generator=self.gen))
        left = int(torch.randint(w - side + 1, (), generator=self.gen))
        crop = x[..., top : top + side, left : left + side]
        size = (self.size, self.size)
        crop = F.interpolate(crop, size=size, mode="bilinear", antialias=True, align_corners=False)
        if self._u(0, 1) < 0.5:
            crop = crop.flip(-1)
        j = self.jitter
        if j:
            gray = crop.mean(1, keepdim=True)
            crop = gray + (crop - gray) * self._u(1 - j, 1 + j)  # saturation
            crop = (crop - crop.mean()) * self._u(1 - j, 1 + j) + crop.mean()  # contrast
            crop = crop * self._u(1 - j / 2, 1 + j / 2)  # brightness
            gains = torch.tensor([self._u(1 - j / 4, 1 + j / 4) for _ in range(3)]).view(1, 3, 1, 1)
            crop = crop * gains  # a little colour cast
        return crop.clamp(0, 1)

    def batch(self, n: int) -> torch.Tensor:
        return torch.cat([self.one() for _ in range(n)])
