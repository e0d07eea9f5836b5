"""The learned poet engine: the shipped char-level GPT (or a user's transformers model) with the
form enforced while decoding; falls back to the rule poet if the model is missing or a form
fault on line count, length or rhyme remains."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from museforge.engines import Artifact, Engine, InputSpec, OutputFile, Request, param
from museforge.errors import MuseforgeError
from museforge.text.forms import RHYME_BOOKS
from museforge.text.poet import POEM_FORMS, default_model_path, load_backend, parse_keep, write_poem

LEARNED_FORMS = ("auto", *POEM_FORMS, "quatrain")


@dataclass(frozen=True)
class LearnedPoetParams:
    form: str = param("auto", "the form; auto: qijue for Chinese, haiku for English", choices=LEARNED_FORMS)
    model: str = param(
        "", "a museforge .safetensors file or a local transformers causal-LM folder (default: built-in)"
    )
    rhymes: str = param(
        "modern",
        "Chinese rhyme and tone by modern readings (13 groups) or by the "
        "Pingshui rhyme book of Tang verse (106 groups, entering tone oblique)",
        choices=RHYME_BOOKS,
    )
    keep: str = param("", "with a draft: keep these lines (e.g. 1,3), rewrite the rest")
    temperature: float = param(0.8, "sampling temperature; 0 = greedy", range=(0.0, 5.0))
    top_k: int = param(40, "keep the k likeliest tokens; 0 = off", range=(0, 100_000))
    top_p: float = param(1.0, "nucleus sampling mass (1.0 = off)", range=(0.0, 1.0))
    repetition_penalty: float = param(1.1, "> 1 discourages repeats", range=(0.1, 10.0))
    no_repeat_ngram: int = param(0, "forbid repeating n-grams of this size (0 = off)", range=(0, 64))
    min_new_tokens: int = param(0, "no end of text before this many tokens", range=(0, 10_000))
    max_new_tokens: int = param(0, "token limit (0: 120 for free, 900 for forms)", range=(0, 10_000))
    stop: str = param("", "stop when the decoded text contains one of these lines (one per line)")
    mood_strength: float = param(3.0, "logit bias added to mood words (0: no steering)", range=(0.0, 50.0))
    guard: bool = param(True, "regenerate a poem that repeats the training corpus")


class LearnedPoet(Engine):
    name = "learned-poet"
    modality = "text"
    version = "1"
    description = (
        "learned poet: a small GPT trained on Tang poems and Shakespeare, with the form (line "
        "count, length, rhyme, tones / syllables) enforced while decoding"
    )
    Params = LearnedPoetParams
    inputs = (InputSpec("draft", "text", "a poem whose lines 'keep' keeps", required=False),)
    # Below the rule poet: at 2.8 M parameters its verse is valid but less coherent, so `create`
    # keeps the rule poet unless asked (--engine text=learned-poet); `museforge poem` uses it.
    priority = 5

    @classmethod
    def check(cls, params: LearnedPoetParams) -> None:
        if params.model:
            load_backend(params.model)  # a missing or malformed model fails before anything runs

    @classmethod
    def check_inputs(cls, params: LearnedPoetParams, inputs: Mapping[str, Any]) -> None:
        if bool(params.keep) != bool(inputs.get("draft")):
            raise MuseforgeError("keep and a draft go together: --keep 1,3 --from poem.txt")
        if params.keep:
            _keep(params, inputs["draft"][0].data)

    def model_sha256(self, params: LearnedPoetParams) -> str | None:
        if not params.model and not default_model_path().is_file():
            return None
        return load_backend(params.model or "").sha256

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        from museforge.text.rule_poet import FORM_CHOICES, RulePoet, RulePoetParams
        from museforge.text.sampling import SamplingConfig

        params = request.params
        if not isinstance(params, LearnedPoetParams):
            raise MuseforgeError("learned-poet needs LearnedPoetParams; build them with make_params")
        form = params.form
        if form == "auto":
            form = "qijue" if request.lang.startswith("zh") else "haiku"
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator).item())
        warnings: list[str] = []
        if not params.model and not default_model_path().is_file():
            warnings.append("the learned poet's model is missing; the rule poet wrote this poem")
            return self._fallback(request, generator, form, warnings, RulePoet, RulePoetParams)
        request.progress("writing", 0.0)
        backend = load_backend(params.model or "", request.device)
        cfg = SamplingConfig(
            temperature=params.temperature,
            top_k=params.top_k,
            top_p=params.top_p,
            min_new_tokens=params.min_new_tokens,
            max_new_tokens=params.max_new_tokens or (120 if form == "free" else 900),
            repetition_penalty=params.repetition_penalty,
            no_repeat_ngram_size=params.no_repeat_ngram,
            stop_strings=tuple(s for s in params.stop.split("\n") if s),
        )
        draft = request.input("draft")
        poem = write_poem(
            backend,
            request.prompt,
            form,
            emotion=request.emotion if params.mood_strength else None,
            config=cfg,
            seed=seed,
            keep=_keep(params, draft.data) if draft and params.keep else None,
            mood_strength=params.mood_strength,
            guard=params.guard,
            stream=request.stream,
            rhymes=params.rhymes,
        )
        request.progress("writing", 1.0)
        hard = [v for v in poem.violations if v["kind"] in ("lines", "length", "rhyme")]
        if hard and form in FORM_CHOICES:
            warnings.append("the learned poet left form faults; the rule poet wrote this poem")
            return self._fallback(request, generator, form, warnings, RulePoet, RulePoetParams)
        return Artifact(
            "text",
            [OutputFile("poem.txt", poem.text.encode("utf-8"), "text/plain")],
            summary={
                "title": poem.title,
                "text": poem.text,
                "form": form,
                "lang": poem.lang,
                "violations": poem.violations,
                "notes": poem.notes,
                "lines": poem.lines,
                "model": backend.name,
                "copy_hits_first": poem.copy_hits_first,
                "copy_hits": poem.copy_hits,
                "tries": poem.tries,
                "seed": poem.seed,
            },
            warnings=warnings,
        )

    @staticmethod
    def _fallback(
        request: Request,
        generator: torch.Generator,
        form: str,
        warnings: list[str],
        rule: type,
        rule_params: type,
    ) -> Artifact:
        from dataclasses import replace

        from museforge.text.rule_poet import FORM_CHOICES

        rp_form = form if form in FORM_CHOICES else "auto"  # every fixed form, the sonnet included
        rhymes = getattr(request.params, "rhymes", "modern")
        art = rule().run(replace(request, params=rule_params(form=rp_form, rhymes=rhymes)), generator)
        art.warnings = warnings + art.warnings
        return art


def _keep(params: LearnedPoetParams, draft: bytes) -> dict[int, str]:
    """The kept lines of a draft (0-based line -> text), with one-line errors."""
    try:
        text = draft.decode("utf-8")
    except UnicodeDecodeError:
        raise MuseforgeError("the draft is not UTF-8 text") from None
    form = params.form if params.form != "auto" else "free"
    return parse_keep(params.keep, text, form)
