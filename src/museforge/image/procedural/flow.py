"""Flow-field brushwork: thick, swirling strokes that follow a noise field, after Van Gogh.

The motif scene is laid in as a soft underpainting, then three passes of strokes (broad, medium,
fine) follow a direction field made of fractal-noise swirls bent along the scene's contours and
whirling around the sun or moon. Each stroke takes its colour from the scene with a small
broken-colour jitter; a height map of the strokes lights the surface like impasto.
Stroke energy (arousal) sets stroke count, length, curl and colour jitter.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from museforge.image.procedural.brush import (
    direction_field,
    draw_strokes,
    impasto,
    sample,
    trace,
)
from museforge.image.procedural.canvas import (
    Context,
    Painting,
    apply_contrast,
    blur,
    canvas_weave,
    from_image,
    to_image,
    vignette,
)
from museforge.image.procedural.motifs import build_scene


def paint(ctx: Context) -> Painting:
    s, rng, e = ctx.size, ctx.rng, ctx.direction.stroke_energy
    scene = build_scene(ctx.motifs, ctx.direction, s, rng)
    ctx.progress("painting", 0.2)
    ref = apply_contrast(scene.image, ctx.direction.contrast)
    field = direction_field(rng, ref, swirl=0.6 + 1.2 * e, cells=2.5 + 3 * e,
                            structure=1.0 - 0.4 * e, vortex=scene.light,
                            hint=scene.hint)
    under = blur(ref, s / 60)
    canvas = to_image(under)
    height = Image.new("L", (s, s), 128)
    passes = ((s / 38, 0.55), (s / 70, 0.8), (s / 140, 1.0))
    for i, (w0, cover) in enumerate(passes):
        width = max(w0, 1.5)  # finer than this only multiplies strokes on small canvases
        n = int((s / width) ** 2 * cover * ctx.density * (0.9 + 1.4 * e))
        if i == 2:
            # fine strokes where the scene has detail
            lum_grad = np.abs(np.gradient(blur(ref.mean(-1), 1.5))[0]) + np.abs(
                np.gradient(blur(ref.mean(-1), 1.5))[1])
            prob = (lum_grad + lum_grad.mean() * 0.5).ravel()
            idx = rng.choice(s * s, size=n, p=prob / prob.sum())
            seeds = np.stack([idx % s, idx // s], axis=1).astype(np.float32)
            seeds += rng.uniform(0, 1, seeds.shape).astype(np.float32)
        else:
            seeds = rng.uniform(0, s, (n, 2)).astype(np.float32)
        steps = 4 + round(4 * e) + (2 if i == 0 else 0)
        step_len = width * rng.uniform(0.45, 0.85, n) * (0.7 + 0.6 * e)
        jitter = rng.normal(0, 0.05 + 0.2 * e, (n, steps)).astype(np.float32)
        paths = trace(field, seeds, steps, step_len, jitter)
        mid = paths[:, steps // 2]
        colours = sample(ref, mid)
        jit = rng.normal(0, 0.025 + 0.05 * e, (n, 3)) + rng.normal(0, 0.04 + 0.06 * e, (n, 1))
        colours = np.clip(colours * (1 + jit), 0, 1)
        widths = width * rng.uniform(0.7, 1.2, n)
        draw_strokes(canvas, height, paths, colours, widths, rng, curve=i < 2)
        ctx.progress("painting", 0.3 + 0.2 * (i + 1))
    img = from_image(canvas)
    img = impasto(img, height, strength=(0.5 + 0.5 * e) * ctx.texture)
    img = img * canvas_weave(s, s, 0.025 * ctx.texture, period=max(3, s // 250))
    img = img * vignette(s, s, 0.25)
    return Painting(to_image(img))
