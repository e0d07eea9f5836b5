"""``--compare MODEL``: the new model beside the previous one, on the same held-out data.

Both are scored by the family's own held-out evaluation, and both generate a few items whose
closeness to the training items is measured (text: the share of generated lines found verbatim
among the training lines; music: the share of a melody's 8-interval runs that its nearest training
tune holds), so a person sees whether the iteration fits the data better without copying it.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import torch

from museforge.atomic import write_file

SAMPLES = 12


def text_originality(model: Any, tokenizer: Any, train_docs: list[str], seed: int = 0) -> dict[str, float]:
    """Share of generated lines (4 characters or more) found verbatim among the training lines."""
    from museforge.text.sampling import SamplingConfig

    lines = {ln.strip("，。！？,.;:!? ") for d in train_docs for ln in re.split(r"\n|<[a-z]+>", d)}
    tags = [d.split(">", 1)[0] + ">" for d in train_docs if d.startswith("<")]
    start = max(set(tags), key=tags.count) if tags else "<verse>"
    generator = torch.Generator().manual_seed(seed)
    prompt = torch.tensor([tokenizer.encode(start)] * SAMPLES)
    config = SamplingConfig(
        max_new_tokens=min(96, model.config.block_size - prompt.shape[1]), temperature=0.9, top_k=20
    )
    outs = model.generate(prompt, config, generator=generator, tokenizer=tokenizer)
    made = [ln.strip("，。！？,.;:!? ") for o in outs for ln in tokenizer.decode(o).split("\n")]
    made = [ln for ln in made if len(ln) >= 4 and "<" not in ln]
    found = sum(ln in lines for ln in made)
    return {"generated_lines": len(made), "copied_line_share": found / len(made) if made else 0.0}


def music_originality(model: Any, train: list[dict], val: list[dict], seed: int = 0) -> dict[str, float]:
    """Mean and max nearest-training-tune score of melodies continued from held-out openings."""
    from museforge.originality.tunes import TuneIndex

    index = TuneIndex.build([(str(i), t["pitches"]) for i, t in enumerate(train)])
    generator = torch.Generator().manual_seed(seed)
    scores = []
    for tune in (val or train)[:SAMPLES]:
        info = tune["tune"]
        motif = [tuple(n) for n in info["notes"][:4]]
        start = motif[-1][2] + motif[-1][1]
        bars = int(start // info["bar"]) + 8
        notes = model.generate(
            motif, info["tonic"], info["mode"], info["meter"], info["bar"], bars * info["bar"], generator
        )
        pitches = [int(p) for p, _, _ in [*motif, *notes] if p >= 0]
        scores.append(index.score(pitches)[0])
    return {
        "melodies": len(scores),
        "nearest_score_mean": sum(scores) / max(1, len(scores)),
        "nearest_score_max": max(scores, default=0.0),
    }


def write_page(out: Path, compare: dict[str, Any], curves: dict[str, list[tuple[int, float]]]) -> Path:
    """``OUT/compare.json`` and ``OUT/compare.html`` (a table and the held-out curve, offline)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    write_file(out / "compare.json", json.dumps(compare, indent=1, ensure_ascii=False).encode())
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    for name, points in curves.items():
        if points:
            ax.plot([s for s, _ in points], [v for _, v in points], marker="o", label=name)
    old = compare["previous"].get("loss")
    if old is not None:
        ax.axhline(old, color="grey", linestyle="--", label=f"{compare['previous_name']} (held-out loss)")
    ax.set_xlabel("step")
    ax.set_ylabel("held-out loss")
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_num(v)}</td><td>{_num(compare['previous'][k])}</td>"
        f"<td>{_num(v - compare['previous'][k], '+')}</td></tr>"
        for k, v in compare["new"].items()
        if isinstance(v, int | float) and isinstance(compare["previous"].get(k), int | float)
    )
    title = html.escape(compare["name"])
    page = f"""<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}: compared</title>
<style>body{{font-family:sans-serif;max-width:46rem;margin:2rem auto}}
td,th{{padding:.2rem .6rem;text-align:right}} td:first-child,th:first-child{{text-align:left}}</style>
<h1>{html.escape(compare["name"])} beside {html.escape(compare["previous_name"])}</h1>
<p>Both scored on the same held-out items of <code>{html.escape(compare["data"])}</code>; lower loss fits
better, a lower originality score copies less.</p>
<table><tr><th>metric</th><th>this model</th><th>previous</th><th>change</th></tr>{rows}</table>
<img alt="held-out loss by step" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">
</html>
"""
    write_file(out / "compare.html", page.encode("utf-8"))
    return out / "compare.html"


def _num(value: float, sign: str = "") -> str:
    """A count as an integer, anything else to four places.

    >>> _num(108.0), _num(0.11111), _num(-2.0, "+")
    ('108', '0.1111', '-2')
    """
    return f"{value:{sign}.0f}" if float(value).is_integer() else f"{value:{sign}.4f}"


def _bass_notes(tokens: Any) -> Any:
    """A ``(n, 3)`` note array (pitch, duration, onset) of a bass line's grid tokens."""
    import numpy as np

    from museforge.music.data import grid_to_notes

    notes = grid_to_notes(np.asarray(tokens))
    return np.array([(p, d, s) for s, d, p in notes], dtype=np.float64).reshape(-1, 3)


def harmony_originality(model: Any, train: list[dict], val: list[dict]) -> dict[str, float]:
    """Bass lines the harmoniser writes under up to 12 held-out sopranos, against the training bass
    lines: the share of each line's 8-interval runs found in any of them, and its nearest-line
    score (:class:`museforge.originality.tunes.TuneIndex`), mean and max."""
    import numpy as np

    from museforge.originality.tunes import TuneIndex, runs_of

    index = TuneIndex.build(
        [(c.get("name", str(i)), _bass_notes(c["tokens"][3])) for i, c in enumerate(train)]
    )
    shares, nearest = [], []
    for c in (val or train)[:SAMPLES]:
        atb = model.generate(np.asarray(c["tokens"][0], dtype=np.int64), np.asarray(c["pos"]))
        bass = _bass_notes(atb[2])
        runs, _ = runs_of(bass)  # a line of under nine notes has no run to copy: 0
        shares.append(float(np.isin(runs, index.codes).mean()) if runs.size else 0.0)
        nearest.append(index.score(bass)[0])
    n = max(1, len(shares))
    return {
        "harmonised": len(shares),
        "bass_run_share_mean": sum(shares) / n,
        "bass_run_share_max": max(shares, default=0.0),
        "bass_nearest_mean": sum(nearest) / n,
        "bass_nearest_max": max(nearest, default=0.0),
    }
