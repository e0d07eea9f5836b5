"""The report as one HTML page that reads offline: no script, no remote style, the plots as PNG
files beside it."""

from __future__ import annotations

from html import escape
from typing import Any

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1000px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
h3 { margin-bottom: .3em; }
table { border-collapse: collapse; margin: .6em 0 1em; font-size: .92em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.card { color: #666; } .ref { color: #555; font-style: italic; } .meta td:first-child { font-weight: 600; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; } .note { color: #7a4b00; } .error { color: #a00000; }
pre { background: #f8f8f8; padding: .6em; overflow-x: auto; font-size: .9em; }
code { background: #f4f4f4; padding: 0 .2em; }
"""


INTRO = (
    "<p>Every figure is either <b>computed in this run</b> on data the model never trained on, or "
    "taken <b>from the model card</b> (its README.md, metrics.json or training.json) where computing "
    "it takes too long; the tables show the two side by side. Rows in italics are references (real "
    "data, chance) to read the model's figures against. ↑ higher is better, ↓ lower is better. "
    "Sample sizes are small so that the report runs in minutes: the same command with a larger "
    "<code>--n</code> narrows them. The figures are in <code>evaluation.json</code> beside this page.</p>"
)


def fmt(value: Any, unit: str = "") -> str:
    """A figure as the page shows it: shares as percentages, others to four significant digits.

    >>> fmt(0.8412, "share"), fmt(1562.4), fmt(0.00123), fmt(None), fmt(30901)
    ('84.1 %', '1,562', '0.00123', '—', '30,901')
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    v = float(value)
    if unit == "share":
        return f"{100 * v:.1f} %"
    if v != v:
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.1f}"
    return f"{v:.4g}" if v else "0"


def _metric_table(metrics: list[dict[str, Any]]) -> str:
    """One row per figure: this run's value beside the card's."""
    rows: dict[str, dict[str, Any]] = {}
    for m in metrics:
        row = rows.setdefault(
            m["key"],
            {
                "label": m["label"],
                "unit": m["unit"],
                "better": m["better"],
                "computed": None,
                "card": None,
                "n": None,
                "notes": [],
            },
        )
        if m["source"] == "computed":
            row["label"] = m["label"]
        row[m["source"]] = m
        if m.get("note"):
            row["notes"].append(("card: " if m["source"] == "card" else "") + m["note"])
        if m["source"] == "computed" and m.get("n") is not None:
            row["n"] = m["n"]
    out = [
        "<table><tr><th>figure</th><th>this run</th><th>model card</th><th>n (this run)</th>"
        "<th>note</th></tr>"
    ]
    for row in rows.values():
        better = {"higher": " ↑", "lower": " ↓"}.get(row["better"] or "", "")
        computed = fmt(row["computed"]["value"], row["unit"]) if row["computed"] else "—"
        card = fmt(row["card"]["value"], row["unit"]) if row["card"] else "—"
        unit = f" ({row['unit']})" if row["unit"] not in ("", "share") else ""
        cls = " class=ref" if any("reference" in n for n in row["notes"]) else ""
        out.append(
            f"<tr{cls}><td>{escape(row['label'])}{escape(unit)}{better}</td>"
            f"<td class=num>{computed}</td><td class='num card'>{card}</td>"
            f"<td class=num>{fmt(row['n']) if row['n'] is not None else ''}</td>"
            f"<td>{escape('; '.join(dict.fromkeys(row['notes'])))}</td></tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def _figures(plots: list[dict[str, str]]) -> str:
    return "\n".join(
        f'<figure><img src="{escape(p["file"])}" alt="{escape(p["caption"])}">'
        f"<figcaption>{escape(p['caption'])}</figcaption></figure>"
        for p in plots
    )


def _model(name: str, m: dict[str, Any]) -> str:
    parts = [f'<h2 id="{escape(name)}">{escape(name)}</h2>']
    if m.get("title"):
        parts.append(
            f"<p><b>Model card:</b> {escape(m['title'])} (<code>models/{escape(name)}/README.md</code>)</p>"
        )
    if m.get("error"):
        parts.append(f"<p class=error>Could not be evaluated: {escape(m['error'])}</p>")
    if m.get("method"):
        parts.append(f"<p><b>What was measured:</b> {escape(m['method'])}</p>")
    if m.get("metrics"):
        parts.append(_metric_table(m["metrics"]))
    for note in m.get("notes", []):
        parts.append(f"<p class=note>{escape(note)}</p>")
    parts.append(_figures(m.get("plots", [])))
    examples = (m.get("details") or {}).get("examples") or {}
    if examples:
        parts.append("<h3>One poem of each form</h3>")
        for form, text in examples.items():
            parts.append(f"<p><b>{escape(form)}</b></p><pre>{escape(text)}</pre>")
    parts.append(f"<p class=card>Evaluated in {m.get('seconds', 0):.1f} s.</p>")
    return "\n".join(parts)


def _originality(o: dict[str, Any]) -> str:
    parts = ["<h2 id=originality>Originality</h2>"]
    if not o.get("installed"):
        parts.append(f"<p>{escape(o.get('message') or 'no originality index installed')}.</p>")
        return "\n".join(parts)
    parts.append(
        "<p>Each index calls a new item <i>similar</i> from the 95th percentile of the held-out items' "
        "nearest-neighbour similarity to the training set, and a <i>copy</i> beyond the largest held-out "
        "similarity (with a margin). Held-out items are new by construction; training items against the "
        "rest of the training set show how close true repeats come.</p>"
    )
    parts.append(
        "<table><tr><th>index</th><th>measure</th><th>similar from</th><th>copy from</th>"
        "<th>held-out n</th><th>held-out p50 / p95 / max</th><th>training n</th><th>training p50</th></tr>"
    )
    for name, t in o["indexes"].items():
        cal = t.get("calibration") or {}
        held, train = cal.get("heldout") or {}, cal.get("train") or {}
        parts.append(
            f"<tr><td>{escape(name)}</td><td>{escape(str(t.get('measure', '')))}</td>"
            f"<td class=num>{fmt(t.get('similar'))}</td><td class=num>{fmt(t.get('copy'))}</td>"
            f"<td class=num>{fmt(held.get('n'))}</td>"
            f"<td class=num>{fmt(held.get('p50'))} / {fmt(held.get('p95'))} / {fmt(held.get('max'))}</td>"
            f"<td class=num>{fmt(train.get('n'))}</td><td class=num>{fmt(train.get('p50'))}</td></tr>"
        )
    parts.append("</table>")
    if o.get("plot"):
        parts.append(
            _figures(
                [
                    {
                        "file": o["plot"],
                        "caption": "Each index's calibration: the spread of nearest-"
                        "neighbour similarity of held-out and training items, and where similar and copy "
                        "begin.",
                    }
                ]
            )
        )
    return "\n".join(parts)


def _ratings(r: dict[str, Any]) -> str:
    parts = ["<h2 id=ratings>Human ratings</h2>"]
    if not r.get("ranking"):
        parts.append(f"<p>{escape(r.get('message') or 'no ratings yet')}.</p>")
        return "\n".join(parts)
    parts.append(
        f"<p>{r['ratings']:,} pairwise choices by {r['raters']} account(s) over {r['works']} works in "
        f"<code>{escape(r['database'])}</code>, ranked by a Bradley–Terry model "
        "(museforge.evaluate.ratings: scores are log-strengths against a virtual average work, with 95 % "
        "intervals). Works whose intervals overlap are not told apart by the ratings so far.</p>"
    )
    if r.get("message"):
        parts.append(f"<p class=note>{escape(r['message'])}.</p>")
    if r.get("plot"):
        parts.append(_figures([{"file": r["plot"], "caption": "Bradley–Terry scores with 95 % intervals."}]))
    parts.append(
        "<table><tr><th>rank</th><th>work</th><th>engines</th><th>score</th><th>95 % interval</th>"
        "<th>wins / games</th></tr>"
    )
    for i, row in enumerate(r["ranking"], 1):
        parts.append(
            f"<tr><td class=num>{i}</td><td>{escape(row['prompt'] or row['work'])} "
            f"<code>{escape(row['work'][:8])}"
            f"</code></td><td>{escape(', '.join(row['engines']))}</td><td class=num>{row['score']:.2f}</td>"
            f"<td class=num>{row['low']:.2f} to {row['high']:.2f}</td>"
            f"<td class=num>{row['wins']} / {row['games']}"
            "</td></tr>"
        )
    parts.append("</table>")
    return "\n".join(parts)


def render(report: dict[str, Any]) -> str:
    """The whole page from the report's JSON."""
    models = report["models"]
    meta = [
        ("command", f"<code>{escape(report['command'])}</code>"),
        ("made", escape(report["created"])),
        ("seed", str(report["seed"])),
        ("samples", escape(report["samples_text"])),
        ("museforge", escape(report["museforge"])),
        ("machine", escape(report["machine"])),
        ("time", f"{report['seconds']:.0f} s"),
    ]
    summary = [
        "<table><tr><th>model</th><th>family</th><th>card</th><th>figures (this run / card)</th>"
        "<th>time</th></tr>"
    ]
    for name, m in models.items():
        sources = [x["source"] for x in m.get("metrics", [])]
        summary.append(
            f'<tr><td><a href="#{escape(name)}">{escape(name)}</a></td><td>{escape(m["family"])}</td>'
            f"<td>{escape(m.get('title', ''))}</td>"
            f"<td class=num>{sources.count('computed')} / {sources.count('card')}"
            f"{' (failed)' if m.get('error') else ''}</td><td class=num>{m.get('seconds', 0):.0f} s</td></tr>"
        )
    summary.append("</table>")
    body = [
        "<!DOCTYPE html>",
        "<html lang=en><head><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width, initial-scale=1">',
        "<title>museforge: model evaluation</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>museforge: how good are the shipped models?</h1>",
        "<table class=meta>" + "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in meta) + "</table>",
        INTRO,
        "<h2>Contents</h2>",
        "\n".join(summary),
        '<p><a href="#originality">Originality</a> · <a href="#ratings">Human ratings</a></p>',
        *(_model(name, m) for name, m in models.items()),
        _originality(report["originality"]),
        _ratings(report["ratings"]),
        "</body></html>",
    ]
    return "\n".join(body) + "\n"
