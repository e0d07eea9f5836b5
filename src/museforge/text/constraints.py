"""Form constraints enforced while decoding, as logits processors.

A processor sees the ids so far and the scores of the next token and sets to -inf every token
whose text would break the form. It needs only each token's text (``token_strings``), so the
same processor serves our char-level model and a user's transformers model (BPE tokens whose
text is whole Han characters or whole structural marks are handled; others are masked).

Chinese (``ZhFormProcessor``): a line is exactly L Han characters, then ，(odd lines) or 。(even
lines) and a newline; after the last line, end of text. On the positions the form fixes, only
characters whose every reading has the required tone (平 level / 仄 oblique, or an unchecked
one) are allowed: the 2nd, 4th, 6th characters alternate, line 2nd characters follow 对/粘
(pattern s, ~s, ~s, s, s, ~s, ~s, s from the first line's 2nd character), even lines end in a
level character of the poem's rhyme group (set by the first even line; every reading must fall
in that group; no rhyme character twice), odd lines after the first end oblique. Kept lines are
forced character by character.

English (``EnFormProcessor``): letters build words that must be (prefixes of) CMU-dictionary
words; a line reaches exactly its syllable count (haiku 5-7-5, sonnet 10) and its last word must
rhyme with the partner line (ABAB CDCD EFEF GG). Checked on the likeliest ``top_candidates``
tokens (then on all, if none of those fits).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache

import torch

from museforge.text.forms import (
    EITHER_TONE,
    ENTERING_LEVEL,
    RHYME_PAIRS,
    Form,
    _rhyme_keys,
    get_form,
    rhyme_group,
)

_HAN_ONLY = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
PATTERN = (0, 1, 1, 0, 0, 1, 1, 0)
"""Tone of each line's 2nd character relative to the first line's (0 same, 1 opposite): 对 and 粘."""


@cache
def char_phonology(ch: str) -> tuple[str | None, str | None]:
    """``(tone class, rhyme group)`` of a Han character over all its readings.

    Tone class ``"P"``/``"Z"`` when every reading agrees (or is unchecked), ``None`` when no reading
    is checked (``EITHER_TONE``, neutral), ``"X"`` when readings disagree; the group is None
    when the readings' rhyme groups differ.

    >>> char_phonology("山"), char_phonology("月")
    (('P', 'an'), ('Z', None))
    """
    from pypinyin import Style, pinyin

    if ch in EITHER_TONE:
        tone: str | None = None
    elif ch in ENTERING_LEVEL:
        tone = "Z"
    else:
        digits = {
            s[-1]
            for s in pinyin(ch, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)[0]
            if s and s[-1].isdigit()
        }
        classes = {"P" if d in "12" else "Z" for d in digits if d in "1234"}
        tone = classes.pop() if len(classes) == 1 else ("X" if classes else None)
    finals = {rhyme_group(f) for f in pinyin(ch, style=Style.FINALS, heteronym=True)[0] if f}
    return tone, (finals.pop() if len(finals) == 1 else None)


@cache
def phonology(ch: str, rhymes: str = "modern") -> tuple[str | None, str | None]:
    """``char_phonology`` by the modern readings, or by the Pingshui book (``rhymes="pingshui"``):
    its tone where the book gives one (modern reading for characters it lacks), its level
    rhyme group where the character has exactly one.

    >>> phonology("白", "pingshui"), phonology("家", "pingshui")
    (('Z', None), ('P', '下平六麻'))
    """
    if rhymes == "modern":
        return char_phonology(ch)
    from museforge.text import pingshui

    tone = pingshui.tone(ch) or char_phonology(ch)[0]
    level = pingshui.groups(ch)
    return tone, (next(iter(level)) if len(level) == 1 else None)


class _Vocab:
    """Token texts sorted into Han tokens (as a char-index matrix) and structural tokens."""

    def __init__(self, token_strings: Sequence[str], rhymes: str = "modern") -> None:
        han = [(i, s) for i, s in enumerate(token_strings) if s and _HAN_ONLY.match(s)]
        self.chars = sorted({c for _, s in han for c in s})
        self.char_index = {c: k for k, c in enumerate(self.chars)}
        width = max((len(s) for _, s in han), default=1)
        self.han_ids = torch.tensor([i for i, _ in han], dtype=torch.long)
        self.han_len = torch.tensor([len(s) for _, s in han], dtype=torch.long)
        mat = torch.full((len(han), width), len(self.chars), dtype=torch.long)  # pad = extra index
        for r, (_, s) in enumerate(han):
            mat[r, : len(s)] = torch.tensor([self.char_index[c] for c in s])
        self.han_mat = mat
        self.by_text: dict[str, list[int]] = {}
        for i, s in enumerate(token_strings):
            self.by_text.setdefault(s, []).append(i)
        phon = [phonology(c, rhymes) for c in self.chars]
        self.tone = [t for t, _ in phon]
        self.group = [g for _, g in phon]
        tone_t = self.tone
        self.mask_p = torch.tensor([t in ("P", None) for t in tone_t] + [True])
        self.mask_z = torch.tensor([t in ("Z", None) for t in tone_t] + [True])
        self.definite = {
            "P": torch.tensor([t == "P" for t in tone_t] + [True]),
            "Z": torch.tensor([t == "Z" for t in tone_t] + [True]),
        }
        counts: dict[str, int] = {}
        for t, g in phon:
            if t == "P" and g:
                counts[g] = counts.get(g, 0) + 1
        # groups with room for a whole poem's rhymes: 40+ level characters, or the five largest
        fifth = sorted(counts.values(), reverse=True)[min(4, len(counts) - 1)] if counts else 0
        self.rich_groups = {g for g, n in counts.items() if n >= min(40, fifth)}
        self.group_mask = {g: torch.tensor([x == g for x in self.group] + [True]) for g in counts}
        self.rich_mask = torch.tensor([g in self.rich_groups for g in self.group] + [True])


@cache
def _vocab(token_strings: tuple[str, ...], rhymes: str = "modern") -> _Vocab:
    return _Vocab(token_strings, rhymes)


def _opp(t: str) -> str:
    return "Z" if t == "P" else "P"


class ZhFormProcessor:
    """Chinese regulated verse: line count, line length, punctuation, rhyme and tones."""

    def __init__(
        self,
        form: str | Form,
        token_strings: Sequence[str],
        eos_id: int,
        decode: Callable[[Sequence[int]], str],
        prompt_len: int,
        prefix: str = "",
        keep: dict[int, str] | None = None,
        tones: bool = True,
        rhymes: str = "modern",
    ) -> None:
        self.form = get_form(form) if isinstance(form, str) else form
        self.rhymes = rhymes
        self.n = self.form.lines
        self.length = self.form.length[0] if self.form.length else 7
        self.v = _vocab(tuple(token_strings), rhymes)
        self.eos_id = eos_id
        self.decode = decode
        self.prompt_len = prompt_len
        self.prefix = prefix
        self.keep = {i: "".join(_HAN_ONLY_CHARS.findall(t)) for i, t in (keep or {}).items()}
        self.tones = tones

    def _phon(self, ch: str) -> tuple[str | None, str | None]:
        return phonology(ch, self.rhymes)

    def _state(self, text: str) -> tuple[list[str], str, str]:
        """Completed lines' Han chars, the current line's Han chars and its tail after them."""
        parts = text.split("\n")
        done = ["".join(_HAN_ONLY_CHARS.findall(p)) for p in parts[:-1]]
        cur = parts[-1]
        han = "".join(_HAN_ONLY_CHARS.findall(cur))
        tail = cur[len(cur.rstrip("，。！？；、,.")) :] if han else ""
        return done, han, tail

    def _known_lines(self, done: list[str], cur: str) -> dict[int, str]:
        known = {i: t for i, t in self.keep.items()}
        for i, t in enumerate(done):
            known[i] = t
        if cur:
            known[len(done)] = cur
        return known

    def _base_tone(self, known: dict[int, str]) -> str | None:
        for i in sorted(known):
            t = known[i]
            if i < len(PATTERN) and len(t) >= 2:
                tone = self._phon(t[1])[0]
                if tone in ("P", "Z"):
                    return tone if PATTERN[i] == 0 else _opp(tone)
        return None

    def _fallback_group(self, line: str) -> str | None:
        """The rhyme group of a line whose last character has several: in context (modern), or
        the first of its Pingshui level groups that the vocabulary can rhyme in."""
        if self.rhymes == "modern":
            from museforge.text.forms import line_final_group

            return line_final_group(line)
        from museforge.text import pingshui

        return next((g for g in sorted(pingshui.groups(line[-1])) if g in self.v.group_mask), None)

    def _rhyme(self, known: dict[int, str]) -> tuple[str | None, set[str]]:
        group = None
        used: set[str] = set()
        for i in sorted(known):
            t = known[i]
            if i % 2 == 1 and len(t) == self.length:
                used.add(t[-1])
                if group is None:
                    group = self._phon(t[-1])[1] or self._fallback_group(t)
        return group, used

    def char_mask(self, line: int, pos: int, known: dict[int, str]) -> torch.Tensor:
        """Allowed Han characters (over ``chars`` + pad) at 0-based ``line``, ``pos``."""
        v = self.v
        if line in self.keep and pos < len(self.keep[line]):
            m = torch.zeros(len(v.chars) + 1, dtype=torch.bool)
            k = v.char_index.get(self.keep[line][pos])
            if k is not None:
                m[k] = True
                return m
        full = torch.ones(len(v.chars) + 1, dtype=torch.bool)
        q = pos + 1
        end = q == self.length
        masks: list[torch.Tensor] = []
        if self.tones:
            base = self._base_tone({i: t for i, t in known.items() if i != line or pos > 1})
            if q in (2, 4, 6) and q < self.length:
                if base is None:
                    masks.append(v.definite["P"] | v.definite["Z"])
                else:
                    t2 = base if PATTERN[line % 8] == 0 else _opp(base)
                    need = t2 if q in (2, 6) else _opp(t2)
                    masks.append(v.mask_p if need == "P" else v.mask_z)
            if end and line % 2 == 0 and line > 0:
                masks.append(v.mask_z)
        if end and line % 2 == 1:
            group, used = self._rhyme({i: t for i, t in known.items() if i != line})
            masks.append(v.definite["P"] if self.tones else full)
            masks.append(v.group_mask.get(group, v.rich_mask) if group else v.rich_mask)
            if used:
                u = torch.ones_like(full)
                for ch in used:
                    if ch in v.char_index:
                        u[v.char_index[ch]] = False
                masks.append(u)
        m = full.clone()
        for extra in masks:  # relax the latest constraints first if nothing is left
            if (m & extra)[:-1].any():
                m &= extra
        return m

    def allowed(self, text: str) -> torch.Tensor | list[int]:
        """Token ids allowed next after verse ``text`` (a bool mask over Han tokens, or ids)."""
        done, han, tail = self._state(text)
        line = len(done)
        if line >= self.n:
            return [self.eos_id]
        if len(han) < self.length and not tail:
            known = self._known_lines(done, han)
            pos = len(han)
            ok = torch.ones(len(self.v.han_ids), dtype=torch.bool)
            ok &= self.v.han_len <= self.length - pos
            for j in range(self.v.han_mat.shape[1]):
                if pos + j >= self.length:
                    ok &= self.v.han_len <= j
                    break
                cm = self.char_mask(line, pos + j, known)
                ok &= cm[self.v.han_mat[:, j]] | (self.v.han_len <= j)
            return ok
        mark = "。" if line % 2 == 1 or line == self.n - 1 else "，"
        if not tail:
            ids = self.v.by_text.get(mark, []) + self.v.by_text.get(mark + "\n", [])
            return ids or self.v.by_text.get("\n", []) or [self.eos_id]
        if line == self.n - 1:
            return [self.eos_id]
        return self.v.by_text.get("\n", []) or [self.eos_id]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        out = torch.full_like(scores, float("-inf"))
        for row in range(input_ids.shape[0]):
            text = self.prefix + self.decode(input_ids[row, self.prompt_len :].tolist())
            allowed = self.allowed(text)
            if isinstance(allowed, torch.Tensor):
                ids = self.v.han_ids[allowed]
            else:
                ids = torch.tensor(allowed, dtype=torch.long)
            ids = ids[ids < scores.shape[1]]
            out[row, ids] = scores[row, ids]
        return out


_HAN_ONLY_CHARS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


# ---------------------------------------------------------------- English


@cache
def _cmu(lexicon: frozenset[str] | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """CMU words (lower case, letters and apostrophes; only those of ``lexicon`` if given) ->
    syllables; prefix -> fewest syllables."""
    import pronouncing

    pronouncing.init_cmu()
    words: dict[str, int] = {}
    for word, phones in pronouncing.pronunciations:
        w = word.lower()
        if (
            re.fullmatch(r"[a-z]+(?:'[a-z]+)?", w)
            and w not in words
            and (len(w) > 1 or w in "ao")
            and pronouncing.syllable_count(phones) > 0
            and (lexicon is None or w in lexicon)
        ):
            words[w] = pronouncing.syllable_count(phones)
    prefix_min: dict[str, int] = {}
    for w, n in words.items():
        for k in range(1, len(w) + 1):
            p = w[:k]
            if prefix_min.get(p, 99) > n:
                prefix_min[p] = n
    return words, prefix_min


@cache
def _rhyme_index(lexicon: frozenset[str] | None = None) -> tuple[dict[str, frozenset[str]], dict[str, int]]:
    """Rhyming part -> words (``forms._rhyme_keys`` semantics, over ``_cmu`` words), and
    prefix -> bit mask of the syllable counts of rhymable words (some other word rhymes) it starts."""
    import pronouncing

    words, _ = _cmu(lexicon)
    by_key: dict[str, set[str]] = {}
    for word, phones in pronouncing.pronunciations:
        if word in words:
            by_key.setdefault(pronouncing.rhyming_part(phones), set()).add(word)
    index = {k: frozenset(v) for k, v in by_key.items()}
    masks: dict[str, int] = {}
    rhymable = {w for v in index.values() if len(v) > 1 for w in v}
    for w in rhymable:
        bit = 1 << words[w]
        for k in range(1, len(w) + 1):
            masks[w[:k]] = masks.get(w[:k], 0) | bit
    return index, masks


@cache
def _rhymes_of(word: str, lexicon: frozenset[str] | None = None) -> frozenset[str]:
    """CMU words that rhyme with ``word`` (as ``forms.words_rhyme`` judges), itself excluded."""
    index, _ = _rhyme_index(lexicon)
    return frozenset(w for k in _rhyme_keys(word) for w in index.get(k, ()) if w != word)


_WORD_CHARS = re.compile(r"[A-Za-z]['a-z]*")
_GAP = re.compile(r"[,;:.!?]? ")
_GAP_PARTIAL = re.compile(r"[,;:.!?]? ?")
_END = re.compile(r"[,;:.!?]?")
_EN_TOKEN = re.compile(r"^[A-Za-z' ,;:.!?\n]+$")


class EnFormProcessor:
    """English haiku (5-7-5) and sonnet (10 syllables a line, ABAB CDCD EFEF GG).

    Words are ``[A-Za-z]['a-z]*`` found in the CMU dictionary; between words one optional mark
    and one space; a line may end with one mark.
    """

    def __init__(
        self,
        form: str | Form,
        token_strings: Sequence[str],
        eos_id: int,
        decode: Callable[[Sequence[int]], str],
        prompt_len: int,
        prefix: str = "",
        keep: dict[int, str] | None = None,
        top_candidates: int = 256,
        lexicon: frozenset[str] | None = None,
    ) -> None:
        self.form = get_form(form) if isinstance(form, str) else form
        self.targets = self.form.length or (10,) * self.form.lines
        self.partner = {b - 1: a - 1 for a, b in RHYME_PAIRS.get(self.form.name, ())}
        self.starts = {a - 1 for a, _ in RHYME_PAIRS.get(self.form.name, ())}
        self.tokens = list(token_strings)
        self.universe = torch.tensor(
            [i for i, t in enumerate(self.tokens) if t and _EN_TOKEN.match(t)], dtype=torch.long
        )
        self.eos_id = eos_id
        self.decode = decode
        self.prompt_len = prompt_len
        self.prefix = prefix
        self.keep = dict(keep or {})
        self.top = top_candidates
        self.lexicon = lexicon
        self.words, self.prefix_min = _cmu(lexicon)
        self.rhymable = _rhyme_index(lexicon)[1]
        self._min_rhyme_cache: dict[str, int] = {}
        self._rhyme_prefix: dict[tuple[str, int], set[str]] = {}

    def _rhyme_set(self, word: str, syl: int) -> set[str]:
        key = (word, syl)
        if key not in self._rhyme_prefix:
            ok = {w for w in _rhymes_of(word, self.lexicon) if self.words[w] == syl}
            self._rhyme_prefix[key] = {w[:k] for w in ok for k in range(1, len(w) + 1)} | {
                "$" + w for w in ok
            }
        return self._rhyme_prefix[key]

    def _word_ok(self, word: str, left: int, target: str | None, starts: bool, complete: bool) -> bool:
        """Can ``word`` (partial unless ``complete``) stand in a line with ``left`` syllables to go?"""
        w = word.lower()
        room = left - (self._min_rhyme(target) if target is not None else 1)  # keep room for the rhyme
        if complete:
            n = self.words.get(w)
            if n is None or n > left:
                return False
            if n < left:
                return n <= room
            if target is not None:
                return "$" + w in self._rhyme_set(target, n)
            return not starts or bool(_rhymes_of(w, self.lexicon))
        low = self.prefix_min.get(w)
        if low is None or low > left:
            return False
        if low <= room:
            return True
        if target is not None:
            return w in self._rhyme_set(target, left)
        return not starts or bool(self.rhymable.get(w, 0) >> left & 1) or low < left

    def _min_rhyme(self, target: str) -> int:
        if target not in self._min_rhyme_cache:
            self._min_rhyme_cache[target] = min(
                (self.words[w] for w in _rhymes_of(target, self.lexicon)), default=99
            )
        return self._min_rhyme_cache[target]

    def line_ok(self, line: str, i: int, ends: dict[int, str], final: bool) -> bool:
        """Whether line ``i`` (complete if ``final``) fits; records its last word in ``ends``."""
        if i >= len(self.targets):
            return False
        if i in self.keep:
            if final:
                return line == self.keep[i]
            return self.keep[i].startswith(line)
        need = self.targets[i]
        target = ends.get(self.partner[i]) if i in self.partner else None
        starts = i in self.starts
        used = 0
        pos = 0
        for m in _WORD_CHARS.finditer(line):
            gap = line[pos : m.start()]
            if (pos == 0 and gap) or (pos > 0 and not _GAP.fullmatch(gap)) or used >= need:
                return False
            word = m.group(0)
            complete = m.end() < len(line) or final
            if not self._word_ok(word, need - used, target, starts, complete):
                return False
            if complete:
                used += self.words[word.lower()]
                if used == need:
                    ends[i] = word.lower()
            pos = m.end()
        rest = line[pos:]
        if pos == 0 and rest:
            return False
        if used >= need and (final or rest):
            return bool(_END.fullmatch(rest)) and used == need
        if final:
            return False
        return bool(_GAP_PARTIAL.fullmatch(rest))

    def _context(self, text: str) -> tuple[list[str], dict[int, str]]:
        lines = text.split("\n")
        ends: dict[int, str] = {}
        for i, ln in enumerate(lines[:-1]):
            words = _WORD_CHARS.findall(ln)
            if words:
                ends[i] = words[-1].lower()
        return lines, ends

    def fits(self, lines: list[str], ends: dict[int, str], piece: str) -> bool:
        """Whether appending ``piece`` to the current (last) line keeps the poem valid."""
        parts = (lines[-1] + piece).split("\n")
        i0 = len(lines) - 1
        ends = dict(ends)
        return all(self.line_ok(part, i0 + k, ends, final=k < len(parts) - 1) for k, part in enumerate(parts))

    def allowed_ids(self, text: str, candidates: Sequence[int]) -> list[int]:
        lines, ends = self._context(text)
        done = len(lines) == len(self.targets) and self.line_ok(lines[-1], len(lines) - 1, dict(ends), True)
        return [
            t
            for t in candidates
            if (t == self.eos_id and done) or (t != self.eos_id and self.fits(lines, ends, self.tokens[t]))
        ]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        out = torch.full_like(scores, float("-inf"))
        uni = self.universe[self.universe < scores.shape[1]]
        for row in range(input_ids.shape[0]):
            text = self.prefix + self.decode(input_ids[row, self.prompt_len :].tolist())
            sub = scores[row, uni]
            order = uni[torch.argsort(sub, descending=True)].tolist()
            ids = self.allowed_ids(text, [*order[: self.top], self.eos_id])
            if not ids or (ids == [self.eos_id] and len(order) > self.top):
                ids = self.allowed_ids(text, [*order, self.eos_id])
            out[row, ids or [self.eos_id]] = scores[row, ids or [self.eos_id]]
        return out


def form_processor(
    form: str,
    token_strings: Sequence[str],
    eos_id: int,
    decode: Callable[[Sequence[int]], str],
    prompt_len: int,
    prefix: str = "",
    keep: dict[int, str] | None = None,
    lexicon: frozenset[str] | None = None,
    rhymes: str = "modern",
) -> ZhFormProcessor | EnFormProcessor:
    """The processor for ``form`` (a Chinese or English form of ``forms.FORMS``); ``lexicon``
    limits English words to a word list (default: the whole CMU dictionary); ``rhymes`` picks
    the Chinese rhyme book (``forms.RHYME_BOOKS``)."""
    spec = get_form(form)
    if spec.lang == "zh":
        return ZhFormProcessor(
            spec, token_strings, eos_id, decode, prompt_len, prefix=prefix, keep=keep, rhymes=rhymes
        )
    return EnFormProcessor(
        spec, token_strings, eos_id, decode, prompt_len, prefix=prefix, keep=keep, lexicon=lexicon
    )
