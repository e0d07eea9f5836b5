"""The studio's database: works, jobs, ratings (and users and sessions in multi-user mode)
through SQLAlchemy Core, SQLite in WAL mode by default or PostgreSQL, the schema kept by Alembic
migrations.

Records and files live under the data folder; the database holds what is searched and queued.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

works = sa.Table(
    "works",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False),  # pending, done, failed
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("lang", sa.String(8)),
    sa.Column("mood", sa.String(32), index=True),
    sa.Column("engines", sa.Text, nullable=False, server_default=""),  # " name name " for search
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("parent", sa.String(32), index=True),  # the work this one varies (the history tree)
    sa.Column("request", sa.Text, nullable=False),  # JSON: what was asked
    sa.Column("record", sa.Text),  # JSON: work.json once made
    sa.Column("created", sa.Float, nullable=False, index=True),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False, index=True),
    sa.Column("work_id", sa.String(32), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),  # queued running done failed cancelled
    sa.Column("stage", sa.Text, nullable=False, server_default=""),
    sa.Column("progress", sa.Float, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("worker", sa.String(64)),
    sa.Column("heartbeat", sa.Float),
    sa.Column("cancel", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created", sa.Float, nullable=False, index=True),
    sa.Column("started", sa.Float),
    sa.Column("finished", sa.Float),
)

ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.String(64), nullable=False, index=True),
    sa.Column("a", sa.String(32), nullable=False),
    sa.Column("b", sa.String(32), nullable=False),
    sa.Column("winner", sa.String(32), nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("password", sa.Text, nullable=False),  # argon2id hash
    sa.Column("created", sa.Float, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),  # SHA-256 of the cookie's value
    sa.Column("user", sa.String(64), nullable=False, index=True),
    sa.Column("expires", sa.Float, nullable=False),
)

MIGRATIONS = Path(__file__).with_name("migrations")


def default_url(home: Path) -> str:
    return f"sqlite:///{home / 'studio.db'}"


def connect(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest migration (creates it on an empty database)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def now() -> float:
    return time.time()
