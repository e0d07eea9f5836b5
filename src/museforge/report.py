"""``report.html``: the Work on one page, opened from disk with no server, readable on a phone."""

from __future__ import annotations

import html
import json
from typing import Any

from museforge.emotion import art_direction
from museforge.record import ArtifactRecord, WorkRecord

_CSS = """
:root { --bg:#141414; --fg:#ece8e1; --muted:#9a948a; --accent:%(accent)s; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%%; }
body { margin:0; background:var(--bg); color:var(--fg);
  font: 16px/1.6 "Noto Serif CJK SC","Noto Serif",Georgia,serif; overflow-wrap: anywhere; }
main { max-width: 1100px; margin: 0 auto; padding: 2.5rem 1.5rem 4rem; }
h1 { font-size: 2rem; font-weight: 400; margin: 0 0 .3rem; }
h2 { font-size: 1.1rem; font-weight: 400; color: var(--muted); letter-spacing: .08em;
  text-transform: uppercase; margin: 2.5rem 0 .8rem; }
.meta { color: var(--muted); font-size: .9rem; }
.swatches { display:flex; flex-wrap: wrap; gap:4px; margin:.6rem 0 1.4rem; }
.swatches span { width:28px; height:14px; border-radius:2px; display:inline-block; }
.grid { display:grid; grid-template-columns: minmax(0,3fr) minmax(0,2fr); gap: 2rem; align-items:start; }
@media (max-width: 800px) { .grid { grid-template-columns: minmax(0,1fr); } }
@media (max-width: 480px) { main { padding: 1.2rem .9rem 3rem; } h1 { font-size: 1.5rem; } }
figure { margin:0; }
figure img { width:100%%; height:auto; display:block; border-radius:3px;
  box-shadow: 0 10px 40px rgba(0,0,0,.5); }
figcaption, .links { color: var(--muted); font-size: .85rem; margin-top:.5rem; }
a { color: var(--accent); }
.poem { white-space: pre-wrap; font-size: 1.35rem; line-height: 2; margin: 0; }
.poem-title { font-size: 1.5rem; margin: 0 0 .8rem; }
audio { width: 100%%; margin: .4rem 0; }
.roll { width:100%%; border-radius:3px; margin-top:.6rem; }
.runs { display: grid; gap: 1rem; }
.run { border-top: 1px solid #2a2a2a; padding-top: .6rem; font: 13px/1.5 ui-monospace,monospace; }
.run dl { display: grid; grid-template-columns: max-content minmax(0,1fr); gap: .15rem .8rem; margin: 0; }
.run dt { color: var(--muted); }
.run dd { margin: 0; min-width: 0; }
.warn { color: #e0b050; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
"""


# Marks on <body> what actually loaded (images decoded, audio length) and the page's width, so a
# headless browser can check it: data-images="2" data-audio="38.0" data-width="400".
_SCRIPT = """
window.addEventListener("load", () => {
  const b = document.body;
  b.dataset.images = [...document.images].filter((i) => i.complete && i.naturalWidth > 0).length;
  b.dataset.width = document.documentElement.scrollWidth;
  const a = document.querySelector("audio");
  if (!a) return;
  const mark = () => { if (a.duration > 0) b.dataset.audio = a.duration.toFixed(1); };
  a.addEventListener("loadedmetadata", mark);
  mark();
});
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _files(entry: ArtifactRecord, *suffixes: str) -> list[str]:
    return [f.name for f in entry.files if f.name.lower().endswith(suffixes)]


def _links(names: list[str]) -> str:
    return " · ".join(f'<a href="{_e(n)}">{_e(n)}</a>' for n in names)


def _facts(summary: dict[str, Any]) -> str:
    shown = {k: v for k, v in summary.items() if isinstance(v, str | int | float) and k != "text"}
    return ", ".join(f"{k} {v}" for k, v in shown.items())


def _image_section(entry: ArtifactRecord) -> str:
    pngs, others = _files(entry, ".png"), _files(entry, ".svg", ".glb", ".stl")
    if not pngs:
        return ""
    return (
        f'<figure id="painting"><img src="{_e(pngs[0])}" alt="painting">'
        f"<figcaption>{_e(_facts(entry.summary))}<br>{_links(pngs + others)}</figcaption></figure>"
    )


def _sculpture_section(entry: ArtifactRecord) -> str:
    pngs, models = _files(entry, ".png"), _files(entry, ".glb", ".stl")
    picture = f'<img src="{_e(pngs[0])}" alt="sculpture">' if pngs else ""
    return (f'<figure id="sculpture">{picture}'
            f"<figcaption>{_e(_facts(entry.summary))}<br>{_links(models + pngs)}</figcaption></figure>")


def _text_section(entry: ArtifactRecord) -> str:
    title = str(entry.summary.get("title") or "")
    text = str(entry.summary.get("text") or "")
    lines = text.splitlines()
    if title and lines and title in lines[0]:  # the text opens with its title: show it once
        text = "\n".join(lines[1:]).lstrip("\n")
    return (
        '<section id="poem">'
        + (f'<p class="poem-title">{_e(title)}</p>' if title else "")
        + f'<p class="poem">{_e(text)}</p><p class="links">{_links(_files(entry, ".txt"))}</p></section>'
    )


def _music_section(entry: ArtifactRecord) -> str:
    wavs, rolls = _files(entry, ".wav"), _files(entry, ".png")
    scores = _files(entry, ".mid", ".midi", ".musicxml", ".mxl")
    parts = ['<section id="music">']
    if wavs:
        parts.append(f'<audio controls preload="metadata" src="{_e(wavs[0])}"></audio>')
    parts.append(f'<p class="links">{_e(_facts(entry.summary))}<br>{_links(wavs + scores)}</p>')
    if rolls:
        parts.append(f'<img class="roll" src="{_e(rolls[0])}" alt="piano roll">')
    parts.append("</section>")
    return "".join(parts)


def _runs(record: WorkRecord) -> str:
    """How each artifact was made, as stacked cards (no wide table: it fits a phone)."""
    cards = []
    for entry in record.artifacts:
        params = json.dumps(entry.params, ensure_ascii=False, sort_keys=True)
        files = "<br>".join(f'{_e(f.name)} <span class="meta">{f.sha256[:12]}</span>' for f in entry.files)
        inputs = "<br>".join(f"{_e(i.role)}: {_e(i.name)} <span class=\"meta\">{i.sha256[:12]}</span>"
                             for i in entry.inputs)
        rows = [("engine", f"{_e(entry.engine)} {_e(entry.engine_version)}"), ("parameters", _e(params)),
                ("seed", str(entry.seed)), ("time", f"{entry.seconds} s")]
        if inputs:
            rows.append(("inputs", inputs))
        rows.append(("files", files))
        body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
        cards.append(f'<div class="run"><strong>{_e(entry.modality)}</strong><dl>{body}</dl></div>')
    return f'<div class="runs">{"".join(cards)}</div>'


def _originality(entries: Any) -> str:
    """Each artifact's originality verdict, readably (older records hold none)."""
    if not isinstance(entries, dict) or not entries:
        return ""
    rows = []
    for modality, v in entries.items():
        if not isinstance(v, dict):
            continue
        if not v.get("checked"):
            rows.append(f"<li><strong>{_e(modality)}</strong>: not checked ({_e(v.get('reason', ''))})</li>")
            continue
        t = v.get("thresholds", {})
        nearest = "; ".join(f"{_e(m['item'])} ({m['similarity']:.2f})" for m in v.get("nearest", []))
        override = " <em>kept by the person's choice</em>" if v.get("overridden") else ""
        rows.append(
            f"<li><strong>{_e(modality)}</strong>: <strong>{_e(v['verdict'])}</strong>{override}, score "
            f"{v['score']:.2f} (similar from {t.get('similar', 0):.2f}, copy from {t.get('copy', 0):.2f}: "
            f"{_e(t.get('measure', ''))}) against {_e(v.get('index', ''))}"
            + (f"; nearest: {nearest}" if nearest else "") + "</li>")
    return f"<h2>Originality</h2><ul>{''.join(rows)}</ul>"


def _results(title: str, data: Any) -> str:
    if not data:
        return ""
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return f"<h2>{_e(title)}</h2><pre>{_e(body)}</pre>"


def render_report(record: WorkRecord, public_key: str = "") -> str:
    """The HTML page of a Work; artifacts are linked by relative paths inside the Work folder.
    The report is written (and hashed into the record) before the record is signed, so the
    signing key is given as ``public_key``."""
    emotion = record.emotion
    direction = art_direction(emotion) if emotion is not None else None
    accent = "#{:02x}{:02x}{:02x}".format(*direction.palette[-1]) if direction else "#c8a060"
    by_modality = {e.modality: e for e in record.artifacts}
    palette = direction.palette if direction else []
    swatches = "".join(f'<span style="background:rgb{c}"></span>' for c in palette)
    left = _image_section(by_modality["image"]) if "image" in by_modality else ""
    if "sculpture" in by_modality:
        left += _sculpture_section(by_modality["sculpture"])
    right = _text_section(by_modality["text"]) if "text" in by_modality else ""
    music = _music_section(by_modality["music"]) if "music" in by_modality else ""
    warnings = [w for e in record.artifacts for w in e.warnings]
    key = record.signature.public_key if record.signature else public_key
    signer = f"{_e(record.signer)}, " if record.signer else ""
    libs = ", ".join(f"{k} {v}" for k, v in record.libraries.items())
    mood = (f"mood <strong>{_e(emotion.label)}</strong> (valence {emotion.valence:+.2f}, arousal "
            f"{emotion.arousal:+.2f}, confidence {emotion.confidence:.2f}, {_e(emotion.source)}) · "
            if emotion else "")
    return f"""<!doctype html>
<html lang="{_e(record.lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(record.prompt)} · museforge</title>
<style>{_CSS % {"accent": accent}}</style></head>
<body><main>
<h1>{_e(record.prompt)}</h1>
<p class="meta">{mood}seed {record.seed} · {_e(record.created)}</p>
<div class="swatches">{swatches}</div>
{"".join(f'<p class="warn">{_e(w)}</p>' for w in warnings)}
<div class="grid"><div>{left}</div><div>{right}{("<h2>Music</h2>" + music) if music else ""}</div></div>
{_originality(record.originality)}
{_results("Evaluation", record.evaluation)}
<h2>How it was made</h2>
{_runs(record)}
<p class="meta">museforge {_e(record.museforge)} · device {_e(record.device)} · {_e(libs)}<br>
signed (ed25519) by {signer}key {_e(key[:16])}…
· check with <code>museforge verify</code>, rebuild with <code>museforge reproduce</code></p>
</main>
<script>{_SCRIPT}</script>
</body></html>
"""
