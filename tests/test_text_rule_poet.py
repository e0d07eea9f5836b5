"""The rule-based poet: form-valid by construction under both rhyme books, varied, deterministic,
prompt-led; the phrase bank and the critic."""

import json
from importlib import resources

import numpy as np
import pytest

from museforge.emotion import MOODS, emotion_from_label
from museforge.engines import Request, make_params
from museforge.errors import MuseforgeError
from museforge.runtime import make_generator
from museforge.text.critic import default_critic, pick
from museforge.text.forms import check_poem, han_chars, verse_tones
from museforge.text.rule_poet import RulePoet, RulePoetParams, format_poem, generate_poem
from museforge.text.verse_bank import DYNASTY, NUMYEAR, is_name, kind_of, labels_of, load_bank
from museforge.text.verse_zh import (
    GRAMMAR_MIN,
    TEMPLATES,
    LineSearch,
    Scene,
    cohesion,
    line_keeps,
    shared_pairs,
)

PROMPTS_ZH = ["在一片神秘的森林中，", "秋天的江边", "故乡的月亮", "大海", "雪"]


def _run(prompt: str, lang: str, mood: str, seed: int, **params: object):
    req = Request(prompt, lang, emotion_from_label(mood), seed, make_params(RulePoetParams, params))
    return RulePoet().run(req, make_generator(seed))


@pytest.mark.parametrize("form", ["wujue", "qijue", "wulv", "qilv"])
def test_chinese_forms_are_valid_through_the_engine(form: str):
    for seed in range(5):
        art = _run(PROMPTS_ZH[seed % 5], "zh", MOODS[seed % 8], seed, form=form)
        text = art.summary["text"]
        assert check_poem(text, form) == [] and art.summary["violations"] == [], text
        assert art.summary["form"] == form and art.summary["lang"] == "zh"
        assert art.summary["chosen"]["mood_read_back"] in (True, False)


def _tone_faults(lines: list[str], book: str) -> list[str]:
    """三平尾 (a line ending in three level tones) and 孤平 (a level-ending line of the 平平仄仄平
    kind with a single level character before its rhyme), which the checker does not name."""
    faults = []
    for line in lines:
        t = verse_tones(line, book)
        if t[-3:] == ("P", "P", "P"):
            faults.append(f"三平尾: {line}")
        if t[-1] == "P" and t[-2] == "Z" and sum(x != "Z" for x in t[:-1]) < 2:
            faults.append(f"孤平: {line}")
    return faults


@pytest.mark.parametrize("form", ["wujue", "qijue", "wulv", "qilv"])
def test_every_rule_kept_under_both_books_without_critic(form: str):
    """Many seeds, prompts and moods; the line search alone (no critic) keeps every rule."""
    prompts = [*PROMPTS_ZH, "秋夜思乡", "春江花月夜", "边塞", "a city at night"]
    for seed in range(24):
        emotion = emotion_from_label(MOODS[seed % 8])
        title, lines, _, info = generate_poem(
            prompts[seed % len(prompts)], "zh", emotion, form, make_generator(seed), critic=False
        )
        text = format_poem(title, lines, "zh")
        for book in ("modern", "pingshui"):
            assert check_poem(text, form, book) == [], (book, text)
            assert _tone_faults(lines, book) == [], text
        assert len(set("".join(lines))) == len("".join(lines)), text  # no character twice
        assert info["structure"] and info["sequence"]


@pytest.mark.parametrize("form", ["wujue", "qilv"])
def test_pingshui_engine_option_and_critic(form: str):
    for seed in range(3):
        art = _run("秋夜思乡", "zh", "nostalgic", seed, form=form, rhymes="pingshui")
        assert art.summary["violations"] == [], art.summary["text"]
        assert check_poem(art.summary["text"], form, "modern") == []


def test_no_line_is_a_corpus_line():
    from museforge.originality.poems import default_index

    index = default_index()
    if index is None:
        pytest.skip("the poem index is not installed")
    for seed in range(6):
        _, lines, _, _ = generate_poem(
            "月下江边", "zh", emotion_from_label("serene"), "wulv", make_generator(seed), critic=False
        )
        assert all(index.line_match(ln) is None for ln in lines), lines


def test_search_widens_rather_than_breaking_a_line():
    """With every character of the bank's commonest units already used, a line still comes, and
    it keeps its template."""
    bank = load_bank()
    used = {c for kind in bank.units for u in bank.units[kind][:3000] for c in u.text}
    search = LineSearch(bank, Scene(frozenset({"forest"}), "winter", True, "joyful"), None)
    for n in (5, 7):
        for kind, template in TEMPLATES[n].items():
            lines = search.candidates(
                n, template, "scene", None, used, set(), np.random.default_rng(1), want=4
            )
            assert lines and all(len(ln) == n and line_keeps(ln, template) for ln in lines), (kind, lines)


def test_phrase_bank_holds_units_not_lines():
    bank = load_bank()
    assert {"source", "licence", "recipe", "data_sha256"} <= set(bank.meta)
    lengths = {kind: {len(u.text) for u in units} for kind, units in bank.units.items()}
    assert lengths == {"head2": {2}, "head4": {4}, "tail3": {3}}
    assert sum(len(v) for v in bank.units.values()) > 20_000
    raw = json.loads((resources.files("museforge.text") / "assets" / "phrases_zh.json").read_text("utf-8"))
    assert raw["format"] == 3 and "Tang" in raw["source"]
    dropped = raw["dropped"]
    assert sum(d["name"] for d in dropped.values()) > 100  # persons and offices left out when built
    assert sum(d["specific"] for d in dropped.values()) > 20  # units tied to one poem
    places = [u.place for u in bank.units["head2"]]
    assert places.count("F") > 1000 and places.count("S") > 1000  # heads kept to one slot


def test_variety_over_twenty_seeds():
    """The acceptance case as a user gets it (the critic choosing): twenty seeds of one prompt, each
    poem valid under both books, no line
    ending in more than two poems, no name in a line, the titles varied and fitting the season,
    and the lines of a poem keeping to one scene (most line pairs share a motif or theme; the
    poet of version 2 reached 43 %)."""
    ends: dict[str, int] = {}
    titles, shared = set(), []
    for seed in range(20):
        title, lines, _, info = generate_poem(
            "秋夜思乡", "zh", emotion_from_label("nostalgic"), "qijue", make_generator(seed)
        )
        text = format_poem(title, lines, "zh")
        assert check_poem(text, "qijue", "modern") == check_poem(text, "qijue", "pingshui") == [], text
        assert not any(is_name(ln) for ln in lines), text
        assert not set(title) & set("春夏冬"), title  # an autumn poem's title
        for e in {han_chars(ln)[-3:] for ln in lines}:
            ends[e] = ends.get(e, 0) + 1
        titles.add(title)
        shared.append(shared_pairs(lines))
        assert info["shared_pairs"] == shared[-1] and "home" in info["themes"]  # 思乡 names the theme
    assert max(ends.values()) <= 2, sorted(ends.items(), key=lambda kv: -kv[1])[:3]
    assert len(ends) >= 70
    assert len(titles) >= 15, sorted(titles)
    assert sum(shared) / len(shared) >= 0.6, shared


def _parses(bank, line: str) -> bool:
    """A cut of ``line`` (2+3; 2+2+3 or 4+3) whose units are all in the bank and whose kinds
    sequence the corpus' lines hold at least ``GRAMMAR_MIN`` times."""
    return any(
        bank.grammar.get(bank.line_kinds(line, four) or "", 0) >= GRAMMAR_MIN for four in (False, True)
    )


def test_autumn_night_lines_parse_without_fillers():
    """Twenty seeds of 秋夜思乡: every line is made of bank units (no unit the bank's rules drop)
    in a kinds sequence the corpus uses; a count of years (三十年前) stands at most once, only in a
    past-present poem; no dynasty (隋家, 汉使) in a poem of home."""
    bank = load_bank()
    for seed in range(20):
        _, lines, _, info = generate_poem(
            "秋夜思乡", "zh", emotion_from_label("nostalgic"), "qijue", make_generator(seed)
        )
        assert all(_parses(bank, ln) for ln in lines), lines
        years = sum(bool(NUMYEAR.search(ln)) for ln in lines)
        assert years <= (info["structure"] == "past-present"), (info["structure"], lines)
        assert not any(DYNASTY.search(ln) for ln in lines), lines


def test_bank_rules_from_the_corpus():
    """Kinds come from the tagger; the heads keep their corpus slots; the commonest kinds
    sequences of the corpus are clauses (noun + verb phrase); no line of function words only."""
    bank = load_bank()
    assert kind_of("明月") == "N" and "V" in kind_of("依山尽") and not set(kind_of("何处")) & set("NVA")
    assert all(u.place and set(u.place) <= set("FS") for u in bank.units["head2"])
    scene = Scene(frozenset({"moon"}), "autumn", True, "nostalgic", themes=frozenset({"home"}))
    lines = LineSearch(bank, scene, None).candidates(
        5, TEMPLATES[5]["A"], "question", None, set(), set(), np.random.default_rng(0), 60
    )
    assert all(set(kind_of(ln[:2]) + kind_of(ln[2:])) & set("NV") for ln in lines), lines
    top5 = sorted((k for k in bank.grammar if k.startswith("5:")), key=lambda k: -bank.grammar[k])[:3]
    assert "5:N+VN" in top5 and sum(bank.grammar.values()) > 50_000, top5


def test_numbers_of_years_are_kept_out_of_other_poems():
    """A count of years is written only in a line of the past: none in a scene-feeling poem."""
    scene = Scene(frozenset({"moon"}), "autumn", True, "nostalgic", themes=frozenset({"home"}))
    search = LineSearch(load_bank(), scene, None)
    rng = np.random.default_rng(3)
    for kind, template in TEMPLATES[7].items():
        lines = search.candidates(7, template, "scene", None, set(), set(), rng, 40)
        assert not any(NUMYEAR.search(ln) for ln in lines), (kind, lines)
    past = search.candidates(7, TEMPLATES[7]["C"], "past", None, set(), set(), rng, 200, years=True)
    assert any(NUMYEAR.search(ln) for ln in past)  # allowed there


def test_the_bank_names_no_person_or_office():
    bank = load_bank()
    assert is_name("路是潘家") and is_name("文吏何曾") and is_name("谢公")
    assert not is_name("襄阳道") and not is_name("故园") and not is_name("公子")
    for units in bank.units.values():
        assert not any(is_name(u.text) for u in units)
    texts = {u.text for units in bank.units.values() for u in units}
    assert not {"潘家", "谢公", "刘郎", "陶令", "文吏"} & texts and "襄阳" in texts


def test_scene_labels_steer_the_line_search():
    """Units naming only labels foreign to the scene are drawn rarely: the lines of a forest poem
    name the city or the frontier far less often than the forest."""
    scene = Scene(frozenset({"forest"}), "autumn", False, "serene", themes=frozenset({"hermit"}))
    search = LineSearch(load_bank(), scene, None)
    lines = search.candidates(7, TEMPLATES[7]["C"], "scene", None, set(), set(), np.random.default_rng(0), 40)
    labels = [labels_of(ln) for ln in lines]
    own = sum(bool(lab & scene.labels) for lab in labels)
    foreign = sum(bool(lab & {"city", "court", "frontier"}) for lab in labels)
    assert own >= 20 and foreign <= 4, (own, foreign, lines)
    assert cohesion("松下苔深樵径斜", scene, set()) > cohesion("宫中丞相入朝回", scene, set())


@pytest.mark.parametrize(("form", "seeds", "most"), [("quatrain", 4, 6), ("sonnet", 2, 6)])
def test_english_endings_vary(form: str, seeds: int, most: int):
    """Over ten prompts, no ending word in more than 15 % of quatrains or 30 % of sonnets (the
    poet of version 2: 'plain' in 17 of 40 quatrains, 'light' in every sonnet); still valid."""
    prompts = ["a mysterious forest", "my hometown in autumn", "moonlight on the river", "a snowy night",
               "spring rain in the city", "the moon over the sea", "a garden in bloom", "wind on the river",
               "a lonely village at dusk", "clouds on the peaks"]  # fmt: skip
    ends: dict[str, int] = {}
    for i, prompt in enumerate(prompts):
        for seed in range(seeds):
            emotion = emotion_from_label(MOODS[(i + seed) % 8])
            title, lines, _, _ = generate_poem(
                prompt, "en", emotion, form, make_generator(seed), critic=False
            )
            assert check_poem(format_poem(title, lines, "en"), form) == [], lines
            for w in {ln.split()[-1].strip(".,;:").lower() for ln in lines}:
                ends[w] = ends.get(w, 0) + 1
    assert max(ends.values()) <= most, sorted(ends.items(), key=lambda kv: -kv[1])[:3]


def test_english_rhyme_sets_rhyme_by_the_dictionary():
    from museforge.text.forms import words_rhyme
    from museforge.text.poet_en import rhyme_sets

    sets = rhyme_sets()
    assert len(sets) >= 60 and sum(len({e.split()[-1] for e in v}) for v in sets.values()) >= 200
    for endings in sets.values():
        last = sorted({e.split()[-1] for e in endings})
        assert all(words_rhyme(last[0], w) for w in last[1:]), last


def test_critic_is_deterministic_and_prefers_verse():
    critic = default_critic()
    if critic is None:
        pytest.skip("the built-in model is not installed")
    head = "<wujue>《登楼》\n白日依山尽，\n"
    cands = ["黄河入海流。\n", "流海入河黄。\n", "黄河入海流。\n"]
    a, b = critic.losses(head, cands), critic.losses(head, cands)
    assert a == b and a[0] == a[2] and a[0] < a[1]
    assert pick(a) == 0
    first = _run("秋夜思乡", "zh", "nostalgic", 3, form="qijue").summary["chosen"]
    assert first == _run("秋夜思乡", "zh", "nostalgic", 3, form="qijue").summary["chosen"]
    assert first["loss"] > 0


def test_haiku_closing_lines_vary():
    """Over ten prompts and eight seeds no last word closes more than 10 % of haiku (version 3:
    'name', one fixed feeling line, closed 22 of 200)."""
    prompts = ["a mysterious forest", "my hometown in autumn", "moonlight on the river", "a snowy night",
               "spring rain in the city", "the moon over the sea", "a garden in bloom", "wind on the river",
               "a lonely village at dusk", "clouds on the peaks"]  # fmt: skip
    ends: dict[str, int] = {}
    for i, prompt in enumerate(prompts):
        for seed in range(8):
            emotion = emotion_from_label(MOODS[(i + seed) % 8])
            _, lines, _, _ = generate_poem(prompt, "en", emotion, "haiku", make_generator(seed), critic=False)
            word = lines[-1].split()[-1].lower()
            ends[word] = ends.get(word, 0) + 1
    assert max(ends.values()) <= 8, sorted(ends.items(), key=lambda kv: -kv[1])[:3]


@pytest.mark.parametrize("form", ["quatrain", "haiku", "sonnet"])
def test_english_forms_are_valid(form: str):
    for seed in range(8 if form != "sonnet" else 4):
        art = _run("a misty forest by the sea at night", "en", MOODS[seed % 8], seed, form=form)
        assert art.summary["violations"] == [], art.summary["text"]


def test_auto_form_and_output():
    zh = _run("在一片神秘的森林中，", "zh", "mysterious", 1)
    assert zh.summary["form"] == "qijue"
    en = _run("a quiet river", "en", "serene", 1)
    assert en.summary["form"] == "quatrain"
    f = zh.files[0]
    assert (f.name, f.media_type) == ("poem.txt", "text/plain")
    assert f.data.decode("utf-8") == zh.summary["text"]
    assert zh.summary["text"].startswith("《" + zh.summary["title"] + "》")
    untitled = _run("在一片神秘的森林中，", "zh", "mysterious", 1, title=False)
    assert not untitled.summary["text"].startswith("《")


def test_deterministic():
    a = _run("在一片神秘的森林中，", "zh", "mysterious", 7, form="qilv")
    b = _run("在一片神秘的森林中，", "zh", "mysterious", 7, form="qilv")
    assert a.files[0].data == b.files[0].data
    c = _run("在一片神秘的森林中，", "zh", "mysterious", 8, form="qilv")
    assert a.files[0].data != c.files[0].data


def test_forest_prompt_gives_forest_imagery():
    """Every poem keeps to the forest: at least two of its lines name it (林, 松, 竹, 叶, 苔...)."""
    for seed in range(10):
        text = _run("在一片神秘的森林中，", "zh", "mysterious", seed).summary["text"]
        lines = [han_chars(ln) for ln in text.splitlines()[2:] if ln]
        assert sum("forest" in labels_of(ln) for ln in lines) >= 2, text
        assert any(c in text for c in "林树松竹木"), text  # a word of trees


def test_unknown_form_is_a_one_line_error():
    with pytest.raises(MuseforgeError, match="unknown form 'limerick'; choose one of: auto, wujue"):
        _run("森林", "zh", "serene", 1, form="limerick")
    with pytest.raises(MuseforgeError, match="unknown rhymes 'tang'; choose one of: modern, pingshui"):
        _run("森林", "zh", "serene", 1, rhymes="tang")


def test_sonnets_keep_metre_and_rhyme_for_every_mood():
    prompts = ["a snowy mountain night", "a garden in bloom", "wind on the long river"]
    for seed, mood in enumerate(MOODS):
        title, lines, _, _ = generate_poem(
            prompts[seed % 3], "en", emotion_from_label(mood), "sonnet", make_generator(seed), critic=False
        )
        assert check_poem(format_poem(title, lines, "en"), "sonnet") == [], lines
        assert len({ln.split()[-1] for ln in lines}) >= 12  # endings vary within the poem


def test_line_fit_vectors_and_their_effect_on_the_choice():
    """The shipped line fit favours what Tang poets put together (秋 with 雁 and 砧, not with 桃花;
    a tail of home after lines of home, not one of the palace); a draft records its poem's fit, and
    with the fit on, the chosen poems fit their lines together better than with it off, over the
    same seeds."""
    from museforge.text import verse_zh
    from museforge.text.line_fit import load_line_fit

    fit = load_line_fit()
    assert fit.vectors.shape == (len(fit.index), fit.meta["dims"]) and np.isfinite(fit.vectors).all()
    assert fit.meta["data_sha256"] and fit.meta["recipe"].startswith("recipes/line_fit.py")
    assert fit.score("雁砧", "秋夜") > fit.score("桃花", "秋夜")
    home = ["别后相思忆故乡", "此时秋月"]
    assert fit.score("问旧游", home) > verse_zh.TAIL_FLOOR > fit.score("锦鸳鸯", home)
    assert fit.score("秋", "") == 0.0 and fit.poem_score(["秋夜"]) == 0.0
    assert fit.score("秋夜", ["秋夜"]) == pytest.approx(1.0)
    emotion = emotion_from_label("nostalgic")
    chosen = {}
    for weight in (0.0, verse_zh.LINE_FIT):
        scores = []
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(verse_zh, "LINE_FIT", weight)
            mp.setattr(verse_zh, "POEM_FIT", weight)
            for seed in range(6):
                _, lines, _, info = generate_poem("秋夜思乡", "zh", emotion, "qijue", make_generator(seed))
                assert info["line_fit"] == pytest.approx(fit.poem_score(lines), abs=1e-4)
                scores.append(info["line_fit"])
        chosen[weight] = float(np.mean(scores))
    assert chosen[verse_zh.LINE_FIT] > chosen[0.0]


def test_first_line_fits_the_prompt():
    """A first line has no lines before it: its fit is taken against the prompt's, the season's and
    the mood's characters, so over the same seeds the chosen first lines stand closer to them than
    with that context empty."""
    from museforge.text import verse_zh
    from museforge.text.line_fit import load_line_fit

    fit, emotion = load_line_fit(), emotion_from_label("nostalgic")
    scene = verse_zh.Scene(frozenset(), "autumn", True, "nostalgic", chars=frozenset("秋夜思乡"))
    assert verse_zh.opening(scene) == "乡夜思秋"
    mean_fit = {}
    for name, opening in (("off", lambda scene: ""), ("on", verse_zh.opening)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(verse_zh, "opening", opening)
            poems = [generate_poem("秋夜思乡", "zh", emotion, "qijue", make_generator(s)) for s in range(8)]
        firsts = [lines[0] for _, lines, _, _ in poems]
        mean_fit[name] = float(np.mean([fit.score(ln, ["秋夜思乡"]) for ln in firsts]))
    assert mean_fit["on"] > mean_fit["off"]


def test_ages_and_spans_count_as_years():
    assert all(NUMYEAR.search(t) for t in ("三十年前", "七岁", "半年", "十岁时"))
    assert not any(NUMYEAR.search(t) for t in ("千里", "万重山", "明年", "岁暮"))
    assert all(is_name(t) for t in ("石家金谷", "家有颜回", "白家诗客"))


def test_a_night_prompt_keeps_dusk_out():
    """秋夜 names the night: no line of sunset or dusk (夕阳, 日暮), which evening alone allowed."""
    from museforge.text.poet_zh import make_plan, phrase

    emotion = emotion_from_label("nostalgic")
    assert make_plan("秋夜思乡", emotion, np.random.default_rng(0)).night
    assert not make_plan("孤村暮色", emotion, np.random.default_rng(0)).night
    for seed in range(8):
        _, lines, _, _ = generate_poem("秋夜思乡", "zh", emotion, "qijue", make_generator(seed), critic=False)
        assert all(phrase(ln).time != "dusk" for ln in lines), lines


def test_a_theme_without_a_place_takes_its_landscape():
    """塞外 names the frontier and no place: the poem is set in the passes and mountains, not
    the mood's forest; a place the prompt names still wins."""
    from museforge.text.poet_zh import make_plan

    emotion = emotion_from_label("melancholy")
    for seed in range(4):
        plan = make_plan("塞外秋风", emotion, np.random.default_rng(seed))
        assert plan.motifs == ["mountain"] and plan.themes[0] == "frontier"
        assert make_plan("塞外江边", emotion, np.random.default_rng(seed)).motifs == ["river"]
    assert make_plan("深宫秋夜", emotion, np.random.default_rng(0)).motifs == ["city"]


def test_half_the_lines_name_the_place():
    """A prompt's own place (a forest, a river) is named by at least half of every poem's lines, in
    each form: the last slots are searched until a line naming it is found."""
    from museforge.text.verse_zh import GENERIC

    for seed, (prompt, form) in enumerate(
        [("在一片神秘的森林中", "qijue"), ("江边送别", "wulv"), ("山中雪夜", "wujue"), ("月下江边", "qilv")]
    ):
        _, lines, _, info = generate_poem(
            prompt, "zh", emotion_from_label("serene"), form, make_generator(seed), critic=False
        )
        place = frozenset(info["place"])
        assert place and not place & GENERIC, info
        assert 2 * sum(bool(labels_of(ln) & place) for ln in lines) >= len(lines), (place, lines)


def test_court_and_immortal_words_name_their_own_themes():
    """天子, 豪家 or 王母 hold no court or immortal character, yet name those themes; their own
    characters name nothing else (豪家 is no home), so a poem of home draws them rarely and a line
    holding one loses cohesion. Eight poems of 秋夜思乡 hold none."""
    assert labels_of("况是豪家") == {"court"} and labels_of("天子") == {"court"}
    assert labels_of("王母无端") == {"immortal"} and labels_of("仙源") == {"immortal"}
    assert {"home", "court"} <= labels_of("故园天子") and "home" in labels_of("故园")
    home = Scene(frozenset({"village", "night"}), "autumn", True, "nostalgic", themes=frozenset({"home"}))
    assert cohesion("况是豪家夜未央", home, set()) < cohesion("况是故园夜未央", home, set())
    emotion = emotion_from_label("nostalgic")
    for seed in range(8):
        _, lines, _, _ = generate_poem("秋夜思乡", "zh", emotion, "qijue", make_generator(seed))
        assert not any(labels_of(ln) & {"court", "immortal"} for ln in lines), lines


def test_generic_lines_are_kept_back():
    """A line is ranked by its loss after the lines before less a share of its loss standing alone:
    over the same seeds, the chosen lines (after the first) are less fluent alone, that is less
    generic, than when the loss alone is left out."""
    from museforge.text import verse_zh
    from museforge.text.poet import TAGS

    critic, emotion = default_critic(), emotion_from_label("nostalgic")
    if critic is None:
        pytest.skip("the built-in poet's model is not installed")
    assert verse_zh.ANTI_LM > 0
    alone = {}
    for name, share in (("off", 0.0), ("on", verse_zh.ANTI_LM)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(verse_zh, "ANTI_LM", share)
            poems = [generate_poem("秋夜思乡", "zh", emotion, "qijue", make_generator(s)) for s in range(6)]
        losses = [
            loss
            for title, lines, _, _ in poems
            for loss in critic.losses(f"{TAGS['qijue']}《{title}》\n", [ln + "，\n" for ln in lines[1:]])
        ]
        alone[name] = float(np.mean(losses))
    assert alone["on"] > alone["off"], alone
