"""The learned poet engine: the shipped char-level GPT (or a user's transformers model) with the
form enforced while decoding; falls back to the rule poet if the model is missing or a form
fault on line count, length or rhyme remains."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from museforge.engines import Artifact, Engine, OutputFile, Request
from museforge.errors import MuseforgeError
from museforge.text.poet import POEM_FORMS, default_model_path, load_backend, write_poem

LEARNED_FORMS = ("auto", *POEM_FORMS, "quatrain")


@dataclass(frozen=True)
class LearnedPoetParams:
    form: str = field(
        default="auto",
        metadata={"help": "auto (Chinese: qijue, English: haiku), " + ", ".join(LEARNED_FORMS[1:])},
    )
    model: str = field(
        default="",
        metadata={"help": "a museforge .safetensors file or a transformers folder (default: built-in)"},
    )
    temperature: float = field(default=0.8, metadata={"help": "sampling temperature"})
    top_k: int = field(default=40, metadata={"help": "keep the k likeliest tokens (0 = off)"})
    mood_strength: float = field(default=3.0, metadata={"help": "logit bias toward mood words"})

    def __post_init__(self) -> None:
        if self.form not in LEARNED_FORMS:
            raise MuseforgeError(f"unknown form {self.form!r}; choose one of: {', '.join(LEARNED_FORMS)}")


class LearnedPoet(Engine):
    name = "learned-poet"
    modality = "text"
    version = "1"
    description = (
        "learned poet: a small GPT trained on Tang poems and Shakespeare, with the form (line "
        "count, length, rhyme, tones / syllables) enforced while decoding"
    )
    Params = LearnedPoetParams
    # Below the rule poet: at 2.8 M parameters its verse is valid but less coherent, so `create`
    # keeps the rule poet unless asked (--engine text=learned-poet); `museforge poem` uses it.
    priority = 5

    def model_sha256(self, params: LearnedPoetParams) -> str | None:
        if not params.model and not default_model_path().is_file():
            return None
        return load_backend(params.model or "").sha256

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        from museforge.text.rule_poet import RulePoet, RulePoetParams
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
            repetition_penalty=1.1,
            max_new_tokens=120 if form == "free" else 900,
        )
        poem = write_poem(
            backend,
            request.prompt,
            form,
            emotion=request.emotion,
            config=cfg,
            seed=seed,
            mood_strength=params.mood_strength,
        )
        request.progress("writing", 1.0)
        hard = [v for v in poem.violations if v["kind"] in ("lines", "length", "rhyme")]
        if hard and form in RulePoetParams.__dataclass_fields__["form"].metadata["help"]:
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
                "model": backend.name,
                "copy_hits_first": poem.copy_hits_first,
                "copy_hits": poem.copy_hits,
                "tries": poem.tries,
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

        rp_form = form if form in ("wujue", "qijue", "wulv", "qilv", "haiku", "quatrain") else "auto"
        art = rule().run(replace(request, params=rule_params(form=rp_form)), generator)
        art.warnings = warnings + art.warnings
        return art
