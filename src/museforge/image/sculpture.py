"""Procedural sculpture: watertight 3-D forms from a prompt's motifs and mood, as GLB, STL and PNG.

Three forms, each a closed 2-manifold by construction:

superformula
    Gielis' superformula as a spherical product, mapped onto a subdivided icosphere (the map keeps
    the sphere's topology, so the mesh stays watertight). Arousal raises the symmetry count and
    sharpens the lobes into spikes; valence rounds them.
tree
    A 3-D branching (L-system-like) skeleton of tapered capsules and leaf clusters on a plinth,
    smoothly unioned into one implicit field and meshed with marching cubes (scikit-image), so the
    whole tree is one manifold. Arousal spreads and twists the branches; valence adds foliage.
organic
    An icosphere displaced along its radii by random waves and lobes, then smoothed: arousal adds
    high-frequency ripples, valence smooths them away.

Units and axes: every sculpture is a tabletop piece ``HEIGHT_M`` (0.3 m) tall. The GLB is in
metres and Y-up, as glTF requires, with vertex normals, vertex colours from the mood palette and
one PBR material (``pbrMetallicRoughness``: a white base colour factor, so the vertex colours show
as they are, unmetallic, a satin roughness: glazed ceramic). The binary STL is in millimetres
(``HEIGHT`` = 300 mm) and Z-up, as slicers expect; its 80-byte header says so. ``render_preview``
is a small painter's-algorithm rasteriser (PIL), so no OpenGL is needed. All randomness comes
from the engine's generator.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from museforge.emotion import ArtDirection, art_direction
from museforge.engines import Artifact, Engine, OutputFile, Request, param
from museforge.errors import MuseforgeError
from museforge.image.procedural.canvas import png_bytes, to_rgb01
from museforge.image.procedural.motifs import find_motifs
from museforge.runtime import numpy_rng

FORMS = ("superformula", "tree", "organic")
HEIGHT_M = 0.3
"""Height of every sculpture in metres: a tabletop piece (the GLB's unit)."""
HEIGHT = HEIGHT_M * 1000.0
"""The same height in millimetres: the unit of the Z-up mesh and of the STL."""
MATERIAL = {
    "name": "museforge-glaze",
    "pbrMetallicRoughness": {"baseColorFactor": [1.0, 1.0, 1.0, 1.0], "metallicFactor": 0.0,
                             "roughnessFactor": 0.55},
    "doubleSided": False,
}
"""The GLB's one material: the base colour factor multiplies the vertex colours (white keeps
them), no metal, a satin finish."""
STL_HEADER = b"museforge sculpture; units: millimetres; Z up"


@dataclass(frozen=True)
class SculptParams:
    form: str = param("auto", "auto (from the prompt's motifs and the mood) or a form",
                      choices=("auto", *FORMS))
    detail: int = param(2, "mesh resolution: 1 coarse and fast, 2 default, 3 fine", range=(1, 3))


def _trimesh() -> Any:
    """The trimesh module, imported late so the painter never needs it."""
    try:
        import trimesh
    except ImportError:
        raise MuseforgeError("sculpture needs trimesh; run: pip install trimesh") from None
    return trimesh


def choose_form(motifs: tuple[str, ...], arousal: float) -> str:
    """The form ``auto`` picks: trees for plants, flowing blobs for water and sky, else a solid.

    >>> choose_form(("forest",), 0.0)
    'tree'
    >>> choose_form(("night", "storm", "sea"), 0.5)
    'organic'
    """
    m = set(motifs)
    if m & {"forest", "tree", "flower"}:
        return "tree"
    if m & {"sea", "river", "cloud", "storm", "snow"}:
        return "organic"
    if m:
        return "superformula"
    return "superformula" if arousal > 0 else "organic"


# ---------------------------------------------------------------- forms


def superformula(phi: np.ndarray, m: float, n1: float, n2: float, n3: float) -> np.ndarray:
    """Gielis' radius ``r(phi)`` with ``a = b = 1``."""
    t = m * phi / 4.0
    v = np.abs(np.cos(t)) ** n2 + np.abs(np.sin(t)) ** n3
    return np.power(np.maximum(v, 1e-9), -1.0 / n1)


def _vertex_smooth(values: np.ndarray, edges: np.ndarray, iterations: int) -> np.ndarray:
    """Average a per-vertex array with its neighbours ``iterations`` times."""
    n = len(values)
    deg = np.bincount(edges.ravel(), minlength=n).astype(np.float64)
    for _ in range(iterations):
        acc = np.zeros_like(values)
        np.add.at(acc, edges[:, 0], values[edges[:, 1]])
        np.add.at(acc, edges[:, 1], values[edges[:, 0]])
        values = 0.5 * values + 0.5 * acc / deg.reshape((-1,) + (1,) * (values.ndim - 1))
    return values


def superformula_solid(rng: np.random.Generator, arousal01: float, valence01: float,
                       detail: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and faces of a superformula spherical product."""
    tm = _trimesh()
    sphere = tm.creation.icosphere(subdivisions=3 + detail)
    p = np.asarray(sphere.vertices, np.float64)
    theta = np.arctan2(p[:, 1], p[:, 0])
    phi = np.arcsin(np.clip(p[:, 2], -1, 1))
    a, v = arousal01, valence01
    m1 = float(max(3, int(3 + round(5 * a + rng.uniform(-1, 1)))))
    n1 = (0.25 + 2.2 * (1 - a)) * (0.7 + 0.6 * v) * rng.uniform(0.85, 1.15)  # small: spikes
    n2 = n1 * rng.uniform(1.2, 3.0) + 0.4
    n3 = n2 * rng.uniform(0.8, 1.25)
    r1 = superformula(theta, m1, n1, n2, n3)
    m2 = float(rng.choice([2.0, 4.0]))
    r2 = superformula(phi, m2, 2 * n1 + 2, 2 * n2 + 2, 2 * n3 + 2)
    r1, r2 = r1 / r1.max(), r2 / r2.max()
    r1, r2 = np.clip(r1, 0.12, 1), np.clip(r2, 0.12, 1)
    verts = np.stack([r1 * np.cos(theta) * r2 * np.cos(phi), r1 * np.sin(theta) * r2 * np.cos(phi),
                      r2 * np.sin(phi) * rng.uniform(0.8, 1.3)], 1)
    return verts, np.asarray(sphere.faces)


def organic_form(rng: np.random.Generator, arousal01: float, valence01: float,
                 detail: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and faces of a smoothed, wave- and lobe-displaced sphere."""
    tm = _trimesh()
    sphere = tm.creation.icosphere(subdivisions=3 + detail)
    p = np.asarray(sphere.vertices, np.float64)
    a, v = arousal01, valence01
    r = np.ones(len(p))
    for _ in range(int(3 + rng.integers(0, 3))):  # big lobes
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        r += rng.uniform(0.15, 0.45) * np.exp((p @ d - 1) / rng.uniform(0.12, 0.35))
    k = 24
    freq = rng.normal(size=(k, 3)) * (1.5 + 7.0 * a)
    phase = rng.uniform(0, 2 * np.pi, k)
    amp = rng.uniform(0.5, 1.0, k) / np.sqrt(1 + np.linalg.norm(freq, axis=1)) * (0.05 + 0.35 * a)
    r += np.sin(p @ freq.T + phase) @ amp
    r = _vertex_smooth(r, np.asarray(sphere.edges_unique), int(2 + 14 * v))
    r = np.maximum(r, 0.25)
    verts = p * r[:, None]
    verts[:, 2] *= rng.uniform(1.0, 1.5)
    return verts, np.asarray(sphere.faces)


@dataclass
class Branch:
    start: np.ndarray
    end: np.ndarray
    r0: float
    r1: float


def tree_skeleton(rng: np.random.Generator, arousal01: float, valence01: float,
                  depth: int) -> tuple[list[Branch], list[tuple[np.ndarray, float]]]:
    """A branching skeleton (tapered segments) and leaf clusters, the trunk rising along +z."""
    a, v = arousal01, valence01
    spread = np.radians(22 + 25 * a)
    branches: list[Branch] = []
    leaves: list[tuple[np.ndarray, float]] = []

    def grow(p: np.ndarray, d: np.ndarray, length: float, radius: float, level: int) -> None:
        bend = rng.normal(0, 0.08 + 0.25 * a, 3)
        d = d + bend
        d[2] = max(d[2], 0.15)  # keep growing upward
        d /= np.linalg.norm(d)
        end = p + d * length
        branches.append(Branch(p, end, radius, radius * 0.72))
        if level == depth:
            if v > 0.25:
                leaves.append((end, length * (0.3 + 0.4 * v)))
            return
        n = 2 if rng.random() < 0.6 else 3
        base_rot = rng.uniform(0, 2 * np.pi)
        helper = np.array([1.0, 0, 0]) if abs(d[0]) < 0.9 else np.array([0, 1.0, 0])
        u = np.cross(d, helper)
        u /= np.linalg.norm(u)
        w = np.cross(d, u)
        for i in range(n):
            rot = base_rot + 2 * np.pi * i / n + rng.normal(0, 0.3)
            side = np.cos(rot) * u + np.sin(rot) * w
            ang = spread * rng.uniform(0.7, 1.3)
            child = np.cos(ang) * d + np.sin(ang) * side
            grow(end, child, length * rng.uniform(0.68, 0.82), radius * 0.72, level + 1)

    grow(np.zeros(3), np.array([0.0, 0.0, 1.0]), 0.34, 0.075, 0)
    return branches, leaves


def _segment_distance(pts: np.ndarray, b: Branch) -> np.ndarray:
    ab = b.end - b.start
    t = np.clip(((pts - b.start) @ ab) / max(float(ab @ ab), 1e-12), 0, 1)
    closest = b.start + t[:, None] * ab
    return np.linalg.norm(pts - closest, axis=1) - (b.r0 + (b.r1 - b.r0) * t)


def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum: a union that fillets the joints."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0, 1)
    return b + (a - b) * h - k * h * (1 - h)


def tree_form(rng: np.random.Generator, arousal01: float, valence01: float,
              detail: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and faces of a tree on a plinth, meshed from one implicit field."""
    try:
        from skimage.measure import marching_cubes
    except ImportError:
        raise MuseforgeError("the tree form needs scikit-image; run: pip install scikit-image, "
                             "or choose --form superformula or organic") from None
    depth = 3 + detail
    branches, leaves = tree_skeleton(rng, arousal01, valence01, depth)
    pts = np.array([p for b in branches for p in (b.start, b.end)] + [c for c, _ in leaves])
    reach = max(float(np.abs(pts[:, :2]).max()) + 0.15, 0.3)
    top = float(pts[:, 2].max()) + 0.15
    n = (56, 84, 128)[detail - 1]
    vox = max(2 * reach, top + 0.1) / n
    min_r = 1.1 * vox
    xs = np.arange(-reach, reach + vox, vox)
    zs = np.arange(-0.1, top + vox, vox)
    grid = np.stack(np.meshgrid(xs, xs, zs, indexing="ij"), -1)
    shape = grid.shape[:3]
    flat = grid.reshape(-1, 3)
    # plinth: a low rounded disc
    rad = np.linalg.norm(flat[:, :2], axis=1)
    field_ = np.maximum(rad - min(reach * 0.5, 0.22), np.abs(flat[:, 2] + 0.03) - 0.05) - 0.01
    k = 2.5 * vox
    for b in branches:
        b.r0, b.r1 = max(b.r0, min_r), max(b.r1, min_r)
        lo = np.minimum(b.start, b.end) - b.r0 - k
        hi = np.maximum(b.start, b.end) + b.r0 + k
        sel = np.all((flat >= lo) & (flat <= hi), axis=1)
        field_[sel] = _smin(field_[sel], _segment_distance(flat[sel], b), k)
    for c, r in leaves:
        sel = np.all(np.abs(flat - c) <= 1.6 * r + k, axis=1)
        q = flat[sel] - c
        wobble = 0.12 * r * np.sin(q @ rng.normal(0, 9, 3) + rng.uniform(0, 6))
        blob = np.linalg.norm(q * [1, 1, 1.3], axis=1) - 0.55 * r + wobble
        field_[sel] = _smin(field_[sel], blob, 2 * k)
    vol = np.pad(field_.reshape(shape), 1, constant_values=1.0)
    verts, faces, _, _ = marching_cubes(vol, 0.0, spacing=(vox, vox, vox), method="lewiner")
    verts = verts - vox + np.array([xs[0], xs[0], zs[0]])
    return verts, faces


# ---------------------------------------------------------------- mesh, files, preview


def _largest_piece(verts: np.ndarray, faces: np.ndarray) -> Any:
    tm = _trimesh()
    mesh = tm.Trimesh(verts, faces, process=True)
    parts = mesh.split(only_watertight=False)
    if len(parts) > 1:
        mesh = max(parts, key=lambda m: len(m.faces))
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def normalise(mesh: Any) -> Any:
    """Scale to ``HEIGHT`` tall, centred in x and y, standing on z = 0."""
    lo, hi = mesh.bounds
    mesh.apply_translation([-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]])
    mesh.apply_scale(HEIGHT / max(hi[2] - lo[2], 1e-9))
    return mesh


def colour_by_height(verts: np.ndarray, direction: ArtDirection) -> np.ndarray:
    """RGBA vertex colours: the palette from dark (bottom) to light (top)."""
    pal = np.array([to_rgb01(c) for c in direction.palette[1:5]])
    t = (verts[:, 2] - verts[:, 2].min()) / max(float(np.ptp(verts[:, 2])), 1e-9)
    x = t * (len(pal) - 1)
    i = np.clip(x.astype(int), 0, len(pal) - 2)
    f = (x - i)[:, None]
    rgb = pal[i] * (1 - f) + pal[i + 1] * f
    return np.concatenate([np.round(rgb * 255), np.full((len(t), 1), 255)], 1).astype(np.uint8)


def render_preview(verts: np.ndarray, faces: np.ndarray, colours: np.ndarray,
                   direction: ArtDirection, size: int = 512) -> Image.Image:
    """A flat-shaded view of a Z-up mesh by the painter's algorithm, supersampled twice."""
    ss = size * 2
    az, el = np.radians(35.0), np.radians(18.0)
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(el), -np.sin(el)], [0, np.sin(el), np.cos(el)]])
    p = (verts - verts.mean(0)) @ (rx @ rz).T  # camera looks along +y; z is up on screen
    tri = p[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-12
    front = n[:, 1] < 0
    light = np.array([-0.45, -0.75, 0.5])
    light /= np.linalg.norm(light)
    lam = np.clip(n @ light, 0, 1)
    rim = np.clip(1 + n[:, 1], 0, 1) ** 3 * 0.15
    base = colours[faces, :3].mean(1) / 255.0
    shade = np.clip(base * (0.28 + 0.8 * lam[:, None]) + rim[:, None], 0, 1)
    extent = max(float(np.ptp(p[:, 0])), float(np.ptp(p[:, 2]))) * 1.25
    scale = ss / extent
    cx, cz = (p[:, 0].max() + p[:, 0].min()) / 2, (p[:, 2].max() + p[:, 2].min()) / 2
    sx = (tri[..., 0] - cx) * scale + ss / 2
    sy = ss / 2 - (tri[..., 2] - cz) * scale
    pal = [to_rgb01(c) for c in direction.palette]
    top = 0.25 * pal[4] + 0.75 * np.array([0.96, 0.95, 0.92])
    low = 0.4 * pal[2] + 0.6 * np.array([0.80, 0.79, 0.76])
    g = np.linspace(0, 1, ss)[:, None, None]
    bg = np.broadcast_to(top * (1 - g) + low * g, (ss, ss, 3))
    img = Image.fromarray(np.round(bg * 255).astype(np.uint8), "RGB")
    shadow = Image.new("L", (ss, ss), 0)
    foot = ss / 2 - (p[:, 2].min() - cz) * scale
    half = (p[:, 0].max() - p[:, 0].min()) * scale * 0.5
    ImageDraw.Draw(shadow).ellipse([ss / 2 - half, foot - half * 0.12, ss / 2 + half,
                                    foot + half * 0.12], fill=110)
    shadow = shadow.filter(ImageFilter.GaussianBlur(ss / 60))
    img.paste((40, 38, 44), (0, 0), shadow)
    d = ImageDraw.Draw(img)
    order = np.argsort(-tri[:, :, 1].mean(1), kind="stable")
    order = order[front[order]]
    cols = np.round(shade * 255).astype(int).tolist()
    xy = np.stack([sx, sy], -1).tolist()
    for i in order.tolist():
        c = tuple(cols[i])
        d.polygon([tuple(v) for v in xy[i]], fill=c, outline=c)
    return img.resize((size, size), Image.Resampling.LANCZOS)


@dataclass
class Sculpture:
    """A finished sculpture: the Z-up mesh, its vertex colours and its form."""

    mesh: Any
    colours: np.ndarray
    form: str


def sculpt(prompt: str, direction: ArtDirection, arousal: float, valence: float, form: str,
           detail: int, rng: np.random.Generator) -> Sculpture:
    """Model one sculpture; ``form`` is ``auto`` or one of ``FORMS``."""
    if form != "auto" and form not in FORMS:
        raise MuseforgeError(f"unknown form {form!r}; choose auto or one of: {', '.join(FORMS)}")
    if detail not in (1, 2, 3):
        raise MuseforgeError(f"detail must be 1, 2 or 3, got {detail!r}")
    motifs = find_motifs(prompt)
    form = choose_form(motifs, arousal) if form == "auto" else form
    a01, v01 = (arousal + 1) / 2, (valence + 1) / 2
    make = {"superformula": superformula_solid, "tree": tree_form, "organic": organic_form}[form]
    verts, faces = make(rng, a01, v01, detail)
    mesh = normalise(_largest_piece(verts, faces))
    if not mesh.is_watertight:
        raise AssertionError(f"the {form} mesh is not watertight")
    return Sculpture(mesh, colour_by_height(np.asarray(mesh.vertices), direction), form)


def _with_material(tree: dict) -> None:
    """glTF tree post-processor: every primitive gets ``MATERIAL``."""
    tree["materials"] = [MATERIAL]
    for mesh in tree.get("meshes", []):
        for prim in mesh["primitives"]:
            prim["material"] = 0


def glb_bytes(mesh: Any, colours: np.ndarray) -> bytes:
    """The Z-up millimetre ``mesh`` as a GLB in metres, Y-up (x, z, -y), with vertex normals,
    vertex colours and ``MATERIAL``."""
    tm = _trimesh()
    v = np.asarray(mesh.vertices) / 1000.0
    gl = tm.Trimesh(np.stack([v[:, 0], v[:, 2], -v[:, 1]], 1), np.asarray(mesh.faces),
                    vertex_colors=colours, process=False)
    return gl.export(file_type="glb", include_normals=True, tree_postprocessor=_with_material)


def stl_bytes(mesh: Any) -> bytes:
    """Binary STL in millimetres, Z-up, its header naming the unit."""
    data = bytearray(mesh.export(file_type="stl"))
    data[:80] = STL_HEADER.ljust(80, b" ")
    return bytes(data)


def export_files(s: Sculpture, direction: ArtDirection, preview_size: int = 512) -> list[OutputFile]:
    """GLB (metres, Y-up, normals, vertex colours, a PBR material), binary STL (millimetres,
    Z-up) and a PNG preview."""
    stl = stl_bytes(s.mesh)
    glb = glb_bytes(s.mesh, s.colours)
    v = np.asarray(s.mesh.vertices)
    preview = render_preview(v, np.asarray(s.mesh.faces), s.colours, direction, preview_size)
    return [OutputFile("sculpture.glb", glb, "model/gltf-binary"),
            OutputFile("sculpture.stl", stl, "model/stl"),
            OutputFile("preview.png", png_bytes(preview), "image/png")]


class ProceduralSculpture(Engine):
    """Rule-based 3-D forms; an engine so ``run_engine`` records and embeds its provenance."""

    name = "procedural-sculpture"
    modality = "sculpture"
    version = "1"
    description = "rule-based watertight 3-D forms: superformula solids, branching trees, organic blobs"
    Params = SculptParams
    priority = 0

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        p: SculptParams = request.params
        direction = art_direction(request.emotion)
        rng = numpy_rng(generator)
        request.progress("sculpting", 0.0)
        s = sculpt(request.prompt, direction, request.emotion.arousal, request.emotion.valence,
                   p.form, p.detail, rng)
        request.progress("sculpting", 0.7)
        files = export_files(s, direction)
        request.progress("sculpting", 1.0)
        summary = {"form": s.form, "vertices": len(s.mesh.vertices), "faces": len(s.mesh.faces),
                   "watertight": bool(s.mesh.is_watertight),
                   "volume": round(float(s.mesh.volume), 1), "height": HEIGHT,
                   "units": "mm (STL), m (GLB)",
                   "motifs": list(find_motifs(request.prompt))}
        return Artifact("sculpture", files, summary)


def load_mesh(data: bytes, file_type: str) -> Any:
    """A mesh read back from GLB or STL bytes (for checks and tests)."""
    return _trimesh().load(io.BytesIO(data), file_type=file_type, force="mesh")
