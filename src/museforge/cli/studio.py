"""``museforge studio``: the web app on this machine."""

from __future__ import annotations

import argparse
import sys

from museforge.errors import MuseforgeError

MAX_WORKERS = 32


def add_studio_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "studio",
        help="the web app: create, vary, compare and rate works in the browser",
        description="Serve the studio at http://HOST:PORT: a page to create works with live progress, "
        "vary them, rate pairs and browse the gallery, over the same engines as the command line, and "
        "its API (documented at /docs, schema at /openapi.json). Jobs wait in a queue in the database "
        "and run in --workers processes; a restart resumes them. Needs the studio extra: "
        "pip install 'museforge[studio]'.",
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=["add-user"],
        metavar="add-user",
        help="'add-user NAME': create an account (or set its password) for --multi-user, then exit",
    )
    p.add_argument("name", nargs="?", help="the account's name (with add-user)")
    p.add_argument(
        "--multi-user",
        action="store_true",
        help="accounts with passwords; each person sees only their own works, jobs and ratings",
    )
    p.add_argument(
        "--password-stdin", action="store_true", help="add-user: read the password from standard input"
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument(
        "--db",
        metavar="URL",
        help="database: sqlite:///PATH or postgresql://USER@HOST/DB (default: SQLite in the data folder)",
    )
    p.add_argument("--data", metavar="DIR", help="where works are written (default: $MUSEFORGE_HOME/studio)")
    p.add_argument("--workers", type=int, default=1, help=f"job processes, 1 to {MAX_WORKERS} (default 1)")
    p.add_argument(
        "--max-queue",
        type=int,
        default=64,
        help="jobs that may wait or run at once; more are answered 429 (default 64)",
    )
    p.add_argument(
        "--stale-after",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="a running job whose worker sent no heartbeat for this long is queued again (default 15)",
    )
    p.set_defaults(func=cmd_studio)
    return p


def cmd_studio(args: argparse.Namespace) -> int:
    try:
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        raise MuseforgeError(f"the studio needs {err.name}: pip install 'museforge[studio]'") from None
    from museforge.studio.api import Settings
    from museforge.studio.db import default_url
    from museforge.studio.server import data_folder, run

    if not 1 <= args.workers <= MAX_WORKERS:
        raise MuseforgeError(f"--workers must lie between 1 and {MAX_WORKERS}")
    if not 1 <= args.port <= 65535:
        raise MuseforgeError("--port must lie between 1 and 65535")
    if not 1 <= args.max_queue <= 100_000:
        raise MuseforgeError("--max-queue must lie between 1 and 100,000")
    if not 2 <= args.stale_after <= 86_400:
        raise MuseforgeError("--stale-after must lie between 2 and 86,400 seconds")
    data = data_folder(args.data)
    data.mkdir(parents=True, exist_ok=True)
    url = args.db or default_url(data)
    if not url.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
        raise MuseforgeError("--db takes sqlite:///PATH or postgresql://USER@HOST/DB")
    if args.action == "add-user":
        return _add_user(args, url)
    if args.name:
        raise MuseforgeError(
            f"unexpected argument {args.name!r}; did you mean 'museforge studio add-user NAME'?"
        )
    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.multi_user:
        print(
            f"museforge: warning: serving on {args.host} without --multi-user: whoever reaches it can use it",
            file=sys.stderr,
        )
    print(
        f"museforge studio at http://{args.host}:{args.port} (works in {data}; Ctrl-C stops)", file=sys.stderr
    )
    settings = Settings(
        url=url, data=data, max_queue=args.max_queue, stale_after=args.stale_after, multi_user=args.multi_user
    )
    run(settings, args.host, args.port, args.workers)
    return 0


def _add_user(args: argparse.Namespace, url: str) -> int:
    import getpass

    from museforge.studio.auth import add_user
    from museforge.studio.db import connect, migrate

    if not args.name:
        raise MuseforgeError("give the account's name: museforge studio add-user NAME")
    if args.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise MuseforgeError("the two passwords differ")
    engine = connect(url)
    migrate(engine)
    add_user(engine, args.name, password)
    print(f"account {args.name} ready; start the studio with --multi-user", file=sys.stderr)
    return 0
