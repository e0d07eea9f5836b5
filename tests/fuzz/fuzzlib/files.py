"""Corpus categories 4-6: melodies, images and paths given as input."""

from __future__ import annotations

import os
from collections.abc import Callable

from .assets import Assets, _hostile_paths, make, no_passwd, steps
from .core import ANY, ERROR, OK, Case, all_of, verified

# ---------------------------------------------------------------- 4. melodies

NOTE_STRINGS: list[tuple[str, str, str]] = [
    ("empty", "", ERROR),
    ("blank", "   ", ERROR),
    ("garbage", "X9 Q7 ##", ERROR),
    ("colon-only", "C4:", ANY),
    ("zero-duration", "C4:0 D4", ERROR),
    ("negative-duration", "C4:-1", ERROR),
    ("divide-by-zero", "C4:1/0", ERROR),
    ("nan-duration", "C4:nan D4", ERROR),
    ("inf-duration", "C4:inf", ERROR),
    ("1e999-duration", "C4:1e999", ERROR),
    ("huge-duration", "C4:99999", ERROR),
    ("digits-5000-duration", "C4:" + "9" * 5000, ERROR),
    ("digits-5000-octave", "C" + "4" * 5000, ERROR),
    ("octave-10", "C10 D10", ANY),
    ("lowest", "C-1 D-1", ANY),
    ("highest", "G9 F9", ANY),
    ("above-midi", "G#9 A9", ANY),
    ("below-midi", "Cb-1 B-2", ANY),
    ("rests-only", "R R R:4", ERROR),
    ("too-many-notes", "C4 " * 4001, ERROR),
    ("too-long", "C4:64 " * 40, ERROR),
    ("too-many-characters", "C4" + " " * 70_000, ERROR),
    ("tiny-durations", "C4:1/1000000 D4:1/1000000 E4", ANY),
    ("many-tiny", "C4:1/1024 " * 400, ANY),
    ("triplets", "C4:1/3 D4:1/3 E4:1/3 F4:2", ANY),
    ("double-colon", "C4::1", ERROR),
    ("two-durations", "C4:1:2", ERROR),
    ("emoji", "🎵 🎶", ERROR),
    ("nul", "C4\x00 D4", ANY),
    ("right-to-left", "\u202eC4 D4", ANY),
    ("unicode-sharp", "C♯4 D4", ANY),
    ("lowercase", "c4 d4 e4", ANY),
    ("commas", "C4,D4,,E4", ANY),
    ("tabs-newlines", "C4\tD4\nE4", ANY),
    ("exponent-duration", "C4:0.5e1", ANY),
    ("long-decimal", "C4:0.33333333333333333333", ANY),
    ("missing-file", "tune.mid", ERROR),
    ("missing-file-xml", "tune.musicxml", ERROR),
    ("a-path", "../../etc/passwd", ERROR),
]

MELODY_FILES: list[tuple[str, str]] = [
    ("good.mid", OK),
    ("good.musicxml", OK),
    ("good.xml", OK),
    ("good.mxl", OK),
    ("truncated.mid", ERROR),
    ("empty.mid", ERROR),
    ("header-only.mid", ERROR),
    ("smpte.mid", ERROR),
    ("zero-division.mid", ERROR),
    ("events-200k.mid", ERROR),
    ("notes-4001.mid", ERROR),
    ("absurd-duration.mid", ERROR),
    ("huge-meta.mid", ERROR),
    ("track-length-lies.mid", ANY),
    ("bad-varlen.mid", ERROR),
    ("drums-only.mid", ERROR),
    ("no-note-off.mid", ANY),
    ("bad-time-signature.mid", ERROR),
    ("tempo-zero.mid", ANY),
    ("format-2.mid", ANY),
    ("tracks-claimed-9999.mid", ANY),
    ("malformed.musicxml", ERROR),
    ("empty.musicxml", ERROR),
    ("html.xml", ERROR),
    ("no-notes.musicxml", ERROR),
    ("billion-laughs.musicxml", ERROR),
    ("xxe-passwd.musicxml", ANY),
    ("xxe-parameter.musicxml", ANY),
    ("absurd-duration.musicxml", ERROR),
    ("zero-divisions.musicxml", ANY),
    ("negative-duration.musicxml", ANY),
    ("nan-duration.musicxml", ANY),
    ("utf16.musicxml", ANY),
    ("not-a-zip.mxl", ERROR),
    ("no-container.mxl", ERROR),
    ("container-to-nothing.mxl", ERROR),
    ("container-traversal.mxl", ERROR),
    ("encrypted.mxl", ERROR),
    ("unknown-method.mxl", ERROR),
    ("zip-bomb.mxl", ERROR),
    ("zip-bomb-lying.mxl", ERROR),
    ("container-bomb.mxl", ERROR),
]
QUICK = 5.0
"""Seconds a refusal of a bomb may take: it must be refused before it is unpacked."""


def melody_cases(assets: Assets) -> list[Case]:
    cases = []
    cont = ["continue", "M", "--bars", "1", "--seed", "1", "--out", "o"]
    harm = ["harmonize", "M", "--seed", "1", "--out", "o"]
    for name, text, expect in NOTE_STRINGS:
        cases.append(
            Case(
                "melodies",
                f"continue notes {name}",
                [text if a == "M" else a for a in cont],
                expect,
                out="o",
                check=verified("o"),
            )
        )
        if name in (
            "empty",
            "garbage",
            "nan-duration",
            "too-many-notes",
            "tiny-durations",
            "triplets",
            "lowest",
            "above-midi",
            "colon-only",
        ):
            cases.append(
                Case(
                    "melodies",
                    f"harmonize notes {name}",
                    [text if a == "M" else a for a in harm],
                    expect,
                    out="o",
                    check=verified("o"),
                )
            )
        if name in ("garbage", "too-many-notes", "nan-duration"):
            cases.append(
                Case(
                    "melodies",
                    f"run folk-continuer --motif-text {name}",
                    [
                        "run",
                        "folk-continuer",
                        "a tune",
                        f"--motif-text={text}",
                        "--bars=1",
                        "-q",
                        "--out",
                        "o",
                    ],
                    expect,
                    out="o",
                    check=verified("o"),
                )
            )
    for name, expect in MELODY_FILES:
        path = f"{{A}}/{name}"
        check = all_of(verified("o"), no_passwd("o"))
        timeout = QUICK if "bomb" in name else 30.0
        cases.append(
            Case(
                "melodies",
                f"continue file {name}",
                [path if a == "M" else a for a in cont],
                expect,
                out="o",
                check=check,
                timeout=timeout,
            )
        )
        if expect == OK or name in (
            "smpte.mid",
            "encrypted.mxl",
            "xxe-passwd.musicxml",
            "container-bomb.mxl",
        ):
            cases.append(
                Case(
                    "melodies",
                    f"harmonize file {name}",
                    [path if a == "M" else a for a in harm],
                    expect,
                    out="o",
                    check=check,
                    timeout=max(timeout, 30.0) if expect == OK else timeout,
                )
            )
        if name in ("good.mid", "encrypted.mxl", "events-200k.mid", "malformed.musicxml"):
            cases.append(
                Case(
                    "melodies",
                    f"run chorale-harmonizer --melody {name}",
                    ["run", "chorale-harmonizer", "--melody", path, "-q", "--out", "o"],
                    expect,
                    out="o",
                    check=check,
                    timeout=timeout,
                )
            )
    return cases


# ---------------------------------------------------------------- 5. images

IMAGES: list[tuple[str, str]] = [
    ("not-an-image.png", ERROR),
    ("empty.png", ERROR),
    ("truncated.png", ERROR),
    ("header-20000.png", ERROR),
    ("header-9000x16.png", ERROR),
    ("one-pixel.png", ERROR),
    ("sixteen-by-fifteen.png", ERROR),
    ("ztxt-bomb.png", ERROR),
    ("iccp-bomb.png", ERROR),
    ("bmp-8000-truncated.bmp", ERROR),
    ("bad-crc.png", ANY),
    ("bad-exif.png", ANY),
    ("cmyk.jpg", OK),
    ("sixteen-bit.png", OK),
    ("gray-alpha.png", OK),
    ("one-bit.png", OK),
    ("float.tiff", ANY),
    ("int32.tiff", ANY),
    ("palette-transparent.png", OK),
    ("animated.gif", OK),
    ("image.webp", OK),
    ("huge-real-8192.png", ANY),
    ("good.mid", ERROR),
    ("poem.txt", ERROR),
]


def image_cases(assets: Assets) -> list[Case]:
    cases = []
    s = ("o", verified("o/s.png"))
    for name, expect in IMAGES:
        path = f"{{A}}/{name}"
        timeout = 90.0 if name.startswith("huge-real") else 30.0
        cases.append(
            Case(
                "images",
                f"style content {name}",
                [
                    "style",
                    path,
                    "{A}/style.png",
                    "--method",
                    "reinhard",
                    "--size",
                    "16",
                    "-q",
                    "--out",
                    "o/s.png",
                ],
                expect,
                out=s[0],
                check=s[1],
                timeout=timeout,
            )
        )
        if name.startswith("huge-real"):
            continue
        cases.append(
            Case(
                "images",
                f"style style {name}",
                [
                    "style",
                    "{A}/photo.png",
                    path,
                    "--method",
                    "adain",
                    "--size",
                    "16",
                    "-q",
                    "--out",
                    "o/s.png",
                ],
                expect,
                out=s[0],
                check=s[1],
            )
        )
        cases.append(
            Case(
                "images",
                f"style mask {name}",
                [
                    "style",
                    "{A}/photo.png",
                    "{A}/style.png",
                    "--method",
                    "gatys",
                    "--size",
                    "16",
                    "--steps",
                    "1",
                    "--scales",
                    "1",
                    "--masks",
                    path,
                    "-q",
                    "--out",
                    "o/s.png",
                ],
                expect,
                out=s[0],
                check=s[1],
            )
        )
        cases.append(
            Case(
                "images",
                f"create --input {name}",
                [
                    "create",
                    "a lake",
                    "--modalities",
                    "image",
                    "--engine",
                    "image=museforge-style-histogram",
                    "--input",
                    f"image.content={path}",
                    "--input",
                    "image.styles=scream",
                    "--param",
                    "image.size=16",
                    "-q",
                    "--seed",
                    "1",
                    "--out",
                    "o",
                ],
                expect,
                out="o",
                check=verified("o"),
            )
        )
        if expect == ERROR:
            cases.append(
                Case(
                    "images",
                    f"train style {name}",
                    ["train", "style", path, "--steps", "1", "--size", "32", "-q", "--out", "o"],
                    expect,
                    out="o",
                )
            )
    return cases


# ---------------------------------------------------------------- 6. paths

READ_PATHS: list[tuple[str, str]] = [
    ("missing", "missing"),
    ("folder", "dir"),
    ("fifo", "ff"),
    ("proc", "/proc"),
    ("proc-kmsg", "/proc/kmsg"),
    ("proc-self-status", "/proc/self/status"),
    ("dev-zero", "/dev/zero"),
    ("dev-null", "/dev/null"),
    ("symlink-loop", "loop"),
    ("newline-missing", "no\nsuch"),
    ("long-name", "x" * 5000),
    ("empty", ""),
    ("root", "/"),
    ("newline-existing", "new\nline"),
]


def path_cases(assets: Assets) -> list[Case]:
    commands: list[tuple[str, list[str], str, str | None, Callable | None]] = [
        # name, argv (X = the path), suffix given to names made here, out, check
        (
            "style content",
            ["style", "X", "{A}/style.png", "--method", "reinhard", "--size", "16", "-q", "--out", "o/s.png"],
            ".png",
            "o",
            verified("o/s.png"),
        ),
        (
            "style style",
            ["style", "{A}/photo.png", "X", "--method", "reinhard", "--size", "16", "-q", "--out", "o/s.png"],
            ".png",
            "o",
            verified("o/s.png"),
        ),
        (
            "create --input",
            [
                "create",
                "a lake",
                "--modalities",
                "image",
                "--engine",
                "image=museforge-style-reinhard",
                "--input",
                "image.content={X}",
                "--input",
                "image.styles=scream",
                "--param",
                "image.size=16",
                "-q",
                "--out",
                "o",
            ],
            ".png",
            "o",
            verified("o"),
        ),
        (
            "continue",
            ["continue", "X", "--bars", "1", "--seed", "1", "--out", "o"],
            ".mid",
            "o",
            verified("o"),
        ),
        ("poem --check", ["poem", "--check", "X", "--form", "wujue"], ".txt", None, None),
        (
            "poem --from",
            ["poem", "--keep", "1", "--from", "X", "--max-new-tokens", "8", "--no-guard"],
            ".txt",
            None,
            None,
        ),
        ("keys trust", ["keys", "trust", "X"], ".txt", None, None),
        (
            "train style",
            ["train", "style", "X", "--steps", "1", "--size", "32", "-q", "--out", "o"],
            ".png",
            "o",
            None,
        ),
        ("verify", ["verify", "X"], "", None, None),
        ("show", ["show", "X"], "", None, None),
        ("reproduce", ["reproduce", "X", "-q"], "", None, None),
        ("export --model", ["export", "text", "--model", "X", "--out", "o"], "", "o", None),
    ]
    cases = []
    for cname, argv, suffix, out, check in commands:
        for pname, path in READ_PATHS:
            local = not path.startswith("/") and path not in ("", "x" * 5000)
            name = (
                path + suffix
                if local and path in ("missing", "dir", "ff", "loop", "no\nsuch", "new\nline")
                else path
            )
            expect = ERROR
            if pname == "newline-existing":
                if cname in ("style content", "style style", "create --input", "continue"):
                    expect = OK
                elif cname in ("train style",):
                    continue  # a valid image: a real training run
                else:
                    expect = ANY
            if pname == "proc-self-status" and cname.startswith("poem"):
                expect = ANY  # a text file like any other
            if pname == "empty" and cname == "export --model":
                expect = ANY  # no model named: the built-in one
            keys = cname == "keys trust"
            named = [name if a == "X" else a.replace("{X}", name) for a in argv]
            cases.append(
                Case(
                    "paths",
                    f"{cname} {pname}",
                    named,
                    expect,
                    out=out,
                    check=check,
                    setup=_hostile_paths,
                    timeout=15.0,
                    env={"MUSEFORGE_HOME": "{C}/home"} if keys else {},
                    allow=("home",) if keys else (),
                )
            )
    victim = make({"victim.png": b"not yours", "elsewhere/keep.txt": "keep me"})
    link = steps(
        victim,
        lambda f, a: os.symlink("victim.png", f / "link.png"),
        lambda f, a: os.symlink("elsewhere", f / "lnk"),
    )
    paint = ["paint", "a lake", "--size", "16", "--seed", "1", "--out"]
    create = ["create", "a lake", "--modalities", "text", "--seed", "1", "-q", "--out"]
    for name, argv, expect, out, setup, check in [
        ("paint --out a folder", [*paint, "dir.png"], ERROR, "dir.png", _hostile_paths, None),
        ("paint --out a fifo", [*paint, "ff.png"], ERROR, "ff.png", _hostile_paths, None),
        (
            "paint --out a fifo --overwrite",
            [*paint, "ff.png", "--overwrite"],
            ANY,
            "ff.png",
            _hostile_paths,
            verified("ff.png"),
        ),
        ("paint --out under a file", [*paint, "file.txt/p.png"], ERROR, "file.txt", _hostile_paths, None),
        ("paint --out in /proc", [*paint, "/proc/p.png"], ERROR, None, None, None),
        (
            "paint --out with a newline",
            [*paint, "o/new\nline.png"],
            OK,
            "o",
            None,
            verified("o/new\nline.png"),
        ),
        ("paint --out too long a name", [*paint, "x" * 300 + ".png"], ERROR, None, None, None),
        ("paint --out a trailing slash", [*paint, "o/"], ERROR, "o", None, None),
        (
            "paint --out empty (the default name)",
            [*paint, ""],
            ANY,
            "a-lake-1.png",
            None,
            verified("a-lake-1.png"),
        ),
        ("paint --out a symlink to another file", [*paint, "link.png"], ERROR, "link.png", link, None),
        (
            "paint --out a symlink --overwrite",
            [*paint, "link.png", "--overwrite"],
            ANY,
            "link.png",
            link,
            verified("link.png"),
        ),
        ("create --out a file", [*create, "file.txt"], ERROR, "file.txt", _hostile_paths, None),
        ("create --out root", [*create, "/"], ERROR, None, None, None),
        ("create --out a fifo", [*create, "ff"], ERROR, "ff", _hostile_paths, None),
        ("create --out in /proc", [*create, "/proc/w"], ERROR, None, None, None),
        (
            "create --out a symlink to a folder --overwrite",
            [*create, "lnk", "--overwrite"],
            ANY,
            "lnk",
            link,
            verified("lnk"),
        ),
        ("create --out a symlink loop", [*create, "loop"], ERROR, "loop", _hostile_paths, None),
        (
            "compose --out a file",
            ["compose", "--bars", "1", "--out", "file.txt"],
            ERROR,
            "file.txt",
            _hostile_paths,
            None,
        ),
        (
            "dataset --out a folder with files",
            ["dataset", "procedural", "--n", "1", "--size", "16", "-q", "--out", "elsewhere"],
            ERROR,
            "elsewhere",
            victim,
            None,
        ),
        (
            "dataset --out a fifo",
            ["dataset", "procedural", "--n", "1", "--size", "16", "-q", "--out", "ff"],
            ERROR,
            "ff",
            _hostile_paths,
            None,
        ),
        (
            "keys export --out a folder",
            ["keys", "export", "--out", "dir"],
            ERROR,
            "dir",
            _hostile_paths,
            None,
        ),
        (
            "keys export --out a file",
            ["keys", "export", "--out", "file.txt"],
            ERROR,
            "file.txt",
            _hostile_paths,
            None,
        ),
        (
            "train style --out a file",
            ["train", "style", "{A}/style.png", "--steps", "1", "--size", "32", "-q", "--out", "file.txt"],
            ERROR,
            "file.txt",
            _hostile_paths,
            None,
        ),
        (
            "export --out a folder with files",
            ["export", "text", "--out", "elsewhere"],
            ERROR,
            "elsewhere",
            victim,
            None,
        ),
        (
            "style --out exists",
            ["style", "{A}/photo.png", "scream", "--method", "reinhard", "-q", "--out", "victim.png"],
            ERROR,
            "victim.png",
            victim,
            None,
        ),
        (
            "poem --out a folder",
            ["poem", "a lake", "--engine", "rule-poet", "--out", "dir"],
            ERROR,
            "dir",
            _hostile_paths,
            None,
        ),
        (
            "sculpt --out a file",
            ["sculpt", "a stone", "--detail", "1", "--out", "file.txt"],
            ERROR,
            "file.txt",
            _hostile_paths,
            None,
        ),
    ]:
        cases.append(Case("paths", name, argv, expect, out=out, setup=setup, check=check, timeout=15.0))
    return cases
