"""Form validity of the rule-based poet (the default text engine of ``create``).

    python benchmarks/text_rule_poet.py [--seeds 20] [--json]

For each form, 10 prompts x N seeds, moods rotated through all eight: the share of poems with no
line-count, length or rhyme fault, and the share with no fault at all (tones included).
"""

from __future__ import annotations

import argparse
import json
import time

from museforge.emotion import MOODS, emotion_from_label
from museforge.engines import Request, make_params
from museforge.runtime import make_generator
from museforge.text.rule_poet import RulePoet

PROMPTS = {
    "zh": ["在一片神秘的森林中", "秋天的故乡", "月下江边", "山中雪夜", "城中春雨",
           "海上明月", "花开满园", "风起长河", "孤村暮色", "云深不知处"],
    "en": ["a mysterious forest", "my hometown in autumn", "moonlight on the river",
           "a snowy mountain night", "spring rain in the city", "the moon over the sea",
           "a garden in bloom", "wind on the long river", "a lonely village at dusk",
           "clouds on the peaks"],
}
FORMS = {"wujue": "zh", "qijue": "zh", "wulv": "zh", "qilv": "zh", "quatrain": "en", "haiku": "en"}
STRUCTURAL = {"lines", "length", "rhyme", "syllables"}


def measure(form: str, seeds: int) -> dict[str, float]:
    lang = FORMS[form]
    engine, params = RulePoet(), make_params(RulePoet.Params, {"form": form})
    structural_ok = all_ok = n = 0
    t0 = time.perf_counter()
    for i, prompt in enumerate(PROMPTS[lang]):
        for seed in range(seeds):
            emotion = emotion_from_label(MOODS[(i + seed) % len(MOODS)])
            art = engine.run(Request(prompt, lang, emotion, seed, params), make_generator(seed))
            kinds = {v["kind"] for v in art.summary["violations"]}
            structural_ok += not (kinds & STRUCTURAL)
            all_ok += not kinds
            n += 1
    return {"form": form, "poems": n, "structure_valid": structural_ok / n, "fully_valid": all_ok / n,
            "ms_per_poem": round(1000 * (time.perf_counter() - t0) / n, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per prompt (default 20)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    rows = [measure(form, args.seeds) for form in FORMS]
    if args.json:
        print(json.dumps({"benchmark": "text_rule_poet", "rows": rows}))
        return
    print(f"{'form':<9} {'poems':>5} {'lines/length/rhyme':>19} {'no fault at all':>16} {'ms/poem':>8}")
    for r in rows:
        print(f"{r['form']:<9} {r['poems']:>5} {r['structure_valid']:>18.0%} {r['fully_valid']:>16.0%}"
              f" {r['ms_per_poem']:>8}")


if __name__ == "__main__":
    main()
