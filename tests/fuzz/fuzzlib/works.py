"""Corpus category 7: tampered and forged Works."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .assets import Assets, _png_chunk, copy_asset, make, raw_midi, raw_png, steps
from .core import ANY, ERROR, OK, Case

# ---------------------------------------------------------------- 7. tampered and forged Works


def _flip(rel: str, where: str) -> Callable[[Path, Assets], None]:
    def setup(folder: Path, assets: Assets) -> None:
        path = folder / rel
        data = bytearray(path.read_bytes())
        at = {"start": 0, "middle": len(data) // 2, "end": len(data) - 1}[where]
        data[at] ^= 0x01
        path.write_bytes(bytes(data))

    return setup


def _edit_manifest(change: Callable[[dict], Any], sign: str = "") -> Callable[[Path, Assets], None]:
    """A setup: change w/work.json; ``sign`` = "own" re-signs it with this person's key, "new"
    with a key nobody trusts."""

    def setup(folder: Path, assets: Assets) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from museforge.keys import load_signing_key
        from museforge.provenance import sign_manifest

        path = folder / "w" / "work.json"
        data = json.loads(path.read_text())
        change(data)
        if sign:
            data.pop("signature", None)
            key = load_signing_key() if sign == "own" else Ed25519PrivateKey.generate()
            data["signature"] = sign_manifest(data, key)
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False))

    return setup


def _manifest_text(text: str | bytes) -> Callable[[Path, Assets], None]:
    def setup(folder: Path, assets: Assets) -> None:
        path = folder / "w" / "work.json"
        path.write_bytes(text.encode() if isinstance(text, str) else text)

    return setup


def _set(path: Sequence[Any], value: Any) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _sealed_png(
    record: Mapping[str, Any] | None = None,
    seal: Any = "sign",
    stamp: Mapping[str, Any] | None = None,
    raw_record: str | None = None,
    name: str = "lone.png",
) -> Callable[[Path, Assets], None]:
    """A setup: a PNG carrying a hostile record and seal; ``seal="sign"`` seals it with this
    person's key (over ``stamp`` when given, else the true one)."""

    def setup(folder: Path, assets: Assets) -> None:
        from museforge.keys import load_signing_key
        from museforge.provenance import PngContainer, file_stamp, make_seal

        payload = assets["photo.png"].read_bytes()
        rec = dict(record if record is not None else _lone_record())
        texts: dict[str, str] = {"museforge": raw_record if raw_record is not None else json.dumps(rec)}
        if seal == "sign":
            true = file_stamp("lone.png", "image/png", payload)
            texts["museforge-seal"] = json.dumps(
                make_seal(rec, {**true, **(stamp or {})}, load_signing_key())
            )
        elif seal is not None:
            texts["museforge-seal"] = seal if isinstance(seal, str) else json.dumps(seal)
        container = PngContainer()
        at = 8 + 8 + 13 + 4
        chunks = b"".join(
            _png_chunk(b"tEXt", k.encode() + b"\0" + v.encode("latin-1", "replace"))
            for k, v in texts.items()
            if k in container.KEYS
        )
        (folder / name).write_bytes(payload[:at] + chunks + payload[at:])

    return setup


def _lone_record(**changes: Any) -> dict[str, Any]:
    record = {
        "prompt": "a lake",
        "lang": "en",
        "emotion": None,
        "engine": "procedural-painting",
        "engine_version": "1",
        "model_sha256": None,
        "params": {"style": "auto", "size": 16, "density": 1.0, "texture": 1.0},
        "seed": 1,
        "libraries": {},
    }
    record.update(changes)
    return record


def _poem_with_sidecar(sidecar: Callable[[Path], None]) -> Callable[[Path, Assets], None]:
    def setup(folder: Path, assets: Assets) -> None:
        (folder / "poem.txt").write_text("a poem\n")
        sidecar(folder / "poem.txt.provenance.json")

    return setup


def work_cases(assets: Assets) -> list[Case]:
    base = assets["base-work"]
    files = sorted(p.name for p in base.iterdir())
    copy = copy_asset("base-work", "w")
    cases = []

    def add(
        name: str, setup: Callable, commands: Sequence[tuple[list[str], str]], timeout: float = 30.0
    ) -> None:
        for argv, expect in commands:
            shown = " ".join(argv[:1] + [a for a in argv[1:] if a.startswith("-") or "/" in a])
            cases.append(
                Case("works", f"{name}: {shown}", argv, expect, setup=steps(copy, setup), timeout=timeout)
            )

    verify, show, show_json = ["verify", "w"], ["show", "w"], ["show", "w", "--json"]
    for name in files:
        for where in ("start", "middle", "end"):
            commands = [(verify, ERROR), (["verify", "w", "--allow-unknown"], ERROR)]
            if where == "middle":
                commands.append((show, ANY))
                if name not in ("work.json", "report.html") and not name.endswith(".provenance.json"):
                    commands.append((["verify", f"w/{name}"], ERROR))
                elif name.endswith(".provenance.json"):
                    commands.append((["verify", f"w/{name.removesuffix('.provenance.json')}"], ERROR))
            add(f"flip {where} of {name}", _flip(f"w/{name}", where), commands)
    add(
        "reproduce after a flip in painting.png",
        _flip("w/painting.png", "middle"),
        [(["reproduce", "w", "-q"], ERROR)],
    )
    add(
        "reproduce after a flip in work.json",
        _flip("w/work.json", "middle"),
        [(["reproduce", "w", "-q"], ANY)],
    )
    structural = {
        "file added": make({"w/extra.txt": "x"}),
        "hidden file added": make({"w/.DS_Store": b"\0\0"}),
        "folder added": make({"w/sub": None}),
        "file removed": lambda f, a: (f / "w" / "music.wav").unlink(),
        "file renamed": lambda f, a: (f / "w" / "poem.txt").rename(f / "w" / "poem2.txt"),
        "report replaced": make({"w/report.html": "<p>another page</p>"}),
        "two files swapped": lambda f, a: [
            (f / "w" / "painting.png").rename(f / "w" / "tmp"),
            (f / "w" / "pianoroll.png").rename(f / "w" / "painting.png"),
            (f / "w" / "tmp").rename(f / "w" / "pianoroll.png"),
        ],
        "file replaced by a symlink to a copy": lambda f, a: [
            shutil.copy(f / "w" / "music.mid", f / "copy.mid"),
            (f / "w" / "music.mid").unlink(),
            os.symlink(f / "copy.mid", f / "w" / "music.mid"),
        ],
        "file replaced by a fifo": lambda f, a: [
            (f / "w" / "music.wav").unlink(),
            os.mkfifo(f / "w" / "music.wav"),
        ],
        "file replaced by a folder": lambda f, a: [
            (f / "w" / "music.wav").unlink(),
            (f / "w" / "music.wav").mkdir(),
        ],
        "work.json removed": lambda f, a: (f / "w" / "work.json").unlink(),
        "work.json replaced by a fifo": lambda f, a: [
            (f / "w" / "work.json").unlink(),
            os.mkfifo(f / "w" / "work.json"),
        ],
        "work.json a symlink loop": lambda f, a: [
            (f / "w" / "work.json").unlink(),
            os.symlink("work.json", f / "w" / "work.json"),
        ],
        "work.json a symlink to /proc/kmsg": lambda f, a: [
            (f / "w" / "work.json").unlink(),
            os.symlink("/proc/kmsg", f / "w" / "work.json"),
        ],
        "work.json emptied": make({"w/work.json": ""}),
        "sidecar removed": lambda f, a: (f / "w" / "poem.txt.provenance.json").unlink(),
        "all files but work.json removed": lambda f, a: [
            p.unlink() for p in (f / "w").iterdir() if p.name != "work.json"
        ],
    }
    for name, setup in structural.items():
        add(name, setup, [(verify, ERROR), (show, ANY)], timeout=15.0)
    add(
        "work.json replaced by a fifo, named",
        structural["work.json replaced by a fifo"],
        [
            (["verify", "w/work.json"], ERROR),
            (["show", "w/work.json"], ERROR),
            (["reproduce", "w/work.json"], ERROR),
        ],
        timeout=15.0,
    )
    add("work.json removed, reproduce", structural["work.json removed"], [(["reproduce", "w", "-q"], ANY)])
    edits = {
        "prompt changed": _set(["prompt"], "a forged prompt"),
        "seed changed": _set(["seed"], 8),
        "signer renamed": _set(["signer"], "Mallory"),
        "a file hash changed": lambda d: d["artifacts"][1]["files"][0].update(sha256="0" * 64),
        "a file entry removed": lambda d: d["artifacts"][2]["files"].pop(),
        "report entry removed": lambda d: d.pop("report"),
        "signature removed": lambda d: d.pop("signature"),
        "signature value garbage": lambda d: d["signature"].update(value="!!!"),
        "signature key garbage": lambda d: d["signature"].update(public_key="AAAA"),
        "signature key not base64": lambda d: d["signature"].update(public_key="@@@@"),
        "signature algorithm rsa": lambda d: d["signature"].update(algorithm="rsa"),
        "signature a list": _set(["signature"], []),
        "signature missing fields": _set(["signature"], {"algorithm": "ed25519"}),
        "extra field": _set(["evil"], {"x": 1}),
        "format 99": _set(["format"], 99),
    }
    for name, change in edits.items():
        add(f"work.json {name}", _edit_manifest(change), [(verify, ERROR), (show, ANY)])
    add(
        "re-signed with a new key",
        _edit_manifest(_set(["prompt"], "mine now"), "new"),
        [(verify, ERROR), (["verify", "w", "--allow-unknown"], OK), (show, ANY)],
    )
    add(
        "painting changed, its hash updated, re-signed with a new key",
        _forged_painting,
        [(verify, ERROR), (["verify", "w/painting.png"], ERROR)],
    )
    hostile = {
        "file named ..": lambda d: d["artifacts"][0]["files"][0].update(name=".."),
        "file named ../escape": lambda d: d["artifacts"][0]["files"][0].update(name="../escape.txt"),
        "file named /etc/passwd": lambda d: d["artifacts"][0]["files"][0].update(name="/etc/passwd"),
        "file named a/b": lambda d: d["artifacts"][0]["files"][0].update(name="sub/poem.txt"),
        "file named empty": lambda d: d["artifacts"][0]["files"][0].update(name=""),
        "file named with NUL": lambda d: d["artifacts"][0]["files"][0].update(name="poem\0.txt"),
        "file named with newline": lambda d: d["artifacts"][0]["files"][0].update(name="poem\n.txt"),
        "file named 300 characters": lambda d: d["artifacts"][0]["files"][0].update(name="p" * 300),
        "file listed twice": lambda d: d["artifacts"][0]["files"].append(dict(d["artifacts"][0]["files"][0])),
        "file named work.json": lambda d: d["artifacts"][0]["files"][0].update(name="work.json"),
        "seed a string": _set(["seed"], "7"),
        "seed negative": _set(["seed"], -1),
        "seed 2^60": _set(["seed"], 2**60),
        "seed 10^400": _set(["seed"], 10**400),
        "artifacts an object": _set(["artifacts"], {}),
        "artifacts of numbers": _set(["artifacts"], [1, 2]),
        "files a string": lambda d: d["artifacts"][0].update(files="x"),
        "file name a number": lambda d: d["artifacts"][0]["files"][0].update(name=5),
        "file bytes a string": lambda d: d["artifacts"][0]["files"][0].update(bytes="big"),
        "file bytes huge": lambda d: d["artifacts"][0]["files"][0].update(bytes=10**400),
        "sha256 a number": lambda d: d["artifacts"][0]["files"][0].update(sha256=5),
        "params a list": lambda d: d["artifacts"][0].update(params=[]),
        "params nested 500 deep": lambda d: d["artifacts"][0].update(params={"x": _nested(500)}),
        "emotion a string": _set(["emotion"], "sad"),
        "emotion valence a string": _set(["emotion"], {"label": "sad", "valence": "x", "arousal": 0}),
        "seconds NaN": _set(["seconds"], float("nan")),
        "seconds infinite": _set(["seconds"], float("inf")),
        "format a string": _set(["format"], "2"),
        "format 0": _set(["format"], 0),
        "prompt 1 MB with escapes": _set(["prompt"], "\x1b[2J\u202e" * 150_000),
        "engine unknown": lambda d: d["artifacts"][0].update(engine="nope"),
        "engine parameters out of range": lambda d: d["artifacts"][1]["params"].update(size=10**9),
        "input named /proc/kmsg": lambda d: d["artifacts"][1].update(
            engine="museforge-style-reinhard",
            inputs=[{"role": "content", "name": "/proc/kmsg", "sha256": "0" * 64, "bytes": 1}],
        ),
        "warnings of numbers": lambda d: d["artifacts"][0].update(warnings=[1, None]),
        "summary a list": lambda d: d["artifacts"][0].update(summary=[]),
    }
    for name, change in hostile.items():
        add(
            f"signed work.json {name}",
            _edit_manifest(change, "own"),
            [(verify, ANY), (show, ANY), (show_json, ANY), (["reproduce", "w", "-q"], ANY)],
            timeout=20.0,
        )
    raw = {
        "nested 100000 deep": "[" * 100_000 + "]" * 100_000,
        "an object nested 100000 deep": '{"a":' * 100_000 + "1" + "}" * 100_000,
        "a number of 5000 digits": '{"artifacts": [], "seed": ' + "9" * 5000 + "}",
        "a byte-order mark": "\ufeff{}",
        "UTF-16": "{}".encode("utf-16"),
        "not UTF-8": b'{"prompt": "\xff\xfe"}',
        "17 MB": b"{" + b" " * (17 << 20) + b"}",
        "a list": "[]",
        "null": "null",
        "duplicate keys": '{"seed": 7, "seed": 8, "artifacts": []}',
        "NaN literal": '{"seed": NaN, "artifacts": []}',
    }
    for name, text in raw.items():
        add(
            f"work.json {name}",
            _manifest_text(text),
            [(verify, ERROR), (show, ERROR), (["reproduce", "w"], ERROR)],
        )
    lone = {
        "sealed, parameters out of range": (_sealed_png(_lone_record(params={"size": 10**9})), ANY),
        "sealed, engine unknown": (_sealed_png(_lone_record(engine="nope")), ANY),
        "sealed, seed negative": (_sealed_png(_lone_record(seed=-1)), ANY),
        "sealed, prompt 100,000 characters": (_sealed_png(_lone_record(prompt="x" * 100_000)), ANY),
        "sealed, input named /proc/kmsg": (
            _sealed_png(
                _lone_record(
                    engine="museforge-style-reinhard",
                    params={"size": 16},
                    inputs={"content": ["0" * 64]},
                    input_names={"content": ["/proc/kmsg"]},
                    input_bytes={"content": [1]},
                )
            ),
            ANY,
        ),
        "sealed, input named ../../etc/passwd": (
            _sealed_png(
                _lone_record(
                    engine="museforge-style-reinhard",
                    params={"size": 16},
                    inputs={"content": ["0" * 64]},
                    input_names={"content": ["../../../../../etc/passwd"]},
                    input_bytes={"content": [1]},
                )
            ),
            ANY,
        ),
        "sealed, inputs malformed": (_sealed_png(_lone_record(inputs={"content": 5})), ANY),
        "stamp block 0": (_sealed_png(stamp={"block": 0}), ERROR),
        "stamp block a string": (_sealed_png(stamp={"block": "x"}), ERROR),
        "stamp block 2^40": (_sealed_png(stamp={"block": 2**40}), ERROR),
        "stamp blocks 100,000": (_sealed_png(stamp={"blocks": ["0" * 16] * 100_000}), ERROR),
        "stamp bytes negative": (_sealed_png(stamp={"bytes": -1}), ERROR),
        "stamp a list": (
            _sealed_png(
                stamp=None,
                seal={"algorithm": "ed25519", "file": [], "public_key": "AAAA", "signature": "AAAA"},
            ),
            ERROR,
        ),
        "seal a list": (_sealed_png(seal="[]"), ERROR),
        "seal not JSON": (_sealed_png(seal="{"), ERROR),
        "seal key garbage": (
            _sealed_png(seal={"algorithm": "ed25519", "file": {}, "public_key": "@@", "signature": "@@"}),
            ERROR,
        ),
        "no seal": (_sealed_png(seal=None), ERROR),
        "record not JSON": (_sealed_png(raw_record="{not json"), ERROR),
        "record nested 100000 deep": (
            _sealed_png(raw_record="[" * 100_000 + "]" * 100_000, seal=None),
            ERROR,
        ),
        "record a list": (_sealed_png(raw_record="[]", seal=None), ERROR),
        "chunk length lies": (
            make(
                {
                    "lone.png": raw_png(24, 24)[:33]
                    + struct.pack(">I", 0x7FFFFFFF)
                    + b"tEXt"
                    + b"museforge\0{}"
                    + raw_png(24, 24)[33:]
                }
            ),
            ERROR,
        ),
        "midi meta length lies": (
            make({"lone.mid": raw_midi(b"\x00\xff\x01\x8f\xff\xff\xff\x7fmuseforge:{}")}),
            ERROR,
        ),
        "wav list size lies": (
            make(
                {
                    "lone.wav": b"RIFF"
                    + struct.pack("<I", 36)
                    + b"WAVEfmt "
                    + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
                    + b"LIST"
                    + struct.pack("<I", 0xFFFFFFF0)
                    + b"INFOICMT"
                }
            ),
            ERROR,
        ),
        "svg nested metadata": (
            make(
                {
                    "lone.svg": '<svg><metadata id="museforge"><metadata id="museforge">{}'
                    "</metadata></metadata></svg>"
                }
            ),
            ERROR,
        ),
        "sidecar a list": (_poem_with_sidecar(lambda p: p.write_text("[]")), ERROR),
        "sidecar nested 100000 deep": (_poem_with_sidecar(lambda p: p.write_text("[" * 100_000)), ERROR),
        "sidecar not UTF-8": (_poem_with_sidecar(lambda p: p.write_bytes(b'{"prompt": "\xff"}')), ERROR),
        "sidecar 17 MB": (
            _poem_with_sidecar(lambda p: p.write_bytes(b"{" + b" " * (17 << 20) + b"}")),
            ERROR,
        ),
        "sidecar a fifo": (_poem_with_sidecar(lambda p: os.mkfifo(p)), ERROR),
        "sidecar a symlink to /etc/passwd": (
            _poem_with_sidecar(lambda p: os.symlink("/etc/passwd", p)),
            ERROR,
        ),
        "sidecar a symlink to /proc/kmsg": (_poem_with_sidecar(lambda p: os.symlink("/proc/kmsg", p)), ERROR),
        "sidecar a folder": (_poem_with_sidecar(lambda p: p.mkdir()), ERROR),
    }
    for name, (setup, expect) in lone.items():
        target = (
            "poem.txt"
            if "sidecar" in name
            else "lone.mid"
            if "midi" in name
            else "lone.wav"
            if "wav" in name
            else "lone.svg"
            if "svg" in name
            else "lone.png"
        )
        for argv, want in (
            (["verify", target], expect),
            (["show", target], ANY),
            (["show", target, "--json"], ANY),
            (["reproduce", target, "-q"], ANY),
            (["verify", "."], expect),
        ):
            cases.append(
                Case("works", f"lone file {name}: {' '.join(argv)}", argv, want, setup=setup, timeout=20.0)
            )
    keyfiles = {
        "not JSON": b"hello",
        "a list": b"[]",
        "wrong format": b'{"format": "x"}',
        "key too short": b'{"format": "museforge-public-key", "algorithm": "ed25519", "public_key": "AAAA"}',
        "key not base64": b'{"format": "museforge-public-key", "algorithm": "ed25519", "public_key": "@@@"}',
        "name with escapes": json.dumps(
            {
                "format": "museforge-public-key",
                "algorithm": "ed25519",
                "public_key": "A" * 43 + "=",
                "name": "\x1b[31mMallory",
            }
        ).encode(),
        "name of 10,000 characters": json.dumps(
            {
                "format": "museforge-public-key",
                "algorithm": "ed25519",
                "public_key": "A" * 43 + "=",
                "name": "n" * 10_000,
            }
        ).encode(),
        "an EC public key": None,
        "PEM garbage": b"-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n",
        "100 KB": b" " * 100_000,
        "nested deep": b"[" * 100_000,
    }
    for name, data in keyfiles.items():
        setup = copy_asset("rsa.pem", "key.txt") if data is None else make({"key.txt": data})
        cases.append(
            Case(
                "works",
                f"keys trust {name}",
                ["keys", "trust", "key.txt"],
                ERROR,
                setup=setup,
                env={"MUSEFORGE_HOME": "{C}/home"},
                allow=("home",),
            )
        )
    return cases


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _forged_painting(folder: Path, assets: Assets) -> None:
    """Change painting.png, write its new hash into work.json and sign that with a new key."""
    _flip("w/painting.png", "middle")(folder, assets)
    digest = hashlib.sha256((folder / "w" / "painting.png").read_bytes()).hexdigest()

    def change(data: dict) -> None:
        for artifact in data["artifacts"]:
            for entry in artifact["files"]:
                if entry["name"] == "painting.png":
                    entry["sha256"] = digest

    _edit_manifest(change, "new")(folder, assets)
