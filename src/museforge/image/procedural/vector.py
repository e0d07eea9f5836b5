"""A tiny vector layer: shapes that render both to a Pillow raster and to SVG text."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw

from museforge.image.procedural.canvas import RGB


@dataclass
class Shape:
    """``kind`` is "polygon", "circle" (pts = [(cx, cy)], radius) or "line" (an open polyline)."""

    kind: str
    pts: list[tuple[float, float]]
    fill: RGB | None = None
    stroke: RGB | None = None
    width: float = 0.0
    radius: float = 0.0
    opacity: float = 1.0


def _hex(c: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*c)


def render(shapes: list[Shape], size: int, background: RGB, supersample: int = 2) -> Image.Image:
    """Rasterise ``shapes`` with anti-aliasing by supersampling."""
    k = supersample
    img = Image.new("RGB", (size * k, size * k), background)
    d = ImageDraw.Draw(img)
    for sh in shapes:
        pts = [(x * k, y * k) for x, y in sh.pts]
        if sh.opacity < 1.0:
            layer = Image.new("L", img.size, 0)
            ld = ImageDraw.Draw(layer)
            _draw(ld, sh, pts, k, mask=True)
            colour = sh.fill or sh.stroke or (0, 0, 0)
            layer = layer.point(lambda v, o=sh.opacity: int(v * o))
            img.paste(colour, (0, 0), layer)
            continue
        _draw(d, sh, pts, k)
    return img.resize((size, size), Image.Resampling.LANCZOS) if k > 1 else img


def _draw(d: ImageDraw.ImageDraw, sh: Shape, pts: list[tuple[float, float]], k: int,
          mask: bool = False) -> None:
    fill = 255 if mask and sh.fill else sh.fill
    stroke = 255 if mask and sh.stroke else sh.stroke
    w = max(1, round(sh.width * k)) if sh.stroke else 0
    if sh.kind == "polygon":
        d.polygon(pts, fill=fill, outline=stroke, width=w)
    elif sh.kind == "circle":
        (cx, cy), r = pts[0], sh.radius * k
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill, outline=stroke, width=w)
    elif sh.kind == "line":
        d.line(pts, fill=stroke, width=w, joint="curve")


def to_svg(shapes: list[Shape], size: int, background: RGB, title: str = "") -> str:
    """SVG 1.1 text for the same shapes (no timestamps; provenance is added by the Work)."""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
           f'viewBox="0 0 {size} {size}">']
    if title:
        esc = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out.append(f"<title>{esc}</title>")
    out.append(f'<rect width="{size}" height="{size}" fill="{_hex(background)}"/>')
    for sh in shapes:
        attrs = [f'fill="{_hex(sh.fill)}"' if sh.fill else 'fill="none"']
        if sh.stroke:
            attrs.append(f'stroke="{_hex(sh.stroke)}" stroke-width="{sh.width:.2f}" '
                         'stroke-linejoin="round" stroke-linecap="round"')
        if sh.opacity < 1.0:
            attrs.append(f'opacity="{sh.opacity:.3f}"')
        a = " ".join(attrs)
        if sh.kind == "circle":
            (cx, cy) = sh.pts[0]
            out.append(f'<circle cx="{cx:.2f}" cy="{cy:.2f}" r="{sh.radius:.2f}" {a}/>')
        else:
            pts = " ".join(f"{x:.2f},{y:.2f}" for x, y in sh.pts)
            tag = "polygon" if sh.kind == "polygon" else "polyline"
            out.append(f'<{tag} points="{pts}" {a}/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
