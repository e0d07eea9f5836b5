"""``museforge train``: every model family on this machine or under ``accelerate launch``: text and
music (``cli/train_models.py``), image (``cli/train_image.py``), style (``cli/train_style.py``)."""

from __future__ import annotations

import argparse

from museforge.cli.common import Parser


def add_train_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="train any model family (text, image, music, style) on a data set",
        description="Train a model on this machine's CPU, or on several processes or GPUs under "
        "'accelerate launch': 'museforge train text|music|image|style --help'.",
    )
    train_sub = p.add_subparsers(
        dest="train_command",
        metavar="WHAT",
        required=True,
        parser_class=Parser,
        help="what to train: text, music, style, image",
    )
    from museforge.cli.train_style import add_train_style_parser

    add_train_style_parser(train_sub)
    from museforge.cli.train_image import add_train_image_parser

    add_train_image_parser(train_sub)
    from museforge.cli.train_models import add_train_model_parsers

    add_train_model_parsers(train_sub)
    return p
