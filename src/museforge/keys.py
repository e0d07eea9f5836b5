"""Signing keys and whom to trust: this person's Ed25519 key, the name they gave it, and the
public keys of others they chose to trust. All of it lives in ``$MUSEFORGE_HOME`` (default
``~/.local/share/museforge``):

- ``signing-key.pem``: the private key, made on first use, created 0600 in a folder created 0700
  (written through a file opened with that mode, never chmod'ed after);
- ``key-name.txt``: the name its owner gave it (``museforge keys name``);
- ``trusted/KEYID.json``: public keys added with ``museforge keys trust FILE``.

A signature is only as good as the key behind it: ``verify`` calls a record intact only when it
was signed by this person's own key or a trusted one (or when asked to allow unknown keys).
"""

from __future__ import annotations

import base64
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from museforge.errors import MuseforgeError
from museforge.files import read_at_most
from museforge.hashing import sha256_bytes

KEY_FILE = "signing-key.pem"
NAME_FILE = "key-name.txt"
TRUSTED = "trusted"
EXPORT_FORMAT = "museforge-public-key"
MAX_NAME = 80
MAX_KEY_FILE = 64 * 1024


def home() -> Path:
    return Path(os.environ.get("MUSEFORGE_HOME") or Path.home() / ".local" / "share" / "museforge")


def key_path() -> Path:
    return home() / KEY_FILE


def public_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def fingerprint(public_key: str) -> str:
    """A short, readable fingerprint of a base64 public key: ``SHA256:`` and 16 hex digits.

    >>> fingerprint(base64.b64encode(bytes(32)).decode())
    'SHA256:66687aad:f862bd77'
    """
    try:
        raw = base64.b64decode(public_key, validate=True)
    except ValueError:
        return "SHA256:invalid"
    digest = sha256_bytes(raw)[:16]
    return f"SHA256:{digest[:8]}:{digest[8:]}"


def _make_home() -> Path:
    """The home folder, made 0700 (whatever the umask) when it does not exist yet."""
    folder = home()
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        else:
            os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask; the folder is ours
    return folder


def _read_private(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()[: MAX_KEY_FILE + 1]
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, OSError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise MuseforgeError(f"the signing key {path} cannot be read ({reason}); move it away and a new "
                             "key is made on the next run (Works it signed then show as 'unknown key')") \
            from None
    if not isinstance(key, Ed25519PrivateKey):
        raise MuseforgeError(f"{path} holds a key of another kind, not Ed25519; museforge never overwrites "
                             "it: move it away, or set MUSEFORGE_HOME to another folder")
    return key


def own_key() -> Ed25519PrivateKey | None:
    """This person's key when one exists (never made here)."""
    path = key_path()
    return _read_private(path) if path.exists() else None


def load_signing_key() -> Ed25519PrivateKey:
    """This person's Ed25519 key, made on first use; a throwaway key when it cannot be stored."""
    path = key_path()
    if path.exists():
        return _read_private(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        _make_home()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:  # another process made it first: use that one
        return _read_private(path)
    except OSError as exc:
        warnings.warn(
            f"cannot store the signing key at {path} ({exc.strerror}); this Work is signed with a"
            " one-off key. Set MUSEFORGE_HOME to a writable folder to keep one key.",
            stacklevel=2,
        )
        return key
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise MuseforgeError(f"cannot write the signing key {path}: {exc.strerror or exc}") from None
    return key


def own_name() -> str:
    """The name this person gave their key, or ``""``."""
    path = home() / NAME_FILE
    try:
        return _clean_name(path.read_text(encoding="utf-8")[: MAX_NAME * 4]) if path.is_file() else ""
    except (OSError, UnicodeDecodeError, MuseforgeError):
        return ""


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise MuseforgeError("a key name cannot hold control characters")
    if len(name) > MAX_NAME:
        raise MuseforgeError(f"a key name has at most {MAX_NAME} characters, not {len(name)}")
    return name


def set_own_name(name: str) -> str:
    """Give this person's key a name (shown by ``verify`` beside its fingerprint)."""
    name = _clean_name(name)
    load_signing_key()
    (home() / NAME_FILE).write_text(name + "\n", encoding="utf-8")
    return name


@dataclass(frozen=True)
class PublicKey:
    """A public key as exported and trusted: base64 raw Ed25519 bytes and its owner's name."""

    public_key: str
    name: str = ""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def to_json(self) -> dict[str, Any]:
        return {"format": EXPORT_FORMAT, "algorithm": "ed25519", "public_key": self.public_key,
                "name": self.name, "fingerprint": self.fingerprint}


def export_own() -> PublicKey:
    """This person's public key and name, to give to others."""
    return PublicKey(public_b64(load_signing_key()), own_name())


def read_public(path: Path) -> PublicKey:
    """A public key file made by ``museforge keys export`` (or a PEM Ed25519 public key)."""
    if not path.is_file():
        raise MuseforgeError(f"{path}: no such file")
    try:
        data = read_at_most(path, MAX_KEY_FILE + 1)
    except OSError as err:
        raise MuseforgeError(f"{path}: cannot read it ({err.strerror or err})") from None
    if len(data) > MAX_KEY_FILE:
        raise MuseforgeError(f"{path} is too large to be a public key file")
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as err:
            raise MuseforgeError(f"{path}: not a readable PEM public key ({err})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise MuseforgeError(f"{path}: not an Ed25519 public key")
        return PublicKey(public_b64(key), "")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise MuseforgeError(f"{path}: not a key file made by 'museforge keys export'") from None
    if not (isinstance(doc, dict) and doc.get("format") == EXPORT_FORMAT and doc.get("algorithm") == "ed25519"
            and isinstance(doc.get("public_key"), str)):
        raise MuseforgeError(f"{path}: not a key file made by 'museforge keys export'")
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(doc["public_key"], validate=True))
    except ValueError:
        raise MuseforgeError(f"{path}: its public key is not a valid Ed25519 key") from None
    name = doc.get("name") if isinstance(doc.get("name"), str) else ""
    return PublicKey(doc["public_key"], _clean_name(name))


def _key_id(public_key: str) -> str:
    return sha256_bytes(base64.b64decode(public_key))[:16]


def trust(key: PublicKey, name: str | None = None) -> PublicKey:
    """Add a public key to the trusted ones (``name`` overrides the name it came with)."""
    chosen = PublicKey(key.public_key, _clean_name(name) if name is not None else key.name)
    folder = _make_home() / TRUSTED
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / f"{_key_id(chosen.public_key)}.json").write_text(json.dumps(chosen.to_json(), indent=2) + "\n")
    return chosen


def trusted_keys() -> dict[str, PublicKey]:
    """The trusted public keys by base64 key (unreadable files are skipped)."""
    folder = home() / TRUSTED
    found: dict[str, PublicKey] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                key = read_public(path)
            except MuseforgeError:
                continue
            found[key.public_key] = key
    return found


@dataclass(frozen=True)
class Signer:
    """Who signed, as far as this person can tell."""

    public_key: str
    claimed_name: str
    trust: str
    """``own`` (this person's key), ``trusted`` (added with ``keys trust``) or ``unknown``."""
    name: str = ""
    """The name this person knows the key by (their own name, or the name given when trusted)."""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    @property
    def known(self) -> bool:
        return self.trust in ("own", "trusted")

    def describe(self) -> str:
        """``Ada (SHA256:...), your own key`` or ``an unknown key SHA256:... calling itself "X"``."""
        if self.trust == "unknown":
            claim = f' calling itself "{self.claimed_name}"' if self.claimed_name else ""
            return f"an unknown key {self.fingerprint}{claim}"
        who = self.name or self.claimed_name
        whose = "your own key" if self.trust == "own" else "a key you trust"
        return f"{who + ' ' if who else ''}({self.fingerprint}), {whose}"


def identify(public_key: str, claimed_name: str = "") -> Signer:
    """Whether a public key is this person's, trusted, or unknown."""
    try:
        mine = own_key()
    except MuseforgeError:
        mine = None
    if mine is not None and public_b64(mine) == public_key:
        return Signer(public_key, claimed_name, "own", own_name())
    trusted = trusted_keys().get(public_key)
    if trusted is not None:
        return Signer(public_key, claimed_name, "trusted", trusted.name)
    return Signer(public_key, claimed_name, "unknown")
