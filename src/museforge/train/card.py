"""The model card a training run leaves beside its model: data, licences, recipe, time, metrics."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch

from museforge.atomic import write_file
from museforge.train.loop import LoopConfig, Summary


def machine() -> str:
    gpu = f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return (
        f"{platform.machine()}, {os.cpu_count()} CPU cores{gpu}, {torch.get_num_threads()} thread(s), "
        f"torch {torch.__version__}"
    )


def model_card(
    name: str,
    family: str,
    *,
    data: Any,
    summary: Summary,
    cfg: LoopConfig,
    command: str,
    base: str = "",
    compare: dict[str, Any] | None = None,
    notes: str = "",
) -> str:
    """Markdown of the card (``data``: a :class:`museforge.train.datasets.TrainingData`)."""
    licences = "\n".join(
        f"  - `{spdx}`: {n} item{'s' if n != 1 else ''}" for spdx, n in data.licences.items()
    )
    last = summary.evals[-1] if summary.evals else {}
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in last.items() if k != "step")
    curve = "\n".join(f"| {e['step']} | {e['loss']:.4f} |" for e in summary.evals[-12:])
    lines = [
        f"# {name}",
        "",
        f"A museforge {family} model {f'fine-tuned from `{base}`' if base else 'trained from scratch'} "
        f"on the data set `{data.root}`.",
        "",
        "## Data",
        "",
        f"- {len(data.train)} training and {len(data.val)} held-out {data.kind} items; manifest SHA-256 "
        f"`{data.manifest_sha256}` (its card: `{data.root / 'README.md'}`).",
        f"- Declared use: **{data.use}**; the items' licences, each of which permits it:",
        licences,
        "",
        "## Training",
        "",
        f"- Recipe: `{command}`",
        f"- {summary.steps} steps at batch {cfg.batch} (peak learning rate {cfg.lr:g}) in "
        f"{summary.seconds / 60:.1f} min on {machine()}, {summary.world} process(es); stopped by "
        f"{summary.stopped}{f', resumed at step {summary.resumed_from}' if summary.resumed_from else ''}.",
        f"- The saved weights are those of step {summary.best_step}, the best held-out loss.",
        "",
        "## Held-out metrics",
        "",
        f"Last evaluation: {metrics}.",
        "",
        "| step | held-out loss |",
        "|---:|---:|",
        curve,
    ]
    if compare:
        lines += ["", "## Against the previous model", "", compare_table(compare)]
    if notes:
        lines += ["", notes]
    return "\n".join(lines) + "\n"


def compare_table(compare: dict[str, Any]) -> str:
    """A markdown table of ``{"new": metrics, "previous": metrics, ...}``."""
    new, old = compare["new"], compare["previous"]
    rows = [f"| metric | this model | `{compare['previous_name']}` | change |", "|---|---:|---:|---:|"]
    for key in new:
        if key in old and isinstance(new[key], int | float) and isinstance(old[key], int | float):
            rows.append(f"| {key} | {new[key]:.4f} | {old[key]:.4f} | {new[key] - old[key]:+.4f} |")
    return "\n".join(rows)


def write_card(out: Path, text: str) -> None:
    write_file(out / "README.md", text.encode("utf-8"))
