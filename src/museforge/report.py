"""``report.html``: the Work on one page, opened from disk with no server."""

from __future__ import annotations

import html
import json
from typing import Any

from museforge.emotion import Emotion, art_direction

_CSS = """
:root { --bg:#141414; --fg:#ece8e1; --muted:#9a948a; --accent:%(accent)s; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font: 16px/1.6 "Noto Serif CJK SC","Noto Serif",Georgia,serif; }
main { max-width: 1100px; margin: 0 auto; padding: 2.5rem 1.5rem 4rem; }
h1 { font-size: 2rem; font-weight: 400; margin: 0 0 .3rem; }
h2 { font-size: 1.1rem; font-weight: 400; color: var(--muted); letter-spacing: .08em;
  text-transform: uppercase; margin: 2.5rem 0 .8rem; }
.meta { color: var(--muted); font-size: .9rem; }
.swatches { display:flex; gap:4px; margin:.6rem 0 1.4rem; }
.swatches span { width:28px; height:14px; border-radius:2px; display:inline-block; }
.grid { display:grid; grid-template-columns: minmax(0,3fr) minmax(0,2fr); gap: 2rem; align-items:start; }
@media (max-width: 800px) { .grid { grid-template-columns: 1fr; } }
figure { margin:0; }
figure img { width:100%%; height:auto; display:block; border-radius:3px;
  box-shadow: 0 10px 40px rgba(0,0,0,.5); }
figcaption, .links { color: var(--muted); font-size: .85rem; margin-top:.5rem; }
a { color: var(--accent); }
.poem { white-space: pre-wrap; font-size: 1.35rem; line-height: 2; margin: 0; }
.poem-title { font-size: 1.5rem; margin: 0 0 .8rem; }
audio { width: 100%%; margin: .4rem 0; }
.roll { width:100%%; border-radius:3px; margin-top:.6rem; }
table { border-collapse: collapse; width: 100%%; font: 13px/1.5 ui-monospace,monospace; }
th, td { text-align:left; padding:.3rem .6rem; border-bottom:1px solid #2a2a2a; vertical-align: top; }
th { color: var(--muted); font-weight: 400; }
.warn { color: #e0b050; }
"""


# Marks on <body> what actually loaded (images decoded, audio length), so a headless browser
# can check the page: data-images="2" data-audio="38.0".
_SCRIPT = """
window.addEventListener("load", () => {
  const b = document.body;
  b.dataset.images = [...document.images].filter((i) => i.complete && i.naturalWidth > 0).length;
  const a = document.querySelector("audio");
  if (!a) return;
  const mark = () => { if (a.duration > 0) b.dataset.audio = a.duration.toFixed(1); };
  a.addEventListener("loadedmetadata", mark);
  mark();
});
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _files(entry: dict[str, Any], suffix: str) -> list[str]:
    return [f["name"] for f in entry["files"] if f["name"].lower().endswith(suffix)]


def _image_section(entry: dict[str, Any]) -> str:
    pngs, svgs = _files(entry, ".png"), _files(entry, ".svg")
    if not pngs:
        return ""
    summary = entry.get("summary", {})
    caption = ", ".join(f"{k} {v}" for k, v in summary.items() if isinstance(v, str | int | float))
    links = " · ".join(f'<a href="{_e(n)}">{_e(n)}</a>' for n in pngs + svgs)
    return (
        f'<figure id="painting"><img src="{_e(pngs[0])}" alt="painting">'
        f"<figcaption>{_e(caption)}<br>{links}</figcaption></figure>"
    )


def _text_section(entry: dict[str, Any]) -> str:
    summary = entry.get("summary", {})
    title = summary.get("title") or ""
    text = summary.get("text") or ""
    links = " · ".join(f'<a href="{_e(n)}">{_e(n)}</a>' for n in _files(entry, ".txt"))
    return (
        '<section id="poem">'
        + (f'<p class="poem-title">{_e(title)}</p>' if title else "")
        + f'<p class="poem">{_e(text)}</p><p class="links">{links}</p></section>'
    )


def _music_section(entry: dict[str, Any]) -> str:
    wavs, mids = _files(entry, ".wav"), _files(entry, ".mid")
    rolls = _files(entry, ".png")
    summary = entry.get("summary", {})
    facts = ", ".join(f"{k} {v}" for k, v in summary.items() if isinstance(v, str | int | float))
    parts = ['<section id="music">']
    if wavs:
        parts.append(f'<audio controls preload="metadata" src="{_e(wavs[0])}"></audio>')
    parts.append(
        f'<p class="links">{_e(facts)}<br>'
        + " · ".join(f'<a href="{_e(n)}">{_e(n)}</a>' for n in wavs + mids)
        + "</p>"
    )
    if rolls:
        parts.append(f'<img class="roll" src="{_e(rolls[0])}" alt="piano roll">')
    parts.append("</section>")
    return "".join(parts)


def _params_table(manifest: dict[str, Any]) -> str:
    rows = []
    for entry in manifest["artifacts"]:
        params = json.dumps(entry["params"], ensure_ascii=False, sort_keys=True)
        files = "<br>".join(
            f'{_e(f["name"])} <span class="meta">{f["sha256"][:12]}</span>' for f in entry["files"]
        )
        rows.append(
            f"<tr><td>{_e(entry['modality'])}</td><td>{_e(entry['engine'])} {_e(entry['engine_version'])}"
            f"</td><td>{_e(params)}</td><td>{entry['seed']}</td><td>{entry['seconds']} s</td>"
            f"<td>{files}</td></tr>"
        )
    return (
        "<table><tr><th>modality</th><th>engine</th><th>parameters</th><th>seed</th>"
        "<th>time</th><th>files (sha256)</th></tr>" + "".join(rows) + "</table>"
    )


def _results(title: str, data: Any) -> str:
    if not data:
        return ""
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return f"<h2>{_e(title)}</h2><pre>{_e(body)}</pre>"


def render_report(manifest: dict[str, Any]) -> str:
    """The HTML page of a Work; artifacts are linked by relative paths inside the Work folder."""
    emotion = Emotion.from_dict(manifest["emotion"])
    direction = art_direction(emotion)
    accent = "#{:02x}{:02x}{:02x}".format(*direction.palette[-1])
    by_modality = {e["modality"]: e for e in manifest["artifacts"]}
    swatches = "".join(f'<span style="background:rgb{c}"></span>' for c in direction.palette)
    left = _image_section(by_modality["image"]) if "image" in by_modality else ""
    right = _text_section(by_modality["text"]) if "text" in by_modality else ""
    music = _music_section(by_modality["music"]) if "music" in by_modality else ""
    warnings = [w for e in manifest["artifacts"] for w in e.get("warnings", [])]
    sig = manifest.get("signature") or {}
    libs = ", ".join(f"{k} {v}" for k, v in manifest["libraries"].items())
    return f"""<!doctype html>
<html lang="{_e(manifest["lang"])}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(manifest["prompt"])} · museforge</title>
<style>{_CSS % {"accent": accent}}</style></head>
<body><main>
<h1>{_e(manifest["prompt"])}</h1>
<p class="meta">mood <strong>{_e(emotion.label)}</strong> (valence {emotion.valence:+.2f},
arousal {emotion.arousal:+.2f}, confidence {emotion.confidence:.2f}, {_e(emotion.source)})
· seed {manifest["seed"]} · {_e(manifest["created"])}</p>
<div class="swatches">{swatches}</div>
{"".join(f'<p class="warn">{_e(w)}</p>' for w in warnings)}
<div class="grid"><div>{left}</div><div>{right}{("<h2>Music</h2>" + music) if music else ""}</div></div>
{_results("Originality", manifest.get("originality"))}
{_results("Evaluation", manifest.get("evaluation"))}
<h2>How it was made</h2>
{_params_table(manifest)}
<p class="meta">museforge {_e(manifest["museforge"])} · device {_e(manifest["device"])} · {_e(libs)}<br>
signed ({_e(sig.get("algorithm", "unsigned"))}) by key {_e(sig.get("public_key", "")[:16])}…
· check with <code>museforge verify</code>, rebuild with <code>museforge reproduce</code></p>
</main>
<script>{_SCRIPT}</script>
</body></html>
"""
