"""``museforge export text``: the built-in text model as a transformers GPT-2 folder that
``AutoTokenizer`` and ``pipeline("text-generation")`` load offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from museforge.cli.common import Parser


def cmd_export(args: argparse.Namespace) -> int:
    from museforge.text.hf import export_text_model

    folder = export_text_model(Path(args.out), Path(args.model) if args.model else None, args.overwrite)
    print(folder)
    return 0


def add_export_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "export",
        help="export the built-in text model as a transformers GPT-2 folder",
        description="Export a model for other tools. 'text': the built-in poet (or a museforge "
        ".safetensors text model) as a transformers GPT-2 folder with config.json, the weights and a "
        "tokenizer.json, loadable offline by AutoTokenizer, AutoModelForCausalLM and "
        "pipeline('text-generation').",
    )
    what = p.add_subparsers(dest="export_what", metavar="WHAT", required=True, parser_class=Parser,
                            help="what to export: text")
    t = what.add_parser("text", help="the text model as a transformers GPT-2 folder",
                        description="Write the text model as a transformers GPT-2 folder.")
    t.add_argument("--out", required=True, metavar="DIR", help="the folder to write")
    t.add_argument("--model", metavar="PATH",
                   help="a museforge .safetensors text model (default: the built-in poet)")
    t.add_argument("--overwrite", action="store_true", help="replace DIR if it holds files")
    t.set_defaults(func=cmd_export)
    return p
