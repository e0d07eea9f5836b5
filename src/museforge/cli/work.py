"""``create``, ``show``, ``verify``, ``reproduce`` and ``engines``: making Works and reading them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from museforge.cli.common import (
    StageProgress,
    add_allow_copy,
    add_mood,
    add_quiet,
    add_seed,
    parse_assignments,
    parse_inputs,
    parse_owned,
    read_prompt,
)

MODALITY_LIST = "text,image,music"
ALL_MODALITIES = "text,image,music,sculpture"


# ---------------------------------------------------------------- create


def cmd_create(args: argparse.Namespace) -> int:
    from museforge.create import CreateOptions, create_work, default_out, parse_modalities
    from museforge.jobs import MAX_PROMPT_CHARS
    from museforge.runtime import resolve_seed

    prompt = read_prompt(args.prompt, MAX_PROMPT_CHARS)
    seed = resolve_seed(args.seed)
    inputs: dict[str, list[str]] = {}
    for item in args.input:  # one at a time: a role given again adds a file (styles to blend)
        for owner, roles in parse_owned([item], "--input", "image.content=photo.jpg").items():
            for role, path in roles.items():
                inputs.setdefault(f"{owner}.{role}", []).append(path)
    opts = CreateOptions(
        prompt=prompt,
        seed=seed,
        out=Path(args.out) if args.out else default_out(prompt.strip()),
        emotion=args.emotion,
        lang=args.lang,
        modalities=parse_modalities(args.modalities),
        engines=dict(parse_assignments(args.engine, "--engine")),
        params=parse_owned(args.param, "--param", "image.size=512"),
        inputs=inputs,
        device=args.device,
        overwrite=args.overwrite,
        allow_copy=args.allow_copy,
    )
    with StageProgress(not args.quiet) as progress:
        out, notes = create_work(opts, progress)
    for note in notes:
        print(f"museforge: warning: {note}", file=sys.stderr)
    report = (out / "report.html").resolve()
    print(f"Work written to {out} (seed {seed})")
    print(f"Open {report.as_uri()} in a browser, or run: museforge show {out}")
    return 0


def add_create_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "create",
        help="make one multimodal Work (poem, painting, music) from a prompt",
        description="Make one Work from a prompt: a poem, a painting and a piece of "
        "music sharing one mood, written to a folder with work.json and report.html.",
    )
    p.add_argument(
        "prompt", help="the theme or opening, e.g. '在一片神秘的森林中，'; '-' reads it from standard input"
    )
    add_mood(p)
    add_seed(p)
    p.add_argument("--lang", choices=("zh", "en"), help="language of the poem (default: the prompt's)")
    p.add_argument("--modalities", default=MODALITY_LIST, metavar="LIST",
                   help=f"comma-separated subset of {ALL_MODALITIES} (default: {MODALITY_LIST})")
    p.add_argument("--out", metavar="DIR", help="the Work folder to write (default: works/DATE-TIME-PROMPT)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it already holds files")
    p.add_argument("--engine", action="append", default=[], metavar="MODALITY=NAME",
                   help="use this engine for a modality, e.g. image=procedural-painting "
                   "(see 'museforge engines')")
    p.add_argument("--param", action="append", default=[], metavar="OWNER.KEY=VALUE",
                   help="set an engine parameter; OWNER is a modality or an engine name, e.g. image.size=512")
    p.add_argument("--input", action="append", default=[], metavar="OWNER.ROLE=PATH",
                   help="an input file for an engine that takes one, e.g. image.content=photo.jpg with "
                   "--engine image=museforge-style-adain (repeat for several)")
    p.add_argument("--device", default="cpu",
                   help="cpu (default), cuda or auto; byte-exact reproduction holds on cpu")
    add_allow_copy(p)
    add_quiet(p)
    p.set_defaults(func=cmd_create)
    return p


# ---------------------------------------------------------------- show


_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _unsafe(ch: str) -> bool:
    import unicodedata

    return ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs")


def _escaped(ch: str) -> str:
    code = ord(ch)
    if ch in "\n\t\r":
        return repr(ch)[1:-1]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def safe(value: Any) -> str:
    """``value`` as text with control characters, bidirectional overrides and undecodable bytes
    escaped (``\\x1b``), so a prompt or a file name cannot move the cursor, recolour the terminal
    or fake a line."""
    return "".join(_escaped(ch) if _unsafe(ch) else ch for ch in str(value))


def _show_record(record: Any, signature: str, raw_json: Any, as_json: bool) -> None:
    """Print a record for a person (or as JSON), every string from it through :func:`safe`."""
    unsafe = _unsafe

    if as_json:  # json.dumps escapes C0 controls; escape DEL, C1, bidi marks and lone surrogates too
        text = json.dumps(raw_json, ensure_ascii=False, indent=2)
        print("".join(f"\\u{ord(ch):04x}" if unsafe(ch) and ch != "\n" else ch for ch in text))
        return
    e = record.emotion
    print(f"prompt    {safe(record.prompt)}")
    print(f"language  {safe(record.lang)}")
    if e is not None:
        print(f"emotion   {safe(e.label)} (valence {e.valence:+.2f}, arousal {e.arousal:+.2f},"
              f" confidence {e.confidence:.2f}, {safe(e.source)})")
    print(f"seed      {record.seed}")
    if record.created:
        print(f"made      {safe(record.created)} with museforge {safe(record.museforge)} on "
              f"{safe(record.device)}, {record.seconds} s")
    print("libraries " + ", ".join(f"{safe(k)} {safe(v)}" for k, v in record.libraries.items()))
    for a in record.artifacts:
        head = f"{safe(a.modality)}: " if a.modality else ""
        took = f"  {a.seconds} s" if a.seconds else ""
        print(f"\n{head}{safe(a.engine)} {safe(a.engine_version)}  seed {a.seed}{took}")
        if a.model_sha256:
            print(f"  model sha256 {safe(a.model_sha256)}")
        for k, v in a.params.items():
            print(f"  {safe(k)} = {safe(repr(v))}")
        for i in a.inputs:
            builtin = " (built in)" if i.builtin else ""
            print(f"  input {safe(i.role)}: {safe(i.name)}{builtin}  {i.bytes:,} bytes  "
                  f"sha256 {safe(i.sha256[:16])}")
        for k, v in a.summary.items():
            if k != "text":
                print(f"  [{safe(k)}] {safe(v)}")
        for f in a.files:
            print(f"  file {safe(f.name)}  {f.bytes:,} bytes  sha256 {safe(f.sha256[:16])}")
        for w in a.warnings:
            print(f"  warning: {safe(w)}")
        if a.summary.get("text"):
            print("\n" + "\n".join("    " + safe(line) for line in str(a.summary["text"]).splitlines()))
    print(f"\nsignature {safe(signature)}")


def cmd_show(args: argparse.Namespace) -> int:
    from museforge.keys import identify
    from museforge.provenance import check_file, read_embedding, verify_manifest
    from museforge.work import is_work_folder, load_manifest, lone_record, sealed_files, work_folder

    path = Path(args.work)
    if not path.exists():
        from museforge.errors import MuseforgeError

        raise MuseforgeError(f"{path} not found; pass a Work folder, its work.json, or a file museforge made")
    if is_work_folder(path):
        raw = load_manifest(work_folder(path))
        from museforge.record import WorkRecord

        record = WorkRecord.from_json(raw)
        signer = identify(record.signature.public_key, record.signer) if record.signature else None
        status = f"valid, by {signer.describe()}" if verify_manifest(raw) and signer else "INVALID or missing"
        _show_record(record, status, raw, args.json)
        return 0
    files = sealed_files(path) if path.is_dir() else [path]
    if not files:
        from museforge.errors import MuseforgeError

        raise MuseforgeError(f"{path} holds no work.json and no file with a museforge record")
    for i, f in enumerate(files):
        if len(files) > 1:
            print(("\n" if i else "") + f"== {safe(f.name)}")
        found = read_embedding(f)
        verdict = check_file(f)
        signer = identify(verdict.public_key, verdict.signer) if verdict.ok else None
        status = f"valid, by {signer.describe()}" if signer else f"{verdict.status.upper()}: {verdict.detail}"
        _show_record(lone_record(f), status, {**(found.record or {}), "seal": found.seal}, args.json)
    return 0


def add_show_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "show",
        help="print the record of a Work, or of a file museforge made",
        description="Print how a Work was made: prompt, mood, engines, parameters, inputs, seeds, "
        "files. Takes a Work folder, its work.json, or a lone file museforge made (PNG, MIDI, WAV, "
        "SVG, or a file with a .provenance.json sidecar).",
    )
    p.add_argument("work", help="a Work folder, its work.json, or a file museforge made")
    p.add_argument("--json", action="store_true", help="print the record itself as JSON")
    p.set_defaults(func=cmd_show)
    return p


# ---------------------------------------------------------------- verify


def cmd_verify(args: argparse.Namespace) -> int:
    from museforge.work import is_work_folder, verify_path

    path = Path(args.work)
    verdict = verify_path(path)
    for f in verdict.files:
        print(f"{safe(f.name)}  {f.status}" + (f"  {safe(f.detail)}" if f.detail else ""))
    for problem in verdict.problems:
        print(safe(problem))
    folder = is_work_folder(path)
    if folder:
        print(f"signature {'valid' if verdict.signed else 'INVALID: work.json was changed or is unsigned'}")
    else:
        print(f"seal {'valid' if verdict.signed else 'INVALID or missing'}")
    if verdict.signer is not None:
        print(f"signed by {verdict.signer.describe()}")
    what = "the Work" if folder or path.is_dir() else "the file"
    if not verdict.intact:
        print(f"{what} was altered")
        return 1
    if not verdict.accepted(args.allow_unknown):
        print(f"{what} is intact but signed by an unknown key; if you trust it, add its owner's key with "
              "'museforge keys trust FILE', or pass --allow-unknown")
        return 1
    print(f"{what} is intact")
    return 0


def add_verify_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "verify",
        help="check the signature and every byte of a Work or of a lone file",
        description="Check that work.json is signed and unchanged, that every file still has its "
        "recorded SHA-256 and that none was added; for a lone file, check its seal: the signature over "
        "its record and the hashes of its content, naming the bytes that changed. Says who signed and "
        "whether you trust that key (your own, or one added with 'museforge keys trust'). Exit "
        "status 1 when anything was altered, or when the signer is unknown (unless --allow-unknown).",
    )
    p.add_argument("work", help="a Work folder, its work.json, or a file museforge made")
    p.add_argument("--allow-unknown", action="store_true",
                   help="accept a Work signed by a key that is neither yours nor trusted (exit 0 if intact)")
    p.set_defaults(func=cmd_verify)
    return p


# ---------------------------------------------------------------- reproduce


def cmd_reproduce(args: argparse.Namespace) -> int:
    from museforge.reproduce import reproduce_work

    given: dict[str, list[Path]] = {r: [Path(p) for p in ps] for r, ps in parse_inputs(args.input).items()}
    with StageProgress(not args.quiet) as progress:
        results, notes = reproduce_work(Path(args.work), progress, given)
    for note in notes:
        print(f"note: {note}")
    width = max(len(r.name) for r in results) if results else 0
    for r in results:
        verdict = "identical" if r.identical else f"DIFFERENT ({r.note})"
        print(f"{r.name:<{width}}  {verdict}")
    same = sum(r.identical for r in results)
    print(f"{same} of {len(results)} files identical")
    return 0 if same == len(results) else 1


def add_reproduce_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "reproduce",
        help="rebuild a Work (or a lone file) from its record and compare the bytes",
        description="Regenerate every artifact from its record (work.json, or the record a lone "
        "file carries) and report, per file, whether the new bytes are identical (a file's seal is "
        "set aside: it depends on the signing key). Input files (a photo, a melody) are found by "
        "their recorded hash beside the Work and here, or given with --input. Exit status 1 when "
        "any file differs.",
    )
    p.add_argument("work", help="a Work folder, its work.json, or a file museforge made")
    p.add_argument("--input", action="append", default=[], metavar="ROLE=PATH",
                   help="an input file the record names, e.g. content=photo.jpg (repeat for several)")
    add_quiet(p)
    p.set_defaults(func=cmd_reproduce)
    return p


# ---------------------------------------------------------------- engines


def cmd_engines(args: argparse.Namespace) -> int:
    from museforge.engines import MODALITIES, default_engine, describe, load_engines, needs_inputs

    engines = load_engines()
    defaults = {m: default_engine(m).name for m in MODALITIES
                if any(e.modality == m and not needs_inputs(e) for e in engines.values())}
    for name, cls in sorted(engines.items(), key=lambda kv: (kv[1].modality, kv[0])):
        mark = " (default)" if defaults.get(cls.modality) == name else ""
        print(f"{cls.modality:<6} {name} {cls.version}{mark}")
        if cls.description:
            print(f"       {cls.description}")
        for spec in cls.inputs:
            need = "needed" if spec.required else "optional"
            many = ", one or more" if spec.multiple else ""
            print(f"         input {spec.role} ({spec.kind}, {need}{many}): {spec.help}")
        for info in describe(cls.Params):
            limits = f" ({info.limits()})" if info.limits() else ""
            print(f"         {info.name} ({info.type_name}, default {info.default!r}): {info.help}{limits}")
    return 0


def add_engines_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "engines",
        help="list the installed engines, their inputs and parameters",
        description="List every installed engine (built in or from a plugin's 'museforge.engines' "
        "entry point) with its input files and its parameters: type, default, range and help.",
    )
    p.set_defaults(func=cmd_engines)
    return p
