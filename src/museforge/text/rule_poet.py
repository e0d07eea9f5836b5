"""The rule-based poet, the default text engine: verse correct by construction.

Chinese regulated verse is assembled from a phrase bank grown from the Tang corpus (``verse_bank``,
``verse_zh``) so that line count, length, rhyme and the tone pattern hold under modern readings and
under the Pingshui book alike; English quatrains, sonnets and haiku come from template lines
(``poet_en``). Several candidates are written and the built-in language model, when installed, keeps
the most fluent (``critic``). Every result is still checked with ``forms.check_poem`` and any fault
reported. Version 9: a prompt naming a theme and no place takes the theme's landscape (塞外: the
mountains and passes, not the mood's forest). Version 8: a candidate line is ranked by its loss
less 0.4 of its loss standing alone (generic lines, fluent anywhere, are kept back); court words
(天子, 昭阳, 豪家) and the immortals' (蓬莱, 王母) name themes of their own, drawn rarely in a poem
of home. Version 7: the first line is fitted to
the prompt's characters. Version 6: the line fit is the cosine of the characters' vectors (the
PPMI's leading singular vectors), a line's tail that fits the lines before poorly costs (内家香 in a
poem of home), and at least half the lines name the prompt's own place. Version 5: each candidate
line and each draft is also ranked by its fit with the lines before it (``line_fit``: characters
Tang poets put in one poem); a prompt naming the night keeps dusk (夕阳, 日暮) out; ages and spans (七岁,
半年) join the counts of years. Version 4: lines that parse (kinds sequences the corpus holds, heads
in their corpus slots), a phrase bank without units tied to one poem or without a content word,
counts of years only once in a past-present poem, dynasties rarely, more drafts while none reads
back the mood, more haiku feelings. Version 3: one scene per poem (motifs, season, time and theme; a
cohesion bonus beside the critic's loss), no names of persons or offices, titles fitting the scene,
English endings from rhyme sets grouped by sound (version 2: the phrase bank and the critic; version
1: hand-written word banks only).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from museforge.emotion import Emotion
from museforge.engines import Artifact, Engine, OutputFile, Request, param
from museforge.errors import MuseforgeError
from museforge.runtime import numpy_rng
from museforge.text import poet_en, poet_zh
from museforge.text.forms import FORMS, RHYME_BOOKS, check_poem, get_form
from museforge.text.poet import TAGS

FORM_CHOICES = ("auto", *FORMS)


@dataclass(frozen=True)
class RulePoetParams:
    form: str = param("auto", "the form; auto: qijue for Chinese, quatrain for English", choices=FORM_CHOICES)
    title: bool = param(True, "put a title above the poem")
    rhymes: str = param(
        "modern",
        "the rhyme book the poem is checked by (it keeps both): modern "
        "readings (13 groups) or the Pingshui book of Tang verse",
        choices=RHYME_BOOKS,
    )

    def __post_init__(self) -> None:
        if self.form not in FORM_CHOICES:
            raise MuseforgeError(f"unknown form {self.form!r}; choose one of: {', '.join(FORM_CHOICES)}")
        if self.rhymes not in RHYME_BOOKS:
            raise MuseforgeError(
                f"unknown rhyme book {self.rhymes!r}; choose one of: {', '.join(RHYME_BOOKS)}"
            )


def generate_poem(
    prompt: str, lang: str, emotion: Emotion, form: str, generator: torch.Generator, critic: bool = True
) -> tuple[str, list[str], str, dict]:
    """``(title, lines, form, how it was chosen)`` for a prompt; ``form`` may be ``"auto"``;
    ``critic``: rank candidates with the built-in model when it is installed."""
    from museforge.text.critic import default_critic

    if form == "auto":
        form = "qijue" if lang.startswith("zh") else "quatrain"
    spec = get_form(form)
    rng = numpy_rng(generator)
    judge = default_critic() if critic else None
    info: dict = {}
    if spec.lang == "zh":
        title, lines, info = poet_zh.compose(prompt, emotion, spec, rng, judge, TAGS[form])
    elif form == "haiku":
        title, lines = poet_en.compose_haiku(prompt, emotion, rng, judge)
    elif form == "sonnet":
        title, lines = poet_en.compose_sonnet(prompt, emotion, rng, judge)
    else:
        title, lines = poet_en.compose_quatrain(prompt, emotion, rng, judge)
    return title, lines, form, info


def format_poem(title: str | None, lines: list[str], lang: str) -> str:
    """The poem as text: an optional title, a blank line, one verse line per text line.

    >>> print(format_poem("登楼", ["白日依山尽", "黄河入海流"], "zh"))
    《登楼》
    <BLANKLINE>
    白日依山尽，
    黄河入海流。
    <BLANKLINE>
    """
    if lang == "zh":
        lines = [ln + ("。" if i % 2 else "，") for i, ln in enumerate(lines)]
        head = f"《{title}》" if title else None
    else:
        head = title
    body = "\n".join(lines)
    return f"{head}\n\n{body}\n" if head else body + "\n"


class RulePoet(Engine):
    name = "rule-poet"
    modality = "text"
    version = "9"
    description = (
        "rule-based poet: composes regulated Chinese verse (jueju, lüshi) from a phrase bank of "
        "Tang verse, and English quatrains, sonnets or haiku from template lines, every rule kept "
        "by construction; the built-in language model ranks the candidates"
    )
    Params = RulePoetParams
    priority = 10

    def model_sha256(self, params: RulePoetParams) -> str | None:
        """The critic's weights (the built-in poet's model), which choose among the candidates."""
        from museforge.text.critic import default_critic

        critic = default_critic()
        return critic.sha256 if critic is not None else None

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        params = request.params
        if not isinstance(params, RulePoetParams):
            raise MuseforgeError("rule-poet needs RulePoetParams; build them with make_params")
        request.progress("composing", 0.0)
        title, lines, form, info = generate_poem(
            request.prompt, request.lang, request.emotion, params.form, generator
        )
        lang = FORMS[form].lang
        text = format_poem(title if params.title else None, lines, lang)
        violations = check_poem(text, form, params.rhymes)
        request.progress("composing", 1.0)
        return Artifact(
            "text",
            [OutputFile("poem.txt", text.encode("utf-8"), "text/plain")],
            summary={
                "title": title if params.title else "",
                "text": text,
                "form": form,
                "lang": lang,
                "violations": [v.to_dict() for v in violations],
                **({"chosen": info} if info else {}),
            },
        )
