"""The learned poet: prompt -> poem with our GPT (or a user's transformers model), forms enforced
while decoding, mood steering, co-writing (opening / theme / kept lines) and the copy guard.

``write_poem`` is the one entry point the CLI, the engine and the benchmarks call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import torch

from museforge.emotion import Emotion
from museforge.errors import MuseforgeError
from museforge.hashing import sha256_file, sha256_files
from museforge.text.constraints import form_processor
from museforge.text.forms import FORMS, check_poem, han_chars, line_syllables, split_lines
from museforge.text.hf import TextCodec
from museforge.text.sampling import SamplingConfig

POEM_FORMS = ("free", "wujue", "qijue", "wulv", "qilv", "sonnet", "haiku")
TAGS = {
    "wujue": "<wujue>",
    "qijue": "<qijue>",
    "wulv": "<wulv>",
    "qilv": "<qilv>",
    "sonnet": "<sonnet>",
    "haiku": "<verse>",
}
_STOP_ZH = set("在一片的中了着是个这那我你他她它们和与及之于把被很都也就又还吗呢吧啊呀")
_HAN = re.compile(r"[\u3400-\u9fff]")


def default_model_path() -> Path:
    """``text-poet/model.safetensors`` under the models folder (``museforge.runtime.models_root``)."""
    from museforge.runtime import models_root

    return models_root() / "text-poet" / "model.safetensors"


@cache
def default_lexicon() -> frozenset[str] | None:
    """English words the poet may use in forms: ``models/text-poet/words_en.txt`` (the training
    corpus's words that the CMU dictionary knows), or None (all CMU words) if absent."""
    path = default_model_path().parent / "words_en.txt"
    if not path.is_file():
        return None
    return frozenset(path.read_text(encoding="utf-8").split())


@dataclass
class Backend:
    """A loaded language model behind one ``generate`` call."""

    kind: str  # "museforge" | "transformers"
    model: Any
    codec: TextCodec
    sha256: str
    name: str

    def generate(
        self,
        prompt: str,
        config: SamplingConfig,
        processors: Sequence[Any],
        seed: int,
        stream: Callable[[int, str], None] | None = None,
    ) -> list[int]:
        ids = self.codec.encode(prompt)
        if not ids:
            raise MuseforgeError("the prompt has no character the model knows; rephrase it")
        if self.kind == "transformers":
            from museforge.text.hf import hf_generate

            return hf_generate(self.model, self.codec, ids, config, processors, seed, stream)
        dev = next(self.model.parameters()).device
        gen = torch.Generator(device=dev).manual_seed(seed)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # a 3M-parameter model: one thread beats contended kernels; restored below
        try:
            return self._sample(ids, config, processors, gen, stream)
        finally:
            torch.set_num_threads(threads)

    def _sample(
        self,
        ids: list[int],
        config: SamplingConfig,
        processors: Sequence[Any],
        gen: torch.Generator,
        stream: Callable[[int, str], None] | None,
    ) -> list[int]:
        from museforge.text.sampling import sample

        return sample(
            self.model.step_fn(),
            torch.tensor([ids], device=next(self.model.parameters()).device),
            config,
            processors=processors,
            generator=gen,
            eos_id=self.codec.eos_id,
            decode=self.codec.decode,
            stream=stream,
        )[0]


@cache
def load_backend(path: str = "", device: str = "cpu") -> Backend:
    """Our shipped model (``path`` empty or a .safetensors file) or a transformers folder."""
    p = Path(path) if path else default_model_path()
    if p.suffix == ".safetensors" or not path:
        from museforge.text.model import GPT

        model, tok, _ = GPT.load(p, device=device)
        sha = sha256_file(p)
        return Backend("museforge", model, TextCodec.from_char(tok), sha, p.parent.name)
    from museforge.text.hf import load_causal_lm

    model, codec = load_causal_lm(path, device=device)
    weights = sorted(Path(path).glob("*.safetensors")) + sorted(Path(path).glob("*.bin"))
    return Backend("transformers", model, codec, sha256_files(weights), Path(path).name)


class MoodBias:
    """Logit bias toward mood vocabulary: the next character of any mood word the text could be
    spelling (the first character at a word start) gets ``+strength``."""

    def __init__(
        self,
        words: Sequence[str],
        token_strings: Sequence[str],
        decode: Callable,
        prompt_len: int,
        strength: float,
        word_level: bool,
    ) -> None:
        self.words = [w for w in dict.fromkeys(words) if w]
        self.by_text: dict[str, list[int]] = {}
        for i, s in enumerate(token_strings):
            if len(s) == 1:
                self.by_text.setdefault(s, []).append(i)
        self.decode = decode
        self.prompt_len = prompt_len
        self.strength = strength
        self.word_level = word_level

    def next_chars(self, text: str) -> set[str]:
        """Characters that would start or continue a mood word after ``text``."""
        if self.word_level:
            m = re.search(r"[A-Za-z']*$", text)
            partial = m.group(0).lower() if m else ""
            if partial == "" and text and text[-1].isalpha():
                return set()
            return {w[len(partial)] for w in self.words if len(w) > len(partial) and w.startswith(partial)}
        out = {w[0] for w in self.words}
        for w in self.words:
            for k in range(1, len(w)):
                if text.endswith(w[:k]):
                    out.add(w[k])
        return out

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self.strength == 0:
            return scores
        scores = scores.clone()
        for row in range(input_ids.shape[0]):
            text = self.decode(input_ids[row, self.prompt_len :].tolist())
            ids = [i for c in self.next_chars(text) for i in self.by_text.get(c, [])]
            ids += (
                [i for c in self.next_chars(text) for i in self.by_text.get(c.upper(), [])]
                if self.word_level
                else []
            )
            if ids:
                scores[row, ids] += self.strength
        return scores


@cache
def mood_vocabulary(label: str, lang: str) -> tuple[str, ...]:
    """Mood words: ``MOOD_WORDS`` plus the emotion lexicon's terms for the mood (weight >= 2)."""
    from museforge.emotion.detect import load_lexicon
    from museforge.emotion.mapping import imagery

    words = list(imagery(label)[lang])
    lex = load_lexicon(lang)
    for term, moods in lex.entries.items():
        if moods.get(label, 0) >= 2 and max(moods, key=moods.get) == label:
            if lang == "en" and " " not in term:
                words.append(term.lower())
            elif lang == "zh" and len(term) <= 2:
                words.append(term)
    return tuple(words)


@dataclass
class Poem:
    """A written poem and how it came to be."""

    title: str
    lines: list[str]
    text: str
    form: str
    lang: str
    notes: list[str] = field(default_factory=list)
    violations: list[dict] = field(default_factory=list)
    copy_hits_first: int = 0
    copy_hits: int = 0
    tries: int = 1
    seed: int = 0


def detect_lang(text: str) -> str:
    return "zh" if _HAN.search(text) else "en"


def theme_title(prompt: str, lang: str) -> str:
    """A short title from a prompt used as a theme.

    >>> theme_title("在一片神秘的森林中，", "zh")
    '神秘森林'
    """
    if lang == "zh":
        chars = [c for c in han_chars(prompt) if c not in _STOP_ZH]
        return "".join(chars[:6])
    return " ".join(prompt.split()[:6]).strip(" ,.;:!?")


def fitting_opening(prompt: str, form: str) -> list[str] | None:
    """The prompt's lines if they can open the form (each a whole line of the right length)."""
    spec = FORMS[form]
    if spec.lang == "zh":
        parts = [p for p in re.split(r"[，。！？；、,.!?;\n]+", prompt) if p.strip()]
        need = spec.length[0] if spec.length else 7
        if (
            parts
            and len(parts) < spec.lines
            and all(len(han_chars(p)) == need == len(p.strip()) for p in parts)
        ):
            return [p.strip() for p in parts]
        return None
    parts = [p.strip() for p in prompt.split("\n") if p.strip()]
    if len(parts) == 1 and prompt.strip().count("/"):
        parts = [p.strip() for p in prompt.split("/") if p.strip()]
    need = spec.length or (10,) * spec.lines
    from museforge.text.constraints import _cmu

    words, _ = _cmu()
    if not parts or len(parts) >= spec.lines:
        return None
    for i, p in enumerate(parts):
        ws = re.findall(r"[A-Za-z']+", p)
        if not ws or any(w.lower() not in words for w in ws) or line_syllables(p) != need[i]:
            return None
    return parts


def format_poem(title: str, lines: list[str], lang: str) -> str:
    if lang == "zh":
        body = "\n".join(ln + ("。" if i % 2 or i == len(lines) - 1 else "，") for i, ln in enumerate(lines))
        return (f"《{title}》\n\n" if title else "") + body + "\n"
    return (f"{title}\n\n" if title else "") + "\n".join(lines) + "\n"


def write_poem(
    backend: Backend,
    prompt: str,
    form: str = "free",
    *,
    emotion: Emotion | None = None,
    config: SamplingConfig | None = None,
    seed: int = 0,
    keep: dict[int, str] | None = None,
    mood_strength: float = 3.0,
    guard: bool = True,
    max_tries: int = 8,
    stream: Callable[[int, str], None] | None = None,
    rhymes: str = "modern",
) -> Poem:
    """Write one poem; see the module docstring. ``keep`` maps 0-based line numbers to fixed text;
    ``rhymes`` is the Chinese rhyme book (``forms.RHYME_BOOKS``)."""
    if form not in POEM_FORMS:
        raise MuseforgeError(f"unknown form {form!r}; choose one of: {', '.join(POEM_FORMS)}")
    prompt = (prompt or "").strip()
    keep = dict(keep or {})
    if not prompt and not keep:
        raise MuseforgeError("the prompt is empty; give a theme or the poem's opening")
    lang = FORMS[form].lang if form != "free" else detect_lang(prompt or "".join(keep.values()))
    notes: list[str] = []
    if missing := backend.codec.unknown(prompt):
        notes.append(
            "the model's vocabulary lacks these characters, which were left out: " + "".join(missing)
        )
    cfg = config or SamplingConfig(
        temperature=0.8, top_k=40, repetition_penalty=1.1, max_new_tokens=120 if form == "free" else 900
    )
    opening: list[str] | None = None
    title = ""
    if form == "free":
        head = "<zhfree>《" + theme_title(prompt, lang) + "》\n" if lang == "zh" else "<verse>\n"
        body_prefix = prompt
    else:
        opening = fitting_opening(prompt, form) if prompt else None
        if opening:
            for i, ln in enumerate(opening):
                keep.setdefault(i, ln)
            notes.append(f"the prompt opens the poem ({len(opening)} line{'s' if len(opening) > 1 else ''})")
            title = theme_title(prompt, lang) if lang == "zh" else ""
        elif prompt:
            title = theme_title(prompt, lang)
            notes.append(f"the prompt does not fit a {form} line, so it is the poem's theme")
        head = TAGS[form] + (f"《{title}》\n" if lang == "zh" else "\n")
        body_prefix = ""
    if backend.kind == "transformers" and not backend.codec.token_strings[backend.codec.eos_id :].__len__():
        raise MuseforgeError("the model's tokenizer has no end-of-text token")
    if backend.kind == "transformers" and "<" not in "".join(backend.codec.token_strings[:20]):
        head = f"{title}\n" if title else ""  # a general model gets no form tag
    poem = None
    first_hits = 0
    from museforge.originality.text import default_index

    index = default_index() if guard else None
    for attempt in range(max_tries):
        s = seed + attempt * 1_000_003
        ctx = head + body_prefix
        n0 = len(backend.codec.encode(ctx))
        procs: list[Any] = []
        if emotion is not None and mood_strength:
            procs.append(
                MoodBias(
                    mood_vocabulary(emotion.label, lang),
                    backend.codec.token_strings,
                    backend.codec.decode,
                    n0,
                    mood_strength,
                    word_level=lang == "en",
                )
            )
        if title and form != "free":  # the theme: a small bias toward its characters / words
            theme = (
                list(title)
                if lang == "zh"
                else [w for w in re.findall(r"[a-z']+", title.lower()) if len(w) > 2]
            )
            procs.append(
                MoodBias(theme, backend.codec.token_strings, backend.codec.decode, n0, 0.7, lang == "en")
            )
        if form != "free":
            procs.append(
                form_processor(
                    form,
                    backend.codec.token_strings,
                    backend.codec.eos_id,
                    backend.codec.decode,
                    n0,
                    keep=keep,
                    lexicon=default_lexicon(),
                    rhymes=rhymes,
                )
            )
        new = backend.generate(ctx, cfg, procs, s, stream if attempt == 0 else None)
        out = backend.codec.decode(new)
        if form == "free":
            text = body_prefix + out
            lines = [ln for ln in text.split("\n") if ln.strip()]
            body = "\n".join(lines) + "\n"
            poem_text = body
        else:
            lines = [
                ln.strip().rstrip("，。,;:.!?") if lang == "zh" else ln.strip()
                for ln in out.split("\n")
                if ln.strip()
            ]
            if lang == "zh":
                lines = [han_chars(ln) for ln in lines]
            for i, kept in keep.items():  # verbatim, even characters the model lacks
                if i < len(lines):
                    lines[i] = kept
            poem_text = format_poem(title, lines, lang)
        hits = index.hits(lines, lang) if index is not None else []
        # the person's own words (prompt, kept lines) are not the poet's copying
        own = [
            han_chars(t) if lang == "zh" else " ".join(re.findall(r"[a-z']+", t.lower()))
            for t in [body_prefix, *keep.values()]
            if t
        ]
        kept_hits = [h for h in hits if not any(h.split(":", 1)[1] in o for o in own)]
        if attempt == 0:
            first_hits = len(kept_hits)
        poem = Poem(
            title,
            lines,
            poem_text,
            form,
            lang,
            list(notes),
            copy_hits_first=first_hits,
            copy_hits=len(kept_hits),
            tries=attempt + 1,
            seed=s,
        )
        if not kept_hits:
            break
    assert poem is not None
    if poem.copy_hits:
        poem.notes.append(
            f"still {poem.copy_hits} passage(s) found in the training corpus after {max_tries} tries"
        )
    elif poem.tries > 1:
        poem.notes.append(f"resampled {poem.tries - 1} time(s) to avoid copying the training corpus")
    if form != "free":
        poem.violations = [v.to_dict() for v in check_poem(poem.text, form, rhymes)]
    return poem


def parse_keep(spec: str, text: str, form: str) -> dict[int, str]:
    """``keep`` (``"1,3"``) with the poem in ``text``: 0-based line -> that line's text."""
    try:
        nums = [int(x) for x in spec.split(",") if x.strip()]
    except ValueError as err:
        raise MuseforgeError(f"keep takes line numbers like 1,3, not {spec!r}") from err
    lang = FORMS[form].lang if form in FORMS else detect_lang(text)
    lines = split_lines(text, lang)
    out = {}
    for n in nums:
        if not 1 <= n <= len(lines):
            raise MuseforgeError(f"keep {n}: the poem has {len(lines)} lines")
        out[n - 1] = han_chars(lines[n - 1]) if lang == "zh" else lines[n - 1]
    return out
