"""Licences of training data: SPDX ids from common spellings and licence texts, and which uses
each permits.

``permits`` answers whether a licence's own terms forbid a use (non-commercial licences forbid
commercial use; an id museforge does not know permits nothing). It is a guard against mistakes,
not legal advice.

>>> normalise("CC BY 4.0"), normalise("cc-by-nc-4.0"), normalise("Public Domain")
('CC-BY-4.0', 'CC-BY-NC-4.0', 'LicenseRef-PublicDomain')
>>> permits("CC-BY-NC-SA-4.0", "research"), permits("CC-BY-NC-SA-4.0", "commercial")
(True, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Protocol

from museforge.errors import MuseforgeError

USES = ("research", "commercial")
PUBLIC_DOMAIN = "LicenseRef-PublicDomain"
CC_VERSIONS = ("1.0", "2.0", "2.5", "3.0", "4.0")
CC_VARIANTS = ("BY", "BY-SA", "BY-ND", "BY-NC", "BY-NC-SA", "BY-NC-ND")
OTHER = (
    "CC0-1.0",
    PUBLIC_DOMAIN,
    "MIT",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Unlicense",
    "MPL-2.0",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "OFL-1.1",
    "FAL-1.3",
)
KNOWN: tuple[str, ...] = (*OTHER, *(f"CC-{v}-{n}" for v in CC_VARIANTS for n in CC_VERSIONS))
"""Every SPDX id museforge recognises (others are refused by :func:`permits`)."""
_CANON = {k.lower(): k for k in KNOWN}
_ALIASES = {
    "public-domain": PUBLIC_DOMAIN,
    "publicdomain": PUBLIC_DOMAIN,
    "pd": PUBLIC_DOMAIN,
    "cc0": "CC0-1.0",
    "cc-zero": "CC0-1.0",
    "cc0-1.0-universal": "CC0-1.0",
    "cc-0": "CC0-1.0",
    "mit-license": "MIT",
    "the-mit-license": "MIT",
    "expat": "MIT",
    "apache-2": "Apache-2.0",
    "apache-license-2.0": "Apache-2.0",
    "apache-license-version-2.0": "Apache-2.0",
    "asl-2.0": "Apache-2.0",
    "bsd-3": "BSD-3-Clause",
    "bsd-2": "BSD-2-Clause",
    "new-bsd": "BSD-3-Clause",
    "simplified-bsd": "BSD-2-Clause",
    "the-unlicense": "Unlicense",
    "gpl-2.0": "GPL-2.0-only",
    "gpl-3.0": "GPL-3.0-only",
    "gpl-2.0+": "GPL-2.0-or-later",
    "gpl-3.0+": "GPL-3.0-or-later",
    "lgpl-2.1": "LGPL-2.1-only",
    "lgpl-3.0": "LGPL-3.0-only",
    "agpl-3.0": "AGPL-3.0-only",
}
_WORDS = [
    (r"creative[- ]commons", "cc"),
    (r"attribution", "by"),
    (r"non[- ]?commercial", "nc"),
    (r"share[- ]?alike", "sa"),
    (r"no[- ]?derivatives|no[- ]?derivs", "nd"),
    (r"\blicen[cs]e\b", ""),
    (r"\binternational\b|\bunported\b|\bgeneric\b|\bdeed\b", ""),
    (r"\bversion\b|\bv(?=\d)", ""),
]
_CC = re.compile(r"^cc-by((?:-(?:nc|sa|nd))*)-(\d)(?:\.(\d))?$")
_SPDX_LINE = re.compile(r"SPDX-License-Identifier:\s*([A-Za-z0-9.+-]+)")


def normalise(text: str) -> str | None:
    """The SPDX id a licence name stands for (``None`` when it names none museforge knows);
    ``LicenseRef-...`` ids are kept as they are.

    >>> [normalise(t) for t in ("CC0", "Apache 2.0", "Attribution-ShareAlike 4.0 International", "GPL")]
    ['CC0-1.0', 'Apache-2.0', 'CC-BY-SA-4.0', None]
    """
    s = text.strip()
    found = _SPDX_LINE.search(s)
    if found:
        s = found.group(1)
    if re.fullmatch(r"LicenseRef-[A-Za-z0-9.-]+", s):
        return s
    key = s.lower()
    for pattern, repl in _WORDS:
        key = re.sub(pattern, repl, key)
    key = re.sub(r"[\s_/,;:()]+", "-", key.strip(" .")).strip("-")
    key = re.sub(r"-+", "-", key).replace("cc-0", "cc0")
    if key in _CANON:
        return _CANON[key]
    if key in _ALIASES:
        return _ALIASES[key]
    key = key.removeprefix("cc-").removeprefix("cc")
    cc = _CC.match("cc-" + key.lstrip("-") if not key.startswith("cc-") else key)
    if cc:
        parts = [p for p in cc.group(1).split("-") if p]
        order = [p for p in ("nc", "sa", "nd") if p in parts]
        candidate = "-".join(["CC", "BY", *(p.upper() for p in order), f"{cc.group(2)}.{cc.group(3) or 0}"])
        return candidate if candidate in KNOWN else None
    return None


def from_text(text: str) -> str | None:
    """The SPDX id of a licence file's text: an ``SPDX-License-Identifier`` line, an id or common
    name on the first line, or the wording of MIT, Apache-2.0, BSD, CC0, Creative Commons
    Attribution licences, the Unlicense and public-domain dedications.

    >>> from_text("MIT License\\n\\nCopyright (c) 2024 A. Painter\\n\\nPermission is hereby granted, ...")
    'MIT'
    >>> from_text("Attribution-NonCommercial 4.0 International\\n\\n=====\\nCreative Commons Corporation ...")
    'CC-BY-NC-4.0'
    """
    found = _SPDX_LINE.search(text)
    if found:
        return normalise(found.group(1))
    lines = [ln.strip(" \t#=*-") for ln in text.splitlines() if ln.strip(" \t#=*-")]
    if not lines:
        return None
    first = normalise(lines[0])
    if first:
        return first
    head = " ".join(" ".join(lines[:40]).split())
    low = head.lower()
    cc = re.search(
        r"(?:creative commons )?(?:legal code )?attribution(?:[- ](?:noncommercial|non-commercial"
        r"|sharealike|share-alike|noderivatives|noderivs)){0,2} \d\.\d",
        low,
    )
    if cc:
        return normalise(cc.group(0))
    rules = [
        ("cc0 1.0 universal", "CC0-1.0"),
        ("creative commons zero", "CC0-1.0"),
        ("released into the public domain", "Unlicense" if "unlicense" in low else PUBLIC_DOMAIN),
        ("apache license", "Apache-2.0" if "version 2.0" in low else None),
        ("permission is hereby granted, free of charge", "MIT"),
        ("permission to use, copy, modify, and/or distribute", "ISC"),
        ("neither the name", "BSD-3-Clause"),
        ("redistribution and use in source and binary forms", "BSD-2-Clause"),
        ("public domain", PUBLIC_DOMAIN),
    ]
    for phrase, spdx in rules:
        if phrase in low:
            return spdx
    return None


def permits(spdx: str, use: str) -> bool:
    """Whether items under ``spdx`` may be used for ``use`` (``research`` or ``commercial``).

    >>> permits("MIT", "commercial"), permits("LicenseRef-Mine", "research")
    (True, False)
    """
    if use not in USES:
        raise MuseforgeError(f"unknown use {use!r}; give one of {', '.join(USES)}")
    if spdx not in KNOWN:
        return False
    return not (use == "commercial" and "-NC-" in f"{spdx}-")


class _HasLicences(Protocol):
    def licences(self) -> dict[str, int]: ...


def excluded(counts: Mapping[str, int], use: str) -> dict[str, int]:
    """The licences of ``counts`` (id -> items) that do not permit ``use``."""
    return {spdx: n for spdx, n in sorted(counts.items()) if not permits(spdx, use)}


def check_use(dataset: _HasLicences, use: str) -> None:
    """A one-line error naming every licence of the data set that excludes ``use`` and how many
    items carry it."""
    out = excluded(dataset.licences(), use)
    if out:
        listed = ", ".join(f"{spdx} ({n} item{'s' if n != 1 else ''})" for spdx, n in out.items())
        raise MuseforgeError(
            f"the data set's licences do not permit {use} use: {listed}; ingest again "
            "without those items (--opt-out) or use the data for what they permit"
        )


def unknown_ids(ids: Iterable[str]) -> list[str]:
    """Those of ``ids`` that museforge does not know (for warnings in the card)."""
    return sorted({i for i in ids if i not in KNOWN})
