"""The rule-based poet: the simplest honest text engine, a grammar and word-bank composer.

No language model is involved: lines are assembled from hand-written word banks (imagery by
motif, feeling by mood) under the rules of the form, and every result is checked with
``forms.check_poem``; the faults left (usually none, at most tone faults) are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from museforge.emotion import Emotion
from museforge.engines import Artifact, Engine, OutputFile, Request, param
from museforge.errors import MuseforgeError
from museforge.runtime import numpy_rng
from museforge.text import poet_en, poet_zh
from museforge.text.forms import FORMS, check_poem, get_form

FORM_CHOICES = ("auto", *(f for f in FORMS if f != "sonnet"))  # sonnets: the learned poet


@dataclass(frozen=True)
class RulePoetParams:
    form: str = param("auto", "the form; auto: qijue for Chinese, quatrain for English", choices=FORM_CHOICES)
    title: bool = param(True, "put a title above the poem")

    def __post_init__(self) -> None:
        if self.form not in FORM_CHOICES:
            raise MuseforgeError(
                f"unknown form {self.form!r}; choose one of: {', '.join(FORM_CHOICES)}"
            )


def generate_poem(prompt: str, lang: str, emotion: Emotion, form: str,
                  generator: torch.Generator) -> tuple[str, list[str], str]:
    """``(title, lines, form)`` for a prompt; ``form`` may be ``"auto"``."""
    if form == "auto":
        form = "qijue" if lang.startswith("zh") else "quatrain"
    spec = get_form(form)
    rng = numpy_rng(generator)
    if spec.lang == "zh":
        title, lines = poet_zh.compose(prompt, emotion, spec, rng)
    elif form == "haiku":
        title, lines = poet_en.compose_haiku(prompt, emotion, rng)
    else:
        title, lines = poet_en.compose_quatrain(prompt, emotion, rng)
    return title, lines, form


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
    version = "1"
    description = (
        "rule-based poet: composes regulated Chinese verse (jueju, lüshi) and English quatrains "
        "or haiku from hand-written word banks and form rules; no learned language model"
    )
    Params = RulePoetParams
    priority = 10

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        params = request.params
        if not isinstance(params, RulePoetParams):
            raise MuseforgeError("rule-poet needs RulePoetParams; build them with make_params")
        request.progress("composing", 0.0)
        title, lines, form = generate_poem(
            request.prompt, request.lang, request.emotion, params.form, generator
        )
        lang = FORMS[form].lang
        text = format_poem(title if params.title else None, lines, lang)
        violations = check_poem(text, form)
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
            },
        )
