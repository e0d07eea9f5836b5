"""The report's plots: matplotlib figures drawn without pyplot (no global state, no display),
saved as PNG beside the page, and sample sheets drawn with Pillow."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from museforge.errors import MuseforgeError
from museforge.evaluate.report_base import CARD, COMPUTED, Context, ModelResult, Plot

RUN_COLOUR, CARD_COLOUR, REF_COLOUR = "#3b6ea8", "#b0b0b0", "#d08a3c"


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MuseforgeError("the report's plots need matplotlib: pip install matplotlib") from None
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def save(ctx: Context, fig: Any, file: str) -> str:
    fig.savefig(ctx.out / file, format="png", metadata={"Software": None})
    return file


def _add(ctx: Context, result: ModelResult, slug: str, fig: Any, caption: str) -> None:
    file = save(ctx, fig, f"{result.name}-{slug}.png")
    result.plots.append(Plot(file, caption))


def compare_bars(
    ctx: Context,
    result: ModelResult,
    slug: str,
    title: str,
    labels: Sequence[str],
    keys: Sequence[str],
    ylabel: str = "",
    share: bool = False,
) -> None:
    """Grouped bars: each figure as computed in this run beside the card's (where it has one)."""
    run = [result.value(k, COMPUTED) for k in keys]
    card = [result.value(k, CARD) for k in keys]
    if all(v is None for v in run + card):
        return
    fig = _figure(max(5.0, 0.9 * len(keys) + 2), 3.4)
    ax = fig.subplots()
    x = np.arange(len(keys))
    width = 0.38
    for offset, values, colour, name in (
        (-width / 2, run, RUN_COLOUR, "this run"),
        (width / 2, card, CARD_COLOUR, "model card"),
    ):
        if all(v is None for v in values):
            continue
        heights = [np.nan if v is None else float(v) for v in values]
        bars = ax.bar(x + offset, heights, width, color=colour, label=name)
        for bar, v in zip(bars, values, strict=True):
            if v is not None:
                ax.annotate(
                    _short(float(v)),
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    xytext=(0, 1),
                    textcoords="offset points",
                )
    ax.set_xticks(x, labels, rotation=20 if max(map(len, labels)) > 8 else 0, ha="right", fontsize=8)
    if share:
        top = max([float(v) for v in run + card if v is not None] + [1.0])
        ax.set_ylim(0, top * 1.12)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    _add(ctx, result, slug, fig, title + ": this run beside the model card's figure, where it has one.")


def group_bars(
    ctx: Context,
    result: ModelResult,
    slug: str,
    title: str,
    labels: Sequence[str],
    groups: Mapping[str, Sequence[float | None]],
    ylabel: str = "",
    caption: str = "",
) -> None:
    """Bars of several named groups (e.g. real images, the model) over the same labels."""
    fig = _figure(max(5.0, 0.9 * len(labels) * max(1, len(groups)) / 2 + 2), 3.4)
    ax = fig.subplots()
    x = np.arange(len(labels))
    width = 0.8 / max(1, len(groups))
    colours = [REF_COLOUR, RUN_COLOUR, CARD_COLOUR, "#6a9f58", "#a05195"]
    for i, (name, values) in enumerate(groups.items()):
        heights = [np.nan if v is None else float(v) for v in values]
        bars = ax.bar(
            x - 0.4 + width * (i + 0.5), heights, width, color=colours[i % len(colours)], label=name
        )
        for bar, v in zip(bars, values, strict=True):
            if v is not None and math.isfinite(float(v)):
                ax.annotate(
                    _short(float(v)),
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    xytext=(0, 1),
                    textcoords="offset points",
                )
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    _add(ctx, result, slug, fig, caption or title)


def distributions(
    ctx: Context,
    result: ModelResult,
    slug: str,
    title: str,
    panels: Mapping[str, Mapping[str, Sequence[float]]],
    caption: str = "",
) -> None:
    """One box plot per panel (a metric), one box per group (real, generated), points on top."""
    panels = {k: v for k, v in panels.items() if any(len(x) for x in v.values())}
    if not panels:
        return
    cols = min(len(panels), 5)
    rows = math.ceil(len(panels) / cols)
    fig = _figure(2.3 * cols + 0.5, 2.7 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    rng = np.random.default_rng(0)
    for ax, (name, groups) in zip(axes, panels.items(), strict=False):
        names = list(groups)
        data = [[float(v) for v in groups[g] if v == v] for g in names]
        ax.boxplot(data, tick_labels=names, widths=0.5, showfliers=False)
        for i, values in enumerate(data):
            ax.scatter(
                i + 1 + rng.uniform(-0.12, 0.12, len(values)),
                values,
                s=9,
                alpha=0.6,
                color=REF_COLOUR if i == 0 else RUN_COLOUR,
                zorder=3,
            )
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    _add(ctx, result, slug, fig, caption or title)


def sample_sheet(
    ctx: Context,
    result: ModelResult,
    slug: str,
    rows: Mapping[str, Sequence[np.ndarray]],
    caption: str,
    size: int = 96,
) -> None:
    """A grid of images, one labelled row per source (uint8 ``[H, W, 3]`` arrays)."""
    from PIL import Image, ImageDraw

    cols = max(len(v) for v in rows.values())
    label_h = 14
    sheet = Image.new("RGB", (cols * (size + 4) + 4, len(rows) * (size + label_h + 4) + 4), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (name, images) in enumerate(rows.items()):
        y = 4 + r * (size + label_h + 4)
        draw.text((4, y), name, fill="black")
        for c, image in enumerate(images):
            tile = Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB")
            tile = tile.resize(
                (size, size), Image.Resampling.NEAREST if tile.width < size else Image.Resampling.LANCZOS
            )
            sheet.paste(tile, (4 + c * (size + 4), y + label_h))
    file = f"{result.name}-{slug}.png"
    sheet.save(ctx.out / file, format="PNG", optimize=True)
    result.plots.append(Plot(file, caption))


def ranking_plot(ctx: Context, file: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """Bradley–Terry scores with their 95 % intervals, best at the top."""
    fig = _figure(7.5, 0.32 * len(rows) + 1.4)
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    scores = np.array([r["score"] for r in rows])
    low = scores - np.array([r["low"] for r in rows])
    high = np.array([r["high"] for r in rows]) - scores
    ax.errorbar(scores, y, xerr=[low, high], fmt="o", color=RUN_COLOUR, ecolor="#7a9cc6", capsize=3)
    ax.set_yticks(y, [r["label"] for r in rows], fontsize=7)
    ax.axvline(0.0, color="#999999", lw=0.8, ls="--")
    ax.set_xlabel("Bradley–Terry score (log-strength; 0 = a virtual average work)")
    ax.set_title("Works ranked by pairwise human choices, 95 % intervals", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return save(ctx, fig, file)


def calibration_plot(ctx: Context, file: str, indexes: Mapping[str, Mapping[str, Any]]) -> str:
    """Per originality index: the percentiles of the held-out and the training nearest-neighbour
    similarity, and where ``similar`` and ``copy`` begin."""
    names = list(indexes)
    fig = _figure(7.5, 1.2 * len(names) + 1.2)
    axes = np.atleast_1d(fig.subplots(len(names), 1, sharex=True))
    for ax, name in zip(axes, names, strict=True):
        t = indexes[name]
        cal = t.get("calibration") or {}
        for row, (part, colour) in enumerate((("heldout", RUN_COLOUR), ("train", REF_COLOUR))):
            pct = cal.get(part) or {}
            marks = [pct.get(f"p{p}") for p in (5, 25, 50, 75, 95)]
            if any(m is None for m in marks):
                continue
            p5, p25, p50, p75, p95 = (float(m) for m in marks)
            ax.plot([p5, p95], [row, row], color=colour, lw=1.5)
            ax.barh(row, p75 - p25, left=p25, height=0.45, color=colour, alpha=0.6)
            ax.plot([p50, p50], [row - 0.22, row + 0.22], color="black", lw=1.2)
            if pct.get("max") is not None:
                ax.plot([float(pct["max"])], [row], marker="|", color=colour, ms=10)
        ax.axvline(float(t["similar"]), color="#c9a227", lw=1.2, ls="--", label="similar from")
        ax.axvline(float(t["copy"]), color="#b03030", lw=1.2, ls="--", label="copy from")
        ax.set_yticks([0, 1], ["held-out", "training"], fontsize=8)
        ax.set_ylim(-0.6, 1.6)
        ax.set_title(name, fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left")
    axes[-1].set_xlabel("nearest-neighbour similarity (box: p25-p75, line: p50, whiskers: p5-p95)")
    fig.suptitle("Originality indexes: calibration on held-out and training items", fontsize=10)
    return save(ctx, fig, file)


def _short(v: float) -> str:
    if v != v:
        return ""
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) >= 0.001 or v == 0 else f"{v:.1e}"
