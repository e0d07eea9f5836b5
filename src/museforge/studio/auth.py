"""Who is asking: the one local user, or (``--multi-user``) an account signed in with a password.

Passwords are stored as argon2id hashes; a session is a random token in an HttpOnly, SameSite=Lax
cookie, kept in the database as its SHA-256 (a stolen database holds no usable session). Every
state-changing request must come from the studio's own pages: a browser's ``Origin`` (or
``Sec-Fetch-Site``) naming another site is refused in every mode, and in multi-user mode the
request must also carry the session's CSRF token (``X-CSRF-Token``, double-submitted as a
readable cookie). Job creation is rate-limited per user.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import defaultdict, deque

import sqlalchemy as sa

from museforge.errors import MuseforgeError
from museforge.studio.db import now, sessions, users

SESSION_COOKIE = "museforge_session"
CSRF_COOKIE = "museforge_csrf"
SESSION_SECONDS = 14 * 24 * 3600
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_PASSWORD = 8


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def add_user(engine: sa.Engine, name: str, password: str) -> None:
    if not NAME.match(name):
        raise MuseforgeError("a user name is 1 to 64 letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD:
        raise MuseforgeError(f"the password must have at least {MIN_PASSWORD} characters")
    digest = _hasher().hash(password)
    with engine.begin() as conn:
        if conn.execute(sa.select(users.c.name).where(users.c.name == name)).first():
            conn.execute(users.update().where(users.c.name == name).values(password=digest))
        else:
            conn.execute(users.insert().values(name=name, password=digest, created=now()))


def check_password(engine: sa.Engine, name: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    with engine.connect() as conn:
        row = conn.execute(sa.select(users.c.password).where(users.c.name == name)).first()
    try:  # an unknown name is checked against a dummy hash: it takes as long as a wrong password
        return _hasher().verify(row.password if row else _dummy(), password) and row is not None
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy() -> str:
    return _hasher().hash(secrets.token_hex(16))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session(engine: sa.Engine, name: str) -> str:
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(sessions.delete().where(sessions.c.expires < now()))
        conn.execute(
            sessions.insert().values(token=_digest(token), user=name, expires=now() + SESSION_SECONDS)
        )
    return token


def session_user(engine: sa.Engine, token: str | None) -> str | None:
    if not token:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(sessions.c.user).where(sessions.c.token == _digest(token), sessions.c.expires > now())
        ).first()
    return row.user if row else None


def end_session(engine: sa.Engine, token: str | None) -> None:
    if token:
        with engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.token == _digest(token)))


def csrf_token(secret: bytes, session: str) -> str:
    return hmac.new(secret, session.encode(), hashlib.sha256).hexdigest()


def same_site(origin: str | None, fetch_site: str | None, host: str | None) -> bool:
    """False when a browser says the request comes from another site."""
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return False
    if origin:
        return origin.split("://", 1)[-1] == (host or "")
    return True


class RateLimit:
    """At most ``count`` events per ``seconds`` per key (in this server process)."""

    def __init__(self, count: int, seconds: float) -> None:
        self.count, self.seconds = count, seconds
        self.events: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        t = time.monotonic()
        with self.lock:
            seen = self.events[key]
            while seen and seen[0] < t - self.seconds:
                seen.popleft()
            if len(seen) >= self.count:
                return False
            seen.append(t)
            return True
