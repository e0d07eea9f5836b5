"""``museforge keys``: your signing key, the name you give it, and the keys you trust."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from museforge.cli.common import Parser


def cmd_list(args: argparse.Namespace) -> int:
    from museforge.keys import export_own, key_path, trusted_keys

    mine = export_own()
    print(f"yours    {mine.fingerprint}  {mine.name or '(no name: museforge keys name NAME)'}  {key_path()}")
    for key in trusted_keys().values():
        print(f"trusted  {key.fingerprint}  {key.name or '(no name)'}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from museforge.keys import export_own
    from museforge.work import check_writable_file, write_atomic

    text = json.dumps(export_own().to_json(), indent=2, ensure_ascii=False) + "\n"
    if not args.out:
        print(text, end="")
        return 0
    out = Path(args.out)
    check_writable_file(out, args.overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, text.encode())
    print(out)
    return 0


def cmd_trust(args: argparse.Namespace) -> int:
    from museforge.keys import read_public, trust

    key = trust(read_public(Path(args.file)), args.name)
    print(f"trusted {key.fingerprint}  {key.name or '(no name)'}")
    return 0


def cmd_name(args: argparse.Namespace) -> int:
    from museforge.keys import export_own, set_own_name

    set_own_name(args.name)
    key = export_own()
    print(f"your key {key.fingerprint} is now called {key.name!r}")
    return 0


def add_keys_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "keys",
        help="your signing key, its name, and the keys you trust",
        description="Every Work is signed with your key (made on first use in $MUSEFORGE_HOME). "
        "'verify' accepts Works signed by your key or by keys you trust; give your public key to "
        "others with 'keys export', and add theirs with 'keys trust'.",
    )
    what = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True, parser_class=Parser,
                            help="list, export, trust or name")
    a = what.add_parser("list", help="show your key and the keys you trust",
                        description="Show your key's fingerprint and name, and every key you trust.")
    a.set_defaults(func=cmd_list)
    a = what.add_parser("export", help="write your public key (and its name) for others to trust",
                        description="Write your public key and the name you gave it as a small JSON file "
                        "that others add with 'museforge keys trust FILE'.")
    a.add_argument("--out", metavar="FILE", help="the file to write (default: print it)")
    a.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    a.set_defaults(func=cmd_export)
    a = what.add_parser("trust", help="trust the key in FILE (made by 'museforge keys export')",
                        description="Trust a public key: Works it signed then verify as signed by a "
                        "known key, under its owner's name (or --name).")
    a.add_argument("file", metavar="FILE", help="a key file made by 'museforge keys export', or a PEM "
                   "Ed25519 public key")
    a.add_argument("--name", help="the name to know this key by (default: the name in the file)")
    a.set_defaults(func=cmd_trust)
    a = what.add_parser("name", help="give your key a name, shown when others verify your Works",
                        description="Give your key a name (at most 80 characters). Works you make "
                        "from now on carry it, covered by the signature.")
    a.add_argument("name", help="the name, e.g. 'Ada Lovelace'")
    a.set_defaults(func=cmd_name)
    return p
