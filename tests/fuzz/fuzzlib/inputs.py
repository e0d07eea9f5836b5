"""Corpus categories 1-3: prompts, numbers, and choices, seeds, params, engines, inputs, devices."""

from __future__ import annotations

import argparse
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from .assets import Assets, _recorded_inputs, copy_asset, exists, with_value
from .core import ANY, CLOSED, ERROR, OK, Case, all_of, printed, verified

# ---------------------------------------------------------------- 1. prompts

PROMPTS: list[tuple[str, str, str]] = [
    ("empty", "", ERROR),
    ("space", " ", ERROR),
    ("zero-width-space", "\u200b", ERROR),
    ("byte-order-mark", "\ufeff", ERROR),
    ("controls-only", "\x01\x02\x7f\x1b", ERROR),
    ("nul-only", "\x00", ERROR),
    ("line-ends-only", "\n\r\n\t\r", ERROR),
    ("unicode-spaces-only", "\u3000\u2028\u2029\u00a0", ERROR),
    ("bidi-marks-only", "\u202e\u202d\u2066\u200f", ERROR),
    ("tag-characters-only", "\U000e0041\U000e0042", ERROR),
    ("lone-surrogate", "sea \udcff", ERROR),
    ("over-limit", "森" * 4001, ERROR),
    ("huge", "x" * 200_000, ERROR),
    ("many-lines", "a\n" * 3000, ERROR),
    ("dash-word", "-x", ERROR),
    ("ansi-escapes", "\x1b[2J\x1b]0;pwned\x07a stormy sea", OK),
    ("right-to-left-override", "a sea \u202eevil\u202c at night", OK),
    ("nul-inside", "sea\x00night", OK),
    ("emoji", "🌊🌙", OK),
    ("at-limit-combining", "e\u0301" * 4000, OK),
    ("private-use", "\ue000\uf8ff", OK),
    ("variation-selectors", "\ufe0f\ufe0e", ANY),
    ("chinese", "在一片神秘的森林中，", OK),
]


def _length(text: str) -> int:
    """Characters after normalisation, as the prompt limit counts them."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    return len(text.strip())


PROMPT_COMMANDS: list[tuple[str, list[str], int, str | None, Callable | None, bool]] = [
    # name, argv (P = the prompt), limit, out, check on a result, run only the refusals and one
    (
        "create",
        ["create", "P", "--modalities", "text", "--seed", "1", "-q", "--out", "o"],
        4000,
        "o",
        verified("o"),
        False,
    ),
    ("poem-rule", ["poem", "P", "--engine", "rule-poet", "--seed", "1"], 2000, None, printed, False),
    (
        "poem-learned",
        ["poem", "P", "--seed", "1", "--max-new-tokens", "8", "--no-guard"],
        2000,
        None,
        printed,
        False,
    ),
    (
        "paint",
        ["paint", "P", "--size", "16", "--seed", "1", "--out", "o/p.png"],
        4000,
        "o",
        verified("o/p.png"),
        False,
    ),
    ("run", ["run", "rule-poet", "P", "--seed", "1", "-q", "--out", "o"], 4000, "o", verified("o"), False),
    ("sculpt", ["sculpt", "P", "--detail", "1", "--seed", "1", "--out", "o"], 4000, "o", verified("o"), True),
    ("score", ["score", "P", "--seconds", "4", "--seed", "1", "--out", "o"], 4000, "o", verified("o"), True),
    (
        "compose-prompt",
        ["compose", "--prompt", "P", "--bars", "1", "--seed", "1", "--out", "o"],
        4000,
        "o",
        verified("o"),
        True,
    ),
]

STDIN_CASES: list[tuple[str, bytes | str, str, str]] = [
    ("invalid-utf8", b"sea \xff\xfe night", "strict", ERROR),
    ("surrogateescape", b"sea \xff night", "surrogateescape", ERROR),
    ("empty", b"", "strict", ERROR),
    ("nul-only", b"\x00" * 10, "strict", ERROR),
    ("huge", b"a" * 1_000_000, "strict", ERROR),
    ("utf16", "a quiet lake".encode("utf-16"), "strict", ERROR),
    ("closed", CLOSED, "strict", ERROR),
    ("bom-crlf", "\ufeffa quiet lake\r\n".encode(), "strict", OK),
]


def prompt_cases(assets: Assets) -> list[Case]:
    cases = []
    for cname, argv, limit, out, check, heavy in PROMPT_COMMANDS:
        for pname, text, expect in PROMPTS:
            if expect == OK and _length(text) > limit:
                expect = ERROR
            if (
                cname == "compose-prompt"
                and expect == ERROR
                and _length(text) <= limit
                and pname != "dash-word"
            ):
                expect = ANY  # --prompt is only a title: an empty one takes the default
            if heavy and expect != ERROR and pname != "emoji":
                continue
            cases.append(
                Case(
                    "prompts",
                    f"{cname} {pname}",
                    [text if a == "P" else a for a in argv],
                    expect,
                    out=out,
                    check=check,
                )
            )
    stdin_commands = [
        (
            "create",
            ["create", "-", "--modalities", "text", "--seed", "1", "-q", "--out", "o"],
            "o",
            verified("o"),
        ),
        ("poem", ["poem", "-", "--engine", "rule-poet", "--seed", "1"], None, printed),
        ("run", ["run", "rule-poet", "-", "--seed", "1", "-q", "--out", "o"], "o", verified("o")),
        ("poem-check", ["poem", "--check", "-", "--form", "wujue"], None, None),
        (
            "poem-from",
            ["poem", "--keep", "1", "--from", "-", "--max-new-tokens", "8", "--no-guard", "--seed", "1"],
            None,
            None,
        ),
    ]
    for cname, argv, out, check in stdin_commands:
        for sname, data, errors, expect in STDIN_CASES:
            if cname in ("poem-check", "poem-from") and expect == OK:
                expect = ANY
            cases.append(
                Case(
                    "prompts",
                    f"{cname} stdin {sname}",
                    argv,
                    expect,
                    out=out,
                    check=check,
                    stdin=data,
                    stdin_errors=errors,
                )
            )
    return cases


# ---------------------------------------------------------------- 2. numbers

BAD_NUMBERS: list[tuple[str, str]] = [
    ("negative", "-1"),
    ("zero", "0"),
    ("huge", "1000000000000"),
    ("2^64", str(2**64)),
    ("digits-4000", "9" * 4000),
    ("digits-5000", "9" * 5000),
    ("nan", "nan"),
    ("inf", "inf"),
    ("minus-inf", "-inf"),
    ("1e999", "1e999"),
    ("word", "twelve"),
    ("empty", ""),
    ("hex", "0x10"),
    ("fraction", "1/2"),
]

TINY_DIFFUSION = "{A}/tiny-diffusion/model.safetensors"
COMMAND_BASES: dict[str, tuple[list[str], str | None, Callable | None]] = {
    "create": (
        ["create", "a quiet lake", "--modalities", "text", "--seed", "1", "-q", "--out", "o"],
        "o",
        verified("o"),
    ),
    "poem": (["poem", "a quiet lake", "--seed", "1", "--max-new-tokens", "8", "--no-guard"], None, printed),
    "paint": (
        ["paint", "a quiet lake", "--size", "16", "--seed", "1", "--out", "o/p.png"],
        "o",
        verified("o/p.png"),
    ),
    "sculpt": (["sculpt", "a stone", "--detail", "1", "--seed", "1", "--out", "o"], "o", verified("o")),
    "dataset": (
        [
            "dataset",
            "procedural",
            "--n",
            "1",
            "--size",
            "16",
            "--workers",
            "1",
            "--seed",
            "1",
            "-q",
            "--out",
            "o",
        ],
        "o",
        exists("o/manifest.jsonl"),
    ),
    "compose": (["compose", "--bars", "1", "--seed", "1", "--out", "o"], "o", verified("o")),
    "batch": (
        ["batch", "{A}/poem.txt", "--modalities", "text", "--seed", "1", "-q", "--out", "o"],
        "o",
        verified("o/0001-床前明月光"),
    ),
    "harmonize": (["harmonize", "C4 D4 E4 F4", "--seed", "1", "--out", "o"], "o", verified("o")),
    "continue": (["continue", "C4 D4 E4 F4", "--bars", "1", "--seed", "1", "--out", "o"], "o", verified("o")),
    "score": (["score", "a chase", "--seconds", "4", "--seed", "1", "--out", "o"], "o", verified("o")),
    "style": (
        [
            "style",
            "{A}/photo.png",
            "{A}/style.png",
            "--method",
            "reinhard",
            "--size",
            "16",
            "-q",
            "--out",
            "o/s.png",
        ],
        "o",
        verified("o/s.png"),
    ),
    "style gatys": (
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
            "-q",
            "--out",
            "o/s.png",
        ],
        "o",
        verified("o/s.png"),
    ),
    "train style": (
        ["train", "style", "{A}/style.png", "--steps", "1", "--size", "32", "-q", "--out", "o"],
        "o",
        exists("o/model.safetensors"),
    ),
    "imagine": (
        [
            "imagine",
            "a quiet lake",
            "--steps",
            "2",
            "--seed",
            "1",
            "--model",
            TINY_DIFFUSION,
            "-q",
            "--out",
            "o/i.png",
        ],
        "o",
        verified("o/i.png"),
    ),
    "edit": (
        [
            "edit",
            "{A}/photo.png",
            "a quiet lake",
            "--steps",
            "2",
            "--seed",
            "1",
            "--model",
            TINY_DIFFUSION,
            "-q",
            "--out",
            "o/e.png",
        ],
        "o",
        verified("o/e.png"),
    ),
    "vary": (
        [
            "vary",
            "{A}/photo.png",
            "a quiet lake",
            "--n",
            "1",
            "--steps",
            "2",
            "--seed",
            "1",
            "--model",
            TINY_DIFFUSION,
            "-q",
            "--out-dir",
            "o",
        ],
        "o",
        verified("o"),
    ),
    "upscale": (
        ["upscale", "{A}/photo.png", "--factor", "2", "--model", TINY_DIFFUSION, "-q", "--out", "o/u.png"],
        "o",
        verified("o/u.png"),
    ),
    "train image": (
        [
            "train",
            "image",
            "--data",
            "{A}/captioned",
            "--from",
            TINY_DIFFUSION,
            "--steps",
            "1",
            "--batch",
            "1",
            "--sample-every",
            "0",
            "-q",
            "--out",
            "o",
        ],
        "o",
        exists("o/model.safetensors"),
    ),
    "studio": (["studio", "--data", "o", "--port", "8765"], "o", None),  # only refusals run: it serves
    "keys": (["keys", "list"], None, None),
    # the assets hold no data set: only the refusals of these two run (they are EXPENSIVE)
    "train text": (
        ["train", "text", "--data", "{A}/captioned", "--steps", "1", "-q", "--out", "o"],
        "o",
        None,
    ),
    "train music": (
        ["train", "music", "--data", "{A}/captioned", "--steps", "1", "-q", "--out", "o"],
        "o",
        None,
    ),
    "check": (["check", "{A}/poem.txt"], None, None),
    "data ingest": (
        ["data", "ingest", "{A}/captioned", "--licence", "CC0-1.0", "-q", "--out", "o"],
        "o",
        exists("o/manifest.parquet"),
    ),
    # the assets hold no data set, so these two are refusals (a folder without card.json)
    "data verify": (["data", "verify", "{A}/captioned"], None, None),
    "data show": (["data", "show", "{A}/captioned"], None, None),
    "export text": (["export", "text", "--out", "o"], "o", None),
    "evaluate": (
        ["evaluate", "--quick", "--models", "style-fast-scream", "--seed", "1", "--out", "o"],
        "o",
        exists("o/evaluation.json"),
    ),
}
GATYS_ONLY = (
    "--steps",
    "--optimizer",
    "--scales",
    "--content-weight",
    "--style-weight",
    "--tv-weight",
    "--target-loss",
    "--vgg",
)

RUN_BASES: dict[str, list[str]] = {
    "rule-poet": ["a quiet lake"],
    "learned-poet": ["a quiet lake", "--max-new-tokens=8", "--no-guard"],
    "procedural-painting": ["a quiet lake", "--size=16"],
    "procedural-sculpture": ["a stone", "--detail=1"],
    "rule-composer": ["a quiet lake", "--bars=1"],
    "learned-composer": ["a quiet lake", "--bars=2"],
    "scene-scorer": ["a chase", "--seconds=4"],
    "chorale-harmonizer": ["a hymn", "--melody-text=C4 D4 E4 F4"],
    "folk-continuer": ["a tune", "--motif-text=C4 D4 E4 F4", "--bars=1"],
    "museforge-style-gatys": [
        "--content={A}/photo.png",
        "--styles={A}/style.png",
        "--size=16",
        "--steps=1",
        "--scales=1",
    ],
    "museforge-style-adain": ["--content={A}/photo.png", "--styles={A}/style.png", "--size=16"],
    "museforge-style-johnson": ["--content={A}/photo.png", "--styles=starry-night", "--size=16"],
    "museforge-style-reinhard": ["--content={A}/photo.png", "--styles={A}/style.png", "--size=16"],
    "museforge-style-histogram": ["--content={A}/photo.png", "--styles={A}/style.png", "--size=16"],
    "diffusion": ["a quiet lake", "--steps=2", f"--model={TINY_DIFFUSION}"],
    "gan": ["a quiet lake", "--model={A}/tiny-gan"],
    "upscale": ["--image={A}/photo.png", "--factor=2", f"--model={TINY_DIFFUSION}"],
}

ENGINE_OF_COMMAND = {
    "paint": "procedural-painting",
    "sculpt": "procedural-sculpture",
    "compose": "rule-composer",
    "harmonize": "chorale-harmonizer",
    "continue": "folk-continuer",
    "score": "scene-scorer",
    "poem": "learned-poet",
    "style": "museforge-style-gatys",
    "imagine": "diffusion",
    "edit": "diffusion",
    "vary": "diffusion",
    "upscale": "upscale",
}

OPTION_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("dataset", "--n"): (1, 1_000_000),
    ("dataset", "--size"): (16, 512),
    ("dataset", "--workers"): (0, 64),
    ("train style", "--steps"): (1, 100_000),
    ("train style", "--size"): (32, 1024),
    ("train style", "--style-weight"): (0, 1e6),
    ("train style", "--threads"): (1, 256),
    ("train image", "--steps"): (1, 1_000_000),
    ("train image", "--minutes"): (0, 100_000),
    ("train image", "--batch"): (1, 256),
    ("train image", "--lr"): (0, 0.1),
    ("train image", "--sample-every"): (0, 1_000_000),
    ("vary", "--n"): (1, 16),
    ("studio", "--port"): (1, 65535),
    ("studio", "--workers"): (1, 32),
    ("studio", "--max-queue"): (1, 100_000),
    ("studio", "--stale-after"): (2, 86_400),
    ("evaluate", "--n"): (4, 1000),
    ("batch", "--workers"): (1, 64),
    ("train text", "--steps"): (1, 1_000_000),
    ("train text", "--minutes"): (0, 100_000),
    ("train text", "--batch"): (1, 1024),
    ("train text", "--lr"): (0, 0.1),
    ("train text", "--eval-every"): (1, 1_000_000),
    ("train text", "--patience"): (0, 10_000),
    ("train text", "--threads"): (1, 256),
    ("train text", "--goldfish-k"): (0, 1000),
    ("train music", "--steps"): (1, 1_000_000),
    ("train music", "--minutes"): (0, 100_000),
    ("train music", "--batch"): (1, 1024),
    ("train music", "--lr"): (0, 0.1),
    ("train music", "--eval-every"): (1, 1_000_000),
    ("train music", "--patience"): (0, 10_000),
    ("train music", "--threads"): (1, 256),
    ("train music", "--goldfish-k"): (0, 1000),
    ("data ingest", "--val-share"): (0, 0.5),
    ("data ingest", "--max-side"): (16, 16384),
    ("data ingest", "--max-file-mb"): (1e-300, 4096),
    ("data ingest", "--workers"): (0, 64),
}
"""Ranges of the numeric options that are not engine parameters (``--seed`` everywhere: 0 to 2^53-1).
A new numeric option must be added here (or be an engine parameter), or the corpus refuses to build."""

EXPENSIVE = ("train style", "train image", "train text", "train music", "studio", "evaluate", "batch")
"""Commands whose valid values take too long to run in the suite: only their refusals are run."""


@dataclass(frozen=True)
class Option:
    command: tuple[str, ...]
    flag: str
    dest: str
    type: type
    choices: tuple[str, ...] | None = None

    @property
    def where(self) -> str:
        return " ".join(self.command)


def parser_options(kinds: tuple[type, ...] = (int, float)) -> list[Option]:
    """Every option of every command (``run ENGINE`` for each installed engine) whose type is one
    of ``kinds``, or (with ``kinds=()``) every option with choices, read from the parsers."""
    from museforge.cli import build_parser
    from museforge.cli.run import engine_parser
    from museforge.engines import describe, get_engine, load_engines

    found: list[Option] = []

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, (*path, name))
                continue
            if not action.option_strings:
                continue
            flag = action.option_strings[-1]
            if kinds and action.type in kinds:
                found.append(Option(path, flag, action.dest, action.type))
            elif not kinds:
                choices = tuple(action.choices) if action.choices else None
                if choices is None and action.dest.startswith("p_"):
                    engine = path[1] if path[0] == "run" else ENGINE_OF_COMMAND.get(path[0], "")
                    infos = {i.name: i for i in describe(get_engine(engine).Params)} if engine else {}
                    info = infos.get(action.dest[2:])
                    choices = info.choices if info else None
                if choices:
                    found.append(Option(path, flag, action.dest, str, choices))

    walk(build_parser(), ())
    for name in sorted(load_engines()):
        walk(engine_parser(name), ("run", name))
    return found


def option_range(option: Option) -> tuple[float, float]:
    from museforge.engines import describe, get_engine
    from museforge.runtime import MAX_SEED

    if option.dest.startswith("p_"):
        engine = option.command[1] if option.command[0] == "run" else ENGINE_OF_COMMAND[option.command[0]]
        info = {i.name: i for i in describe(get_engine(engine).Params)}[option.dest[2:]]
        if info.range is None:
            raise KeyError(f"{engine} parameter {info.name} has no range")
        return info.range
    if option.flag == "--seed":
        return (0, MAX_SEED)
    return OPTION_RANGES[(option.where, option.flag)]


def _base_for(option: Option) -> tuple[list[str], str | None, Callable | None]:
    if option.command[0] == "run":
        engine = option.command[1]
        return (["run", engine, *RUN_BASES[engine], "--seed=1", "-q", "--out", "o"], "o", verified("o"))
    if option.command == ("style",) and option.flag in GATYS_ONLY:
        return COMMAND_BASES["style gatys"]
    return COMMAND_BASES[option.where]


def expected_number(text: str, kind: type, span: tuple[float, float]) -> str:
    """ERROR unless ``text`` reads as a finite ``kind`` (as argparse reads it) within ``span``."""
    try:
        value = kind(text)
    except ValueError:
        return ERROR
    if isinstance(value, float) and not math.isfinite(value):
        return ERROR
    return ANY if span[0] <= value <= span[1] else ERROR


def number_cases(assets: Assets) -> list[Case]:
    cases = []
    for option in parser_options():
        span = option_range(option)
        base, out, check = _base_for(option)
        for vname, value in BAD_NUMBERS:
            expect = expected_number(value, option.type, span)
            if expect != ERROR and (option.where in EXPENSIVE or option.command[0] == "run"):
                continue  # a valid value: run where it is cheap (run ENGINE repeats the commands)
            cases.append(
                Case(
                    "numbers",
                    f"{option.where} {option.flag}={vname}",
                    with_value(base, option.flag, value),
                    expect,
                    out=out,
                    check=check,
                )
            )
    return cases


# ---------------------------------------------------------------- 3. choices, seeds, params, engines,
#                                                                     inputs, devices


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def option_cases(assets: Assets) -> list[Case]:
    cases = []
    for option in parser_options(kinds=()):
        base, out, check = _base_for(option)
        for vname, value in (
            ("unknown", "nope"),
            ("empty", ""),
            ("newline", f"{option.choices[0]}\n"),
            ("huge", "x" * 70_000),
            ("case", option.choices[-1].upper()),
        ):
            if value in option.choices:
                continue
            cases.append(
                Case(
                    "options",
                    f"{option.where} {option.flag}={vname}",
                    with_value(base, option.flag, value),
                    ERROR,
                    out=out,
                    check=check,
                )
            )
    create = [
        "create",
        "a quiet lake",
        "--seed",
        "1",
        "-q",
        "--out",
        "o",
        "--modalities",
        "text,image",
        "--param",
        "image.size=16",
    ]
    w = ("o", verified("o"))
    for value, expect in [
        ("-1", ERROR),
        (str(2**53), ERROR),
        (str(2**53 - 1), OK),
        ("1.5", ERROR),
        ("٣", OK),
        ("+7", OK),
        (" 7 ", OK),
        ("0b1", ERROR),
        ("1e3", ERROR),
    ]:
        cases.append(
            Case(
                "options",
                f"create --seed={value!r}",
                with_value(create, "--seed", value),
                expect,
                out=w[0],
                check=w[1],
            )
        )
    for param, expect in [
        ("image.size", ERROR),
        ("=5", ERROR),
        (".size=5", ERROR),
        ("image.=5", ERROR),
        ("image.size=", ERROR),
        ("image.nosuch=1", ERROR),
        ("image.size=1e999", ERROR),
        ("image.size=16.0", ERROR),
        ("image.style=nope", ERROR),
        ("text.form=limerick", ERROR),
        ("text.form=sonnet", OK),
        ("IMAGE.size=16", ERROR),
        ("image.size=16=17", ERROR),
        ("image.size=" + "9" * 5000, ERROR),
        ("image.density=nan", ERROR),
        ("image.size= 24 ", OK),
        ("procedural-painting.size=24", OK),
        ("music.bars=1", OK),
        ("music.bars=0", ERROR),
        ("rule-composer.bars=0", ERROR),
        ("text.title=maybe", ERROR),
        ("text.title=no", OK),
    ]:
        cases.append(
            Case(
                "options",
                f"create --param {param[:40]!r}",
                [*create, "--param", param],
                expect,
                out=w[0],
                check=w[1],
            )
        )
    for engine, expect in [
        ("image=", ERROR),
        ("=procedural-painting", ERROR),
        ("image=nope", ERROR),
        ("image=rule-poet", ERROR),
        ("image=museforge-style-adain", ERROR),
        ("IMAGE=procedural-painting", ERROR),
        ("text=learned-poet", ANY),
        ("sound=rule-composer", ERROR),
        ("image=procedural-painting=x", ERROR),
    ]:
        extra = ["--param", "learned-poet.max_new_tokens=8"] if "learned" in engine else []
        cases.append(
            Case(
                "options",
                f"create --engine {engine!r}",
                [*create, "--engine", engine, *extra],
                expect,
                out=w[0],
                check=w[1],
            )
        )
    styled = [*create, "--engine", "image=museforge-style-reinhard"]
    for inputs, expect in [
        ([], ERROR),
        (["image.content={A}/photo.png"], ERROR),
        (["image.content={A}/photo.png", "image.styles={A}/style.png"], OK),
        (["image.content={A}/photo.png", "image.styles=starry-night"], OK),
        (["image.content={A}/missing.png", "image.styles={A}/style.png"], ERROR),
        (["image.content={A}/photo.png", "image.styles=starry-nite"], ERROR),
        (["image.content", "image.styles={A}/style.png"], ERROR),
        (["=x"], ERROR),
        (["content={A}/photo.png"], ERROR),
        (["image.nosuch={A}/photo.png"], ERROR),
        (["image.content={A}/photo.png", *["image.styles={A}/style.png"] * 17], ERROR),
    ]:
        argv = [*styled]
        for item in inputs:
            argv += ["--input", item]
        shown = " ".join(i.replace("{A}/", "") for i in inputs)
        shown = shown if len(shown) < 70 else f"{shown[:40]}... ({len(inputs)} inputs)"
        cases.append(Case("options", f"create --input {shown}", argv, expect, out=w[0], check=w[1]))
    two_styles = [
        *styled,
        "--input",
        "image.content={A}/photo.png",
        "--input",
        "image.styles={A}/style.png",
        "--input",
        "image.styles=starry-night",
    ]
    cases.append(
        Case(
            "options",
            "create --input of one role twice blends both",
            two_styles,
            OK,
            out="o",
            check=all_of(verified("o"), _recorded_inputs("o", "styles", 2)),
        )
    )
    cases.append(
        Case(
            "options",
            "create --input without --engine",
            [*create, "--input", "image.content={A}/photo.png"],
            ERROR,
            out="o",
        )
    )
    cuda = _cuda()
    for device in (
        "",
        "banana",
        "cuda",
        "cuda:0",
        "cuda:99",
        "cuda:-1",
        "cuda:",
        "mps",
        "cpu:0",
        "auto",
        "CPU",
        " cpu",
        "cuda:٣",
        "cuda:1:2",
    ):
        expect = {"": ANY, "auto": OK, "cuda": OK if cuda else ERROR, "cuda:0": OK if cuda else ERROR}.get(
            device, ERROR
        )
        for cname, argv, out, check in [
            ("create", [*create, "--device", device], *w),
            (
                "poem",
                ["poem", "a lake", "--seed", "1", "--max-new-tokens", "8", "--no-guard", "--device", device],
                None,
                printed,
            ),
            ("style", [*COMMAND_BASES["style"][0], "--device", device], "o", verified("o/s.png")),
            ("run", ["run", "rule-poet", "a lake", "-q", "--out", "o", "--device", device], *w),
        ]:
            cases.append(Case("options", f"{cname} --device {device!r}", argv, expect, out=out, check=check))
    text_only = ["create", "a quiet lake", "--seed", "1", "-q", "--out", "o"]
    for mods, expect in [
        ("", ERROR),
        (",", ERROR),
        ("text,text", OK),
        ("TEXT", OK),
        ("text,nope", ERROR),
        ("text;image", ERROR),
        (" text ", OK),
    ]:
        cases.append(
            Case(
                "options",
                f"create --modalities {mods!r}",
                [*text_only, "--modalities", mods],
                expect,
                out=w[0],
                check=w[1],
            )
        )
    style = COMMAND_BASES["style"][0]
    s = ("o", verified("o/s.png"))
    two = [
        "style",
        "{A}/photo.png",
        "{A}/style.png",
        "starry-night",
        "--size",
        "16",
        "-q",
        "--out",
        "o/s.png",
    ]
    for name, argv, expect in [
        ("weights nan", [*two, "--method", "reinhard", "--weights", "nan,1"], ERROR),
        ("weights one of two", [*two, "--method", "reinhard", "--weights", "1"], ERROR),
        ("weights negative", [*two, "--method", "reinhard", "--weights", "-1,2"], ERROR),
        ("weights words", [*two, "--method", "reinhard", "--weights", "a,b"], ERROR),
        ("weights zero", [*two, "--method", "reinhard", "--weights", "0,0"], ERROR),
        ("weights ok", [*two, "--method", "reinhard", "--weights", "0.7,0.3"], OK),
        (
            "masks wrong count",
            [*two, "--method", "gatys", "--steps", "1", "--scales", "1", "--masks", "{A}/mask.png"],
            ERROR,
        ),
        (
            "masks with reinhard",
            [*two, "--method", "reinhard", "--masks", "{A}/mask.png,{A}/mask.png"],
            ERROR,
        ),
        (
            "masks commas only",
            [*two, "--method", "gatys", "--steps", "1", "--scales", "1", "--masks", ",,"],
            ANY,
        ),
        (
            "masks missing",
            [
                *two,
                "--method",
                "gatys",
                "--steps",
                "1",
                "--scales",
                "1",
                "--masks",
                "{A}/nope.png,{A}/mask.png",
            ],
            ERROR,
        ),
        ("fast with gatys", [*style, "--fast", "--method", "gatys"], ERROR),
        ("preserve-color with reinhard", [*style, "--preserve-color"], ERROR),
        ("preserve-color unknown", [*style, "--preserve-color=hue"], ERROR),
        ("vgg with adain", [*with_value(style, "--method", "adain"), "--vgg", "{A}/fake.safetensors"], ERROR),
        (
            "vgg garbage",
            [
                *with_value(style, "--method", "gatys"),
                "--steps",
                "1",
                "--scales",
                "1",
                "--vgg",
                "{A}/fake.safetensors",
            ],
            ERROR,
        ),
        ("strength 2 with adain", [*with_value(style, "--method", "adain"), "--strength", "2"], ERROR),
        ("out not png", with_value(style, "--out", "o/s.jpg"), ERROR),
        (
            "unknown builtin style",
            ["style", "{A}/photo.png", "starry-nite", "--method", "reinhard", "-q", "--out", "o/s.png"],
            ERROR,
        ),
        (
            "seventeen styles",
            [
                "style",
                "{A}/photo.png",
                *["{A}/style.png"] * 17,
                "--method",
                "reinhard",
                "--size",
                "16",
                "-q",
                "--out",
                "o/s.png",
            ],
            ERROR,
        ),
        (
            "fast unknown model",
            [
                "style",
                "{A}/photo.png",
                "{A}/style.png",
                "--fast",
                "--method",
                "johnson",
                "-q",
                "--out",
                "o/s.png",
            ],
            ERROR,
        ),
    ]:
        cases.append(Case("options", f"style {name}", argv, expect, out=s[0], check=s[1]))
    compose = COMMAND_BASES["compose"][0]
    c = ("o", verified("o"))
    for flag, value, expect in [
        ("--key", "H major", ERROR),
        ("--key", "C" * 5000, ERROR),
        ("--key", "C major\n", ANY),
        ("--key", "c# minor", ANY),
        ("--key", "C bogus", ERROR),
        ("--key", "", OK),
        ("--meter", "0/4", ERROR),
        ("--meter", "4/0", ERROR),
        ("--meter", "4/3", ERROR),
        ("--meter", "99999/4", ERROR),
        ("--meter", "1/1024", ERROR),
        ("--meter", "x", ERROR),
        ("--meter", "", ERROR),
        ("--meter", "7/8", OK),
        ("--meter", "4/4/4", ERROR),
        ("--meter", "-4/4", ERROR),
        ("--meter", "4 / 4", ANY),
    ]:
        cases.append(
            Case(
                "options",
                f"compose {flag}={value[:20]!r}",
                with_value(compose, flag, value),
                expect,
                out=c[0],
                check=c[1],
            )
        )
    for command in ("harmonize", "continue"):
        base = COMMAND_BASES[command][0]
        for flag, value, expect in [
            ("--tempo-changes", "16:nan", ERROR),
            ("--tempo-changes", "x", ERROR),
            ("--tempo-changes", "1:60," * 1001, ERROR),
            ("--tempo-changes", "-4:60", ERROR),
            ("--tempo-changes", "4:60", OK),
            ("--meter", "3/4", OK),
            ("--meter", "0/0", ERROR),
            ("--key", "X minor", ERROR),
            ("--transpose", "48", ANY),
        ]:
            cases.append(
                Case(
                    "options",
                    f"{command} {flag}={value[:20]!r}",
                    with_value(base, flag, value),
                    expect,
                    out="o",
                    check=verified("o"),
                )
            )
    for name, argv, expect in [
        ("no command", [], ERROR),
        ("unknown command", ["nope"], ERROR),
        ("version", ["--version"], OK),
        ("help", ["--help"], OK),
        ("create help", ["create", "--help"], OK),
        ("run unknown engine", ["run", "nope"], ERROR),
        ("run empty engine", ["run", ""], ERROR),
        ("run nothing", ["run"], ERROR),
        ("run engine help", ["run", "procedural-painting", "--help"], OK),
        ("run unknown option", ["run", "procedural-painting", "a", "--nope", "--out", "o"], ERROR),
        ("run input as parameter", ["run", "museforge-style-reinhard", "--size=16", "--out", "o"], ERROR),
        ("keys nothing", ["keys"], ERROR),
        ("keys unknown", ["keys", "nope"], ERROR),
        ("keys name empty", ["keys", "name", ""], ANY),
        ("keys name escape", ["keys", "name", "\x1b[31mred"], ERROR),
        ("keys name too long", ["keys", "name", "a" * 81], ERROR),
        ("keys name newline", ["keys", "name", "a\nb"], ANY),
        ("train nothing", ["train"], ERROR),
        ("train style without image", ["train", "style", "-q", "--out", "o"], ERROR),
        (
            "train style adain with image",
            ["train", "style", "{A}/style.png", "--method", "adain", "--out", "o"],
            ERROR,
        ),
        (
            "train style styles without adain",
            ["train", "style", "{A}/style.png", "--styles", "{A}", "--out", "o"],
            ERROR,
        ),
        (
            "train style adain styles absent",
            ["train", "style", "--method", "adain", "--styles", "{A}/nope", "--out", "o"],
            ERROR,
        ),
        (
            "train style adain compare garbage",
            ["train", "style", "--method", "adain", "--compare", "{A}/fake.safetensors", "--out", "o"],
            ERROR,
        ),
        (
            "train style compare garbage",
            ["train", "style", "{A}/style.png", "--compare", "{A}/fake.safetensors", "--out", "o"],
            ERROR,
        ),
        ("export nothing", ["export"], ERROR),
        ("export model garbage", ["export", "text", "--model", "{A}/fake.safetensors", "--out", "o"], ERROR),
        ("export model image", ["export", "text", "--model", "{A}/photo.png", "--out", "o"], ERROR),
        ("reproduce input malformed", ["reproduce", "{A}/base-work", "--input", "x"], ERROR),
        ("reproduce input empty role", ["reproduce", "{A}/base-work", "--input", "=x"], ERROR),
        ("dataset unknown kind", ["dataset", "nope", "--out", "o"], ERROR),
        ("poem unknown form", ["poem", "a lake", "--form", "limerick", "--max-new-tokens", "8"], ERROR),
        ("poem check unknown form", ["poem", "--check", "{A}/poem.txt", "--form", "free"], ERROR),
        ("poem keep without from", ["poem", "a lake", "--keep", "1"], ERROR),
        (
            "poem keep garbage",
            ["poem", "--keep", "x,-1,999", "--from", "{A}/poem.txt", "--max-new-tokens", "8"],
            ANY,
        ),
        ("poem rule with learned option", ["poem", "a lake", "--engine", "rule-poet", "--top-k", "5"], ERROR),
        ("poem stop huge", ["poem", "a lake", "--stop", "x" * 70_000, "--max-new-tokens", "8"], ERROR),
    ]:
        keys = argv[:1] == ["keys"]  # a home of its own: a key name given here must not sign other Works
        cases.append(
            Case(
                "options",
                name,
                argv,
                expect,
                out="o" if "--out" in argv else None,
                check=(printed if argv[:1] in (["--version"], ["--help"]) else None),
                env={"MUSEFORGE_HOME": "{C}/home"} if keys else {},
                allow=("home",) if keys else (),
            )
        )
    # failures over an earlier result leave it as it was
    for name, argv, prior in [
        (
            "create --overwrite with a bad parameter",
            ["create", "a sea", "--overwrite", "--out", "w", "-q", "--param", "image.size=99999"],
            "base-work",
        ),
        (
            "create --overwrite with a bad engine",
            ["create", "a sea", "--overwrite", "--out", "w", "-q", "--engine", "image=nope"],
            "base-work",
        ),
        (
            "paint --overwrite with a bad size",
            ["paint", "a sea", "--overwrite", "--size", "0", "--out", "w/p.png"],
            "base-paint",
        ),
        (
            "compose --overwrite with a bad meter",
            ["compose", "--overwrite", "--meter", "0/4", "--out", "w"],
            "base-compose",
        ),
        (
            "harmonize --overwrite with a bad melody",
            ["harmonize", "X9", "--overwrite", "--out", "w"],
            "base-compose",
        ),
        (
            "style --overwrite with a bad image",
            ["style", "{A}/truncated.png", "starry-night", "--overwrite", "-q", "--out", "w/p.png"],
            "base-paint",
        ),
    ]:
        cases.append(Case("options", name, argv, ERROR, out="w", prior=True, setup=copy_asset(prior, "w")))
    return cases
